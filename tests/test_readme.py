"""The README's set-up commands are exactly what CI runs, so a newcomer's first minutes work."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block, "README must open with a ```bash block holding the two set-up commands"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_exactly_two_commands():
    commands = readme_commands()
    assert len(commands) == 2
    assert "pip install" in commands[0] and "auralab " in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_commands_verbatim():
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    for command in readme_commands():
        assert command in ci, f".ci/run does not run the README command: {command}"
    assert any("AURALAB_REQUIRE_SHARED=1" in line for line in ci)


def test_ci_installs_the_system_packages_the_readme_names():
    text = (REPO / "README.md").read_text()
    found = re.search(r"System package[^`]*`([^`]+)`", text)
    assert found, "README must name the system package command for the browser test"
    ci = (REPO / ".ci" / "run").read_text()
    assert found.group(1) in ci, f".ci/run does not run: {found.group(1)}"
    assert "AURALAB_REQUIRE_BROWSER=1" in ci
