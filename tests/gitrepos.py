"""Real temporary git repositories for the apply tests, and a snapshot of everything a
user could lose, to prove that a refused or interrupted run changed nothing."""

from __future__ import annotations

import hashlib
import os
import textwrap
from dataclasses import dataclass
from pathlib import Path

import git
import pytest
from typer.testing import CliRunner

from unjam.cli import app

#: A route that never awaits and sleeps (demote-sync) and one that awaits and sleeps
#: (offload-blocking): two codemods, so two commits by default.
SERVICE = """\
import asyncio
import time

from fastapi import FastAPI

app = FastAPI()


@app.get("/report")
async def report():
    time.sleep(0.1)
    return {"ok": True}


@app.get("/mixed")
async def mixed():
    await asyncio.sleep(0)
    time.sleep(0.1)
    return {"ok": True}
"""

#: Needs only offload-blocking: a second file for "between two writes".
WORKER = """\
import asyncio
import time

from fastapi import APIRouter

router = APIRouter()


@router.get("/tick")
async def tick():
    await asyncio.sleep(0)
    time.sleep(0.1)
    return {"ok": True}
"""

CLEAN = """\
from fastapi import APIRouter

router = APIRouter()


@router.get("/health")
async def health():
    return {"ok": True}
"""


def make_repo(root: Path, files: dict[str, str], branch: str = "main") -> git.Repo:
    """A repository with ``files`` committed on ``branch``; identity set locally so the
    tests never depend on the machine's git configuration."""
    repo = git.Repo.init(root, initial_branch=branch)
    with repo.config_writer() as config:
        config.set_value("user", "name", "Test User")
        config.set_value("user", "email", "test@example.invalid")
        config.set_value("commit", "gpgsign", "false")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    repo.git.add("--all")
    repo.git.commit("-q", "-m", "initial")
    return repo


@dataclass(frozen=True)
class Snapshot:
    head: str
    refs: str
    status: str
    index: str
    files: dict[str, tuple[str, int]]  # path -> (sha256, mode)


def snapshot(repo: git.Repo) -> Snapshot:
    root = Path(repo.working_tree_dir or ".")
    files: dict[str, tuple[str, int]] = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in names:
            path = Path(folder) / name
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            files[path.relative_to(root).as_posix()] = (digest, path.stat().st_mode)
    return Snapshot(
        head=(root / ".git" / "HEAD").read_text(),
        refs=repo.git.for_each_ref(),
        status=repo.git.status("--porcelain=v1", "--untracked-files=all", "--ignored"),
        index=repo.git.ls_files("-s"),
        files=files,
    )


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


def unjam(root: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Outcome:
    """Run the CLI in ``root`` (paths in output are shown relative to the cwd)."""
    monkeypatch.chdir(root)
    jobs = [] if args[0] == "merge-reports" else ["--jobs", "1"]
    result = CliRunner().invoke(app, [*args, *jobs])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Outcome(result.exit_code, result.stdout, result.stderr)


def files_at(repo: git.Repo, ref: str) -> set[str]:
    return set(repo.git.ls_tree("-r", "--name-only", ref).splitlines())
