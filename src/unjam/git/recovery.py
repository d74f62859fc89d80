"""A landing that a kill cut short is put back by the next unjam command.

``apply`` lands its commits in one short step (branches made, files written, the index
and HEAD moved; tens of milliseconds) and undoes it on any failure, Ctrl-C or SIGTERM.
SIGKILL (the OOM killer, ``kill -9``, a CI runner's timeout) cannot be caught: the step
would stay half done, with a new branch, rewritten files on the old one and stray
temporary files. So before the first change the landing writes down, on disk, what it
is about to do and what was there before (``Journal.begin``), and deletes the record
once it has finished or undone everything. A record found later means a landing was
cut short: ``recover`` restores what was there before, step by step, each step safe to
repeat (a kill during recovery is recovered by the next run), and says what it did.

The record lives in the repository's git folder (``unjam-landing/``), or, for
``--no-commit`` outside git, in ``.unjam-landing/`` of the folder the files share.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from unjam.git.atomic import temporaries_of, write_atomically

RECORD = "landing.json"
VERSION = 1


@dataclass(frozen=True)
class PlannedFile:
    path: Path
    relative: str
    before: bytes
    after: bytes


@dataclass
class Journal:
    """What one landing is about to do, kept on disk until it is done or undone."""

    folder: Path
    repository: Path | None = None  # the work tree's root, when the landing uses git
    record: dict[str, object] = field(default_factory=dict)

    def begin(
        self,
        files: Sequence[PlannedFile],
        branches: dict[str, str] | None = None,
        head_branch: str | None = None,
        head_commit: str | None = None,
        index: str = "",
        checkout: str | None = None,
    ) -> None:
        """Write the record (the files' old contents first, the record last and
        atomically: a record, once there, is whole)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        (self.folder / "before").mkdir(parents=True)
        entries = []
        for number, planned in enumerate(files):
            saved = self.folder / "before" / str(number)
            saved.write_bytes(planned.before)
            entries.append(
                {
                    "path": str(planned.path),
                    "saved": saved.name,
                    "after": hashlib.sha256(planned.after).hexdigest(),
                }
            )
        self.record = {
            "version": VERSION,
            "pid": os.getpid(),
            "started": time.time(),
            "repository": str(self.repository) if self.repository else None,
            "files": entries,
            "branches": branches or {},
            "head_branch": head_branch,
            "head_commit": head_commit,
            "index": index,
            "checkout": checkout,
        }
        data = json.dumps(self.record, indent=1).encode()
        _fsync_folder(self.folder / "before")
        write_atomically(self.folder / RECORD, data)

    def end(self) -> None:
        """The landing finished or was undone: nothing to recover."""
        with suppress(FileNotFoundError):
            (self.folder / RECORD).unlink()
        shutil.rmtree(self.folder, ignore_errors=True)


def _fsync_folder(folder: Path) -> None:
    for item in folder.iterdir():
        with open(item, "rb") as handle:
            os.fsync(handle.fileno())


def journal_folder(git_dir: Path | None, files: Sequence[Path]) -> Path:
    """Where a landing's record goes: the git folder of the repository (the one given,
    else the one holding the files), else the folder unjam runs in: places the next
    command looks at (see ``records_near``)."""
    if git_dir is None and files:
        common = Path(os.path.commonpath([os.path.abspath(path.parent) for path in files]))
        for folder in (common, *common.parents):
            if _git_dir(folder).is_dir():
                git_dir = _git_dir(folder)
                break
    if git_dir is not None:
        return git_dir / "unjam-landing"
    return Path.cwd() / ".unjam-landing"


def records_near(paths: Sequence[Path]) -> Iterator[Path]:
    """Landing records that concern ``paths``: in the git folder of each path's
    repository, or a ``.unjam-landing`` folder at or above it."""
    seen: set[Path] = set()
    for given in paths:
        start = Path(os.path.abspath(given))
        for folder in (start, *start.parents):
            for candidate in (folder / ".unjam-landing", _git_dir(folder) / "unjam-landing"):
                if candidate not in seen and (candidate / RECORD).is_file():
                    seen.add(candidate)
                    yield candidate


