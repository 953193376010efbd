"""The ``auralab`` entry point: every command is listed, and one command loads only itself."""

import subprocess
import sys

from auralab.cli import COMMANDS, build_parser, main


def test_every_command_is_in_the_full_parser():
    help_text = build_parser().format_help()
    for name in COMMANDS:
        assert name in help_text


def test_a_command_imports_only_its_own_module():
    code = (
        "import sys; from auralab.cli import main\n"
        "try: main(['vad', '--help'])\n"
        "except SystemExit: pass\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('auralab.'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = out.stdout.split()
    assert "auralab.enhance.vad" in loaded
    assert not any(m.startswith(("auralab.eq", "auralab.classify", "auralab.demo")) for m in loaded)


def test_user_errors_exit_2_with_one_line(capsys, tmp_path):
    assert main(["vad", str(tmp_path / "missing.wav")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.wav" in err[0]
