"""The tutorials in docs/ run as written: every command, in order, as a real subprocess.

Convention of the tutorials (docs/*.md):

- Commands live in ```console blocks only. A line starting with ``$ `` is one command; a
  trailing `` \\`` continues it on the next line. Every other line of the block is output
  shown to the reader (excerpts may use ``...``) and is not checked.
- A command starts with ``auralab`` and uses no shell syntax (no pipes, redirects, ``&&``,
  variables or globs): it is split with ``shlex`` and run with this Python's auralab.
- Paths are relative to the repository root, where the reader runs them; the shared data is
  ``../shared/data``.
- Every ``runs/...`` path the tutorial names in inline code (outside code blocks) is a file
  (or, ending in ``/``, a folder) its commands produce; it must exist after they ran.

Each tutorial runs in a fresh folder laid out like a clone: ``recipes``, ``src`` and ``docs``
link to the repository's, and ``../shared/data`` links to the shared data when it exists. A
tutorial that reads the shared data (in a command or in a recipe it uses) skips without it,
or fails when ``AURALAB_REQUIRE_SHARED=1``, as ``tests/conftest.py`` does. Commands run with
one CPU thread (``OMP_NUM_THREADS=1``): the whole file takes about a minute and a half on
one core.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, shared_data

DOCS = REPO / "docs"
TUTORIALS = ["enhance.md", "classify.md", "eq.md"]  # in docs/; each runs on its own
LINKED = ["recipes", "src", "docs"]  # what a clone has that the commands read
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```\s*$", re.S | re.M)
SHELL_SYNTAX = re.compile(r"[|&;<>`*?$]")
SHARED_PATH = re.compile(r"\.\./shared/data/([^\s\"']+)")


def fences(text: str) -> list[tuple[str, str]]:
    """(info string, body) of every fenced code block."""
    return [(m.group(1).strip(), m.group(2)) for m in FENCE.finditer(text)]


def block_commands(body: str) -> list[str]:
    """The commands of one console block, continuation lines joined."""
    commands, pending = [], None
    for line in body.splitlines():
        if pending is not None:
            pending += " " + line.strip()
        elif line.startswith("$ "):
            pending = line[2:].strip()
        else:
            continue
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
        else:
            commands.append(pending)
            pending = None
    assert pending is None, f"command continued past the end of its block: {pending}"
    return commands


def commands_of(name: str) -> list[str]:
    text = (DOCS / name).read_text()
    return [c for info, body in fences(text) if info == "console" for c in block_commands(body)]


def produced_paths(name: str) -> list[str]:
    """``runs/...`` paths named in inline code outside the code blocks."""
    prose = FENCE.sub("", (DOCS / name).read_text())
    return sorted(set(re.findall(r"`(runs/[^`\s<>{}*]+)`", prose)))


def shared_parts(commands: list[str]) -> list[tuple[str, ...]]:
    """Shared-data paths the commands read, directly or through their recipes."""
    texts = list(commands)
    for command in commands:
        recipes = [REPO / a for a in shlex.split(command) if a.startswith("recipes/")]
        while recipes:
            recipe = recipes.pop()
            lines = recipe.read_text().splitlines()
            texts.append("\n".join(ln for ln in lines if not ln.lstrip().startswith("#")))
            base = re.search(r'^extends\s*=\s*"([^"]+)"', texts[-1], re.M)
            if base:
                recipes.append(recipe.parent / base.group(1))
    found = {p.rstrip(".,;:)") for t in texts for p in SHARED_PATH.findall(t)}
    return sorted(Path(p).parts for p in found)


def clone_like(tmp_path: Path) -> Path:
    """A working folder where the tutorials' relative paths resolve as in a clone."""
    cwd = tmp_path / "auralab"
    cwd.mkdir()
    for name in LINKED:
        (cwd / name).symlink_to(REPO / name, target_is_directory=True)
    root = Path(os.environ.get("AURALAB_SHARED_DATA", REPO.parent / "shared" / "data"))
    if root.exists():
        (tmp_path / "shared").mkdir()
        (tmp_path / "shared" / "data").symlink_to(root.resolve(), target_is_directory=True)
    return cwd


def run_command(command: str, cwd: Path) -> None:
    argv = shlex.split(command)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "auralab.cli", *argv[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = (done.stdout + done.stderr)[-3000:]
    assert done.returncode == 0, f"`{command}` exited {done.returncode}:\n{out}"


@pytest.mark.parametrize("name", TUTORIALS)
def test_tutorial_runs_as_written(name, tmp_path):
    commands = commands_of(name)
    for parts in shared_parts(commands):
        shared_data(*parts)  # skips (or fails in CI) when the tutorial's data is missing
    cwd = clone_like(tmp_path)
    for command in commands:
        run_command(command, cwd)
    missing = [p for p in produced_paths(name) if not (cwd / p).exists()]
    assert not missing, f"{name} says these are written, but they are not: {missing}"
    not_dirs = [p for p in produced_paths(name) if p.endswith("/") and not (cwd / p).is_dir()]
    assert not not_dirs, f"{name}: not folders: {not_dirs}"


def test_every_console_block_is_run():
    """No command in docs/ escapes the test above: every block is a console block of a
    tutorial that runs, and every command in it is one the runner can run."""
    docs = sorted(DOCS.rglob("*.md"))
    with_commands = set()
    for path in docs:
        text = path.read_text()
        blocks = fences(text)
        opened = len(re.findall(r"^\s*(```|~~~)", text, re.M))
        assert opened == 2 * len(blocks), f"{path}: a fence the runner cannot parse"
        for info, body in blocks:
            shell_like = info in {"bash", "sh", "shell", "zsh", "console", "shell-session"}
            has_prompt = any(line.startswith("$ ") for line in body.splitlines())
            assert info == "console" or not (shell_like or has_prompt), (
                f"{path}: commands belong in ```console blocks with `$ ` lines ({info!r} block)"
            )
            if info == "console":
                assert block_commands(body), f"{path}: a console block without a `$ ` command"
                with_commands.add(path.relative_to(DOCS).as_posix())
        for command in (c for i, b in blocks if i == "console" for c in block_commands(b)):
            argv = shlex.split(command)
            assert argv[0] == "auralab", f"{path}: not an auralab command: {command}"
            assert not SHELL_SYNTAX.search(command), f"{path}: shell syntax in: {command}"
    assert with_commands == set(TUTORIALS), "docs with commands and TUTORIALS differ"
    for name in TUTORIALS:
        assert produced_paths(name), f"{name} names no file it produces"


def test_docs_index_links_every_tutorial():
    index = (DOCS / "README.md").read_text()
    for name in [*TUTORIALS, "models/"]:
        assert f"]({name})" in index, f"docs/README.md does not link {name}"
    assert "docs/README.md" in (REPO / "README.md").read_text()