def _git_dir(folder: Path) -> Path:
    """``folder/.git`` (a worktree's or submodule's ``.git`` file names its real one)."""
    dot_git = folder / ".git"
    if dot_git.is_file():
        with suppress(OSError, ValueError):
            text = dot_git.read_text().strip()
            if text.startswith("gitdir:"):
                return (folder / text.split(":", 1)[1].strip()).resolve()
    return dot_git


def alive(pid: int) -> bool:
    """Whether the landing's own process still runs (then it is not cut short)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():  # a reused pid runs something else
        with suppress(OSError):
            return b"unjam" in cmdline.read_bytes()
    return True


def recover(folder: Path) -> str | None:
    """Put back what a landing cut short changed; the line that says what was done,
    or None when the record belongs to a landing still running."""
    try:
        record = json.loads((folder / RECORD).read_text())
    except (OSError, ValueError):
        shutil.rmtree(folder, ignore_errors=True)  # a record is written last: none yet
        return None
    pid = int(record.get("pid", 0))
    if alive(pid):
        return None
    restored, kept = _restore_files(folder, record)
    undone: list[str] = []
    repository = record.get("repository")
    if repository:
        undone = _restore_git(Path(repository), record)
    shutil.rmtree(folder, ignore_errors=True)
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(record.get("started", 0))))
    parts = [f"{restored} file(s) restored", *undone]
    if kept:
        parts.append(f"left as they are now (changed since): {', '.join(kept)}")
    return (
        f"an `unjam apply` (pid {pid}, {when}) was killed while landing its changes; "
        f"put back what it had changed: {'; '.join(parts)}"
    )


def _restore_files(folder: Path, record: dict[str, object]) -> tuple[int, list[str]]:
    restored = 0
    kept: list[str] = []
    for entry in record.get("files", []):  # type: ignore[attr-defined]
        path = Path(entry["path"])
        before = (folder / "before" / entry["saved"]).read_bytes()
        for stray in temporaries_of(path):
            with suppress(OSError):
                stray.unlink()
        try:
            now = path.read_bytes()
        except FileNotFoundError:
            now = None
        if now == before:
            continue
        if now is not None and hashlib.sha256(now).hexdigest() == entry["after"]:
            write_atomically(path, before)
            restored += 1
        else:
            kept.append(str(path))
    return restored, kept


def index_info(ls_tree: str) -> bytes:
    """``git update-index -z --index-info`` input from ``git ls-tree -z`` output
    (``mode type sha\\tpath`` entries)."""
    lines = []
    for entry in ls_tree.split("\0"):
        if entry:
            meta, _, path = entry.partition("\t")
            mode, _, sha = meta.split()
            lines.append(f"{mode} {sha}\t{path}\0")
    return "".join(lines).encode()


def _git(root: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", "-C", str(root), *args], input=stdin, capture_output=True, check=False
    )


def _restore_git(root: Path, record: dict[str, object]) -> list[str]:
    """HEAD back where it was, the index entries of the written files back, the new
    branches deleted (each only if it still points where the landing made it)."""
    done: list[str] = []
    branches: dict[str, str] = record.get("branches") or {}  # type: ignore[assignment]
    head = _git(root, "symbolic-ref", "-q", "HEAD").stdout.decode().strip()
    on_new = head.removeprefix("refs/heads/") in branches
    original = record.get("head_branch")
    if on_new and record.get("checkout") == "checkout":
        _git(root, "checkout", "--quiet", str(original or record.get("head_commit")))
        done.append("checked out where it was")
    elif on_new:
        if original:
            _git(root, "symbolic-ref", "-m", "unjam: recover", "HEAD", f"refs/heads/{original}")
        else:
            _git(
                root,
                "update-ref",
                "--no-deref",
                "-m",
                "unjam: recover",
                "HEAD",
                str(record.get("head_commit")),
            )
        done.append(f"HEAD back on {original or record.get('head_commit')}")
    index = str(record.get("index") or "")
    if index and record.get("checkout") == "in_place":
        _git(root, "update-index", "-z", "--index-info", stdin=index_info(index))
    removed = [
        name
        for name, sha in branches.items()
        if _git(root, "update-ref", "-d", f"refs/heads/{name}", sha).returncode == 0
    ]
    if removed:
        done.append(f"branch(es) removed: {', '.join(sorted(removed))}")
    return done
