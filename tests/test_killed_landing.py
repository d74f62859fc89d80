"""``unjam apply`` killed with SIGKILL while it lands (branches made, files written,
index and HEAD moved) leaves a record; the next unjam command, whatever it is, puts
the repository back as it was and says so. Each kill point runs apply in a process of
its own that kills itself right after (or, for a file, right before renaming it into
place) the k-th step."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.gitrepos import SERVICE, WORKER, make_repo, snapshot

FILES = {"app/service.py": SERVICE, "app/worker.py": WORKER}

_KILL_AT_STEP = """
import os, signal, sys
from unjam.git import atomic
from unjam.git import gitflow

target = int(sys.argv[1])
count = [0]


def step():
    count[0] += 1
    if count[0] == target:
        os.kill(os.getpid(), signal.SIGKILL)


def after(real):
    def wrapped(*args, **kwargs):
        result = real(*args, **kwargs)
        step()
        return result
    return wrapped


real_replace = os.replace


def replace(source, destination):
    if str(source).endswith(".unjam-tmp") and "unjam-landing" not in str(destination):
        step()  # the temporary file is written; the rename has not happened
    return real_replace(source, destination)


atomic.os.replace = replace
gitflow.write_atomically = after(gitflow.write_atomically)
for name in ("_create_branch", "_set_index", "_switch_in_place", "_checkout"):
    setattr(gitflow.Landing, name, after(getattr(gitflow.Landing, name)))
gitflow.Journal.end = (lambda real: lambda self: (step(), real(self))[1])(gitflow.Journal.end)
from unjam.entry import main

sys.argv = ["unjam", "apply", ".", "--yes", "--jobs", "1", *sys.argv[2:]]
main()
"""


def _kill_at(root: Path, target: int, *options: str) -> int:
    script = root.parent / "kill_at_step.py"
    script.write_text(_KILL_AT_STEP)
    ran = subprocess.run(
        [sys.executable, str(script), str(target), *options],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return ran.returncode


@pytest.mark.parametrize(
    "options", [("--branch", "b"), ("--no-commit",)], ids=["commit", "no-commit"]
)
def test_the_next_command_puts_back_a_landing_killed_at_any_step(
    tmp_path: Path, options: tuple[str, ...]
) -> None:
    killed = 0
    for target in range(1, 30):
        root = tmp_path / str(target) / "repo"
        root.mkdir(parents=True)
        repo = make_repo(root, FILES)
        before = snapshot(repo)
        code = _kill_at(root, target, *options)
        if code != -9:  # fewer steps than that: the landing finished
            assert code == 0
            break
        killed += 1
        after_kill = snapshot(repo)
        checked = subprocess.run(
            [sys.executable, "-m", "unjam", "check", ".", "--jobs", "1"],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        if after_kill != before:
            assert "was killed while landing its changes; put back" in checked.stderr
        assert snapshot(repo) == before, (target, checked.stderr)
        assert not list(root.rglob("*.unjam-tmp"))
        assert not (root / ".git" / "unjam-landing").exists()
        assert not list(root.rglob(".unjam-landing"))
    assert killed >= 4  # a test that killed nothing proved nothing


def test_apply_abort_says_when_there_is_nothing_to_put_back(tmp_path: Path) -> None:
    make_repo(tmp_path, FILES)
    ran = subprocess.run(
        [sys.executable, "-m", "unjam", "apply", "--abort", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0
    assert "nothing to put back" in ran.stderr
