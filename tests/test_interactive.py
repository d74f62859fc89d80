"""``unjam apply --interactive`` through a pseudo-terminal, as a person uses it: each
change shown with its reason, answered ``y``/``n``/``a``/``q``; the branch holds what
was accepted and the skipped changes are listed."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.gitrepos import SERVICE, WORKER, make_repo

FILES = {"app/service.py": SERVICE, "app/worker.py": WORKER}
PROMPT = b"Apply this change"


def _in_terminal(
    command: list[str], cwd: Path, columns: int = 120, answers: Sequence[str] = ()
) -> tuple[int, str]:
    """Run ``command`` in a pseudo-terminal ``columns`` wide, giving ``answers`` to its
    questions in turn; its exit code and what it showed."""
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": str(columns), "NO_COLOR": "1"}
    process = subprocess.Popen(
        command, cwd=cwd, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True
    )
    os.close(slave)
    seen = b""
    asked = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the other end closed: the process is done
                break
            if not chunk:
                break
            seen += chunk
            if seen.count(PROMPT) > asked and asked < len(answers):
                os.write(master, (answers[asked] + "\n").encode())
                asked += 1
        elif process.poll() is not None:
            break
    process.wait(timeout=30)
    os.close(master)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode(errors="replace"))  # styles
    return process.returncode, text.replace("\r\n", "\n")


def _apply_answering(root: Path, answers: list[str], *options: str) -> tuple[int, str]:
    command = [sys.executable, "-m", "unjam", "apply", "--interactive", ".", "--jobs", "1"]
    return _in_terminal([*command, *options], root, answers=answers)


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals")
def test_skipped_changes_stay_out_of_the_branch(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, FILES)
    code, said = _apply_answering(tmp_path, ["n", "y", "y"], "--branch", "b")
    assert code == 0, said
    assert said.count("Apply this change") == 3
    # the first change asked about (demote-sync of report) was skipped
    assert "skipped: app/service.py:" in said and "demote-sync" in said.split("skipped:")[1]
    service = repo.git.show("b:app/service.py")
    assert "async def report():" in service  # not demoted
    assert "    await asyncio.sleep(0.1)\n    return" in service  # mixed: offloaded
    assert "    await asyncio.sleep(0.1)\n" in repo.git.show("b:app/worker.py") + "\n"


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals")
def test_q_skips_the_rest_and_a_takes_the_rest(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "q", FILES)
    code, said = _apply_answering(tmp_path / "q", ["y", "q"], "--branch", "b")
    assert code == 0, said
    assert said.count("Apply this change") == 2
    assert "def report():" in repo.git.show("b:app/service.py")
    assert "time.sleep(0.1)" in repo.git.show("b:app/worker.py")  # skipped by q
    repo = make_repo(tmp_path / "a", FILES)
    code, said = _apply_answering(tmp_path / "a", ["a"], "--branch", "b")
    assert code == 0, said
    assert said.count("Apply this change") == 1
    assert "time.sleep" not in repo.git.show("b:app/worker.py")


def test_interactive_needs_a_terminal(tmp_path: Path) -> None:
    make_repo(tmp_path, FILES)
    ran = subprocess.run(
        [sys.executable, "-m", "unjam", "apply", "-i", ".", "--yes"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert ran.returncode == 2 and "--interactive needs a terminal" in ran.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals")
@pytest.mark.parametrize("columns", [80, 120])
def test_the_routes_table_fits_the_terminal(columns: int) -> None:
    """On a terminal the table is as wide as ``COLUMNS`` says, never wider."""
    from tests.helpers import FIXTURES

    command = [sys.executable, "-m", "unjam", "routes", str(FIXTURES / "apps" / "demo")]
    _, text = _in_terminal([*command, "--jobs", "1"], FIXTURES, columns=columns)
    lines = text.splitlines()
    assert any("read_item" in line for line in lines), text
    assert max(len(line) for line in lines) <= columns
