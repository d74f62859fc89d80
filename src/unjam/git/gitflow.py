"""``unjam apply``'s git side: refuse what is unsafe, make the commits, land them, and
undo everything if the run is interrupted.

Commits are built with git's plumbing against a private index (``read-tree``,
``hash-object``, ``update-index``, ``write-tree``, ``commit-tree``), so until the last
step nothing the user can see has changed: no branch, no file, no index entry. Landing
is a short journaled step (create the branch ref, write the files atomically, update
their index entries, point HEAD at the branch) run with Ctrl-C deferred; if it fails or
an interrupt arrives, the journal is undone in reverse and the repository is as it was.
Blobs are hashed with ``--path`` so the repository's own clean filters (``core.autocrlf``,
``.gitattributes`` ``eol``) apply exactly as ``git add`` would apply them.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import IO, TYPE_CHECKING

from unjam.git.atomic import interrupts_deferred, write_atomically
from unjam.git.commits import PlannedCommit
from unjam.git.recovery import Journal, PlannedFile, index_info, journal_folder
from unjam.report.batch import Commit

if TYPE_CHECKING:
    import git

ZERO = "0" * 40
#: Files in the git directory that mean an operation is half done.
IN_PROGRESS = (
    ("MERGE_HEAD", "a merge", "git merge --continue / --abort"),
    ("rebase-merge", "a rebase", "git rebase --continue / --abort"),
    ("rebase-apply", "a rebase or git am", "git rebase --continue / --abort (or git am)"),
    ("CHERRY_PICK_HEAD", "a cherry-pick", "git cherry-pick --continue / --abort"),
    ("REVERT_HEAD", "a revert", "git revert --continue / --abort"),
    ("BISECT_LOG", "a bisect", "git bisect reset"),
)


def _gitpython() -> ModuleType:
    """GitPython, imported on first use: ``check`` and ``diff`` never need it, and it
    costs a tenth of a second to import."""
    import git

    return git


class GitRefusal(Exception):
    """apply will not run here; the message says why and what to do, on one line."""


class UndoIncomplete(Exception):
    """Undoing a failed landing failed too; the message says what to check."""


class Interrupted(Exception):
    """Ctrl-C (or SIGTERM) arrived while the changes were being landed; all undone."""


@dataclass(frozen=True)
class Repository:
    repo: git.Repo
    root: Path
    head_commit: str
    head_branch: str | None  # None: detached HEAD

    def relative(self, path: Path) -> str:
        return Path(os.path.abspath(path)).resolve().relative_to(self.root).as_posix()


def open_repository(paths: Sequence[Path]) -> Repository:
    """The repository holding every target, or a refusal naming what to do instead."""
    roots: set[Path] = set()
    opened: git.Repo | None = None
    for target in paths:
        folder = Path(os.path.abspath(target))
        folder = folder if folder.is_dir() else folder.parent
        try:
            opened = _gitpython().Repo(folder, search_parent_directories=True)
        except (_gitpython().InvalidGitRepositoryError, _gitpython().NoSuchPathError):
            raise GitRefusal(
                f"{target} is not inside a git repository; review with `unjam diff`, or "
                "write the working tree with `unjam apply --no-commit`"
            ) from None
        if opened.bare or opened.working_tree_dir is None:
            raise GitRefusal(f"{target}: the repository is bare; run apply in a checkout")
        roots.add(Path(opened.working_tree_dir).resolve())
    if len(roots) != 1 or opened is None:
        raise GitRefusal(
            "the paths are in different git repositories; run apply once per repository"
        )
    try:
        head = opened.head.commit.hexsha
    except ValueError:
        raise GitRefusal("the repository has no commits yet; commit once, then run apply") from None
    branch = None if opened.head.is_detached else opened.active_branch.name
    return Repository(opened, roots.pop(), head, branch)


def check_ready(repository: Repository, base: str | None) -> str:
    """Refuse a half-done git operation or a detached HEAD without ``--base``; returns
    the base commit."""
    git_dir = Path(repository.repo.git_dir)
    for marker, operation, fix in IN_PROGRESS:
        if (git_dir / marker).exists():
            raise GitRefusal(
                f"the repository is in the middle of {operation}; "
                f"finish it ({fix}) and run apply again"
            )
    if base is None:
        if repository.head_branch is None:
            raise GitRefusal(
                "HEAD is detached; check out a branch, or pass --base REF to branch from"
            )
        return repository.head_commit
    try:
        return str(repository.repo.git.rev_parse("--verify", "--quiet", f"{base}^{{commit}}"))
    except _gitpython().GitCommandError:
        raise GitRefusal(f"--base {base}: no such commit, branch or tag") from None


def check_branch_names(repository: Repository, branches: Sequence[str]) -> None:
    for name in branches:
        try:
            repository.repo.git.check_ref_format("--branch", name)
        except _gitpython().GitCommandError:
            raise GitRefusal(f"{name!r} is not a valid branch name") from None
        if _ref_exists(repository, f"refs/heads/{name}"):
            raise GitRefusal(
                f"branch {name} already exists; pass --branch NAME, "
                f"or delete it (git branch -D {name})"
            )


def _ref_exists(repository: Repository, ref: str) -> bool:
    try:
        repository.repo.git.show_ref("--verify", "--quiet", ref)
    except _gitpython().GitCommandError:
        return False
    return True


def uncommitted(repository: Repository, relative: Sequence[str]) -> list[str]:
    """Which of these files have changes git has not committed (staged, unstaged or
    untracked): apply would mix the user's work into its own commits."""
    if not relative:
        return []
    output = repository.repo.git.status(
        "--porcelain=v1", "-z", "--untracked-files=all", "--", *relative
    )
    dirty: list[str] = []
    entries = iter(output.split("\0"))
    for entry in entries:
        if not entry:
            continue
        dirty.append(entry[3:])
        if entry[0] in "RC":  # a rename names its source next
            next(entries, None)
    return dirty


def differ_at_base(repository: Repository, base: str, relative: Sequence[str]) -> list[str]:
    """Files whose committed content differs between HEAD and ``base``: their rewrite
    was computed from HEAD's version and would undo the difference."""
    if base == repository.head_commit or not relative:
        return []
    output = repository.repo.git.diff(
        "--name-only", "-z", repository.head_commit, base, "--", *relative
    )
    return [name for name in output.split("\0") if name]


# -- building commits (nothing visible changes) ----------------------------------------
def build_commits(
    repository: Repository, base: str, planned: Sequence[PlannedCommit]
) -> list[tuple[PlannedCommit, str]]:
    """Commit objects for the plan, each branch starting at ``base``."""
    made: list[tuple[PlannedCommit, str]] = []
    tips: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix=".unjam-git-") as scratch:
        index = Path(scratch) / "index"
        for commit in planned:
            parent = tips.get(commit.branch, base)
            sha = _commit(repository, parent, commit, index, Path(scratch))
            tips[commit.branch] = sha
            made.append((commit, sha))
    return made


def _commit(
    repository: Repository, parent: str, commit: PlannedCommit, index: Path, scratch: Path
) -> str:
    run = repository.repo.git
    env = {"GIT_INDEX_FILE": str(index)}
    run.read_tree(parent, env=env)
    paths = [change.relative for change, _ in commit.files]
    modes = _modes(repository, paths, env)
    entries = []
    for change, data in commit.files:
        mode = modes.get(change.relative)
        if mode is None:
            raise GitRefusal(
                f"{change.shown}: not in the base commit; "
                "commit it, or branch from a base that has it"
            )
        entries.append(
            f"{mode} {_blob(repository, change.relative, data, scratch)}\t{change.relative}"
        )
    with _stdin(scratch, "".join(entry + "\0" for entry in entries).encode()) as stdin:
        run.update_index("-z", "--index-info", istream=stdin, env=env)
    tree = run.write_tree(env=env)
    with _stdin(scratch, commit.message.encode("utf-8")) as stdin:
        return str(run.commit_tree(tree, "-p", parent, "-F", "-", istream=stdin))


def _modes(repository: Repository, paths: Sequence[str], env: dict[str, str]) -> dict[str, str]:
    output = repository.repo.git.ls_files("-s", "-z", "--", *paths, env=env)
    modes: dict[str, str] = {}
    for entry in output.split("\0"):
        if entry:
            meta, _, path = entry.partition("\t")
            modes[path] = meta.split()[0]
    return modes


def _blob(repository: Repository, relative: str, data: bytes, scratch: Path) -> str:
    with _stdin(scratch, data) as stdin:
        return str(
            repository.repo.git.hash_object("-w", "--path", relative, "--stdin", istream=stdin)
        )


@contextmanager
def _stdin(scratch: Path | None, data: bytes) -> Iterator[IO[bytes]]:
    """A real file to hand a git process as stdin (gitpython passes it to Popen)."""
    with tempfile.TemporaryFile(dir=scratch) as handle:
        handle.write(data)
        handle.seek(0)
        yield handle


# -- landing (journaled, undone on failure) --------------------------------------------
@dataclass
class Landing:
    """Lands built commits. Each step appends its undo to the journal before the next."""

    repository: Repository | None  # None: --no-commit, files only
    journal: list[Callable[[], None]] = field(default_factory=list)

    def land(
        self,
        tips: dict[str, str],
        checkout: str | None,
        files: Sequence[tuple[Path, str, bytes, bytes]],
        base: str,
    ) -> None:
        """Create the ``tips`` branches; if ``checkout`` names one of them, move the user
        onto it with ``files`` (path, relative, before, after) written. All or nothing,
        with interrupts held off until it is done or undone."""
        repository = self._git()
        in_place = checkout is not None and base == repository.head_commit
        mode = None if checkout is None else ("in_place" if in_place else "checkout")
        relative = [entry[1] for entry in files]
        index = (
            repository.repo.git.ls_tree("-z", repository.head_commit, "--", *relative)
            if in_place
            else ""
        )
        journal = Journal(journal_folder(Path(repository.repo.git_dir), []), repository.root)
        journal.begin(
            _planned(files) if in_place else [],
            branches=tips,
            head_branch=repository.head_branch,
            head_commit=repository.head_commit,
            index=index,
            checkout=mode,
        )
        with _recorded(journal), self._all_or_nothing():
            for branch, sha in tips.items():
                self._create_branch(branch, sha)
            if checkout is not None:
                if in_place:
                    self._switch_in_place(checkout, files)
                else:
                    self._checkout(checkout)

    def write_tree_only(self, files: Sequence[tuple[Path, str, bytes, bytes]]) -> None:
        """``--no-commit``: the files only, all or nothing."""
        journal = Journal(journal_folder(None, [entry[0] for entry in files]))
        journal.begin(_planned(files))
        with _recorded(journal), self._all_or_nothing():
            self._write_files(files)

    @contextmanager
    def _all_or_nothing(self) -> Iterator[None]:
        """Interrupts wait until the block is done; then, or on any failure, the journal
        is undone."""
        with interrupts_deferred() as interrupts:
            try:
                yield
                if interrupts:
                    raise Interrupted("interrupted; nothing was changed")
            except BaseException:
                self.undo()
                raise

    def undo(self) -> None:
        """Every step is undone even if one of them fails (another git process holding
        the index lock, say); the failures are then reported together."""
        failed: list[str] = []
        while self.journal:
            step = self.journal.pop()
            try:
                step()
            except Exception as error:  # keep undoing: each step restores something
                failed.append(" ".join(str(error).split()))
        if failed:
            raise UndoIncomplete(
                "apply failed and could not undo everything (" + "; ".join(failed) + "); "
                "check `git status` and `git branch`"
            )

    def _git(self) -> Repository:
        assert self.repository is not None, "a git step of a --no-commit landing"
        return self.repository

    def _create_branch(self, branch: str, sha: str) -> None:
        ref = f"refs/heads/{branch}"
        run = self._git().repo.git
        run.update_ref("-m", "unjam apply", ref, sha, ZERO)
        self.journal.append(lambda: run.update_ref("-d", ref, sha))

    def _write_files(self, files: Sequence[tuple[Path, str, bytes, bytes]]) -> None:
        for path, relative, before, after in files:
            if path.read_bytes() != before:
                raise GitRefusal(f"{relative} changed while unjam ran; run apply again")
            write_atomically(path, after)
            self.journal.append(functools.partial(write_atomically, path, before))

    def _switch_in_place(
        self, branch: str, files: Sequence[tuple[Path, str, bytes, bytes]]
    ) -> None:
        """The branch starts at HEAD: only the rewritten files differ, so write them,
        stage exactly what the branch's commit holds, and point HEAD at the branch."""
        repository = self._git()
        run = repository.repo.git
        self._write_files(files)
        relative = [entry[1] for entry in files]
        previous = run.ls_tree("-z", repository.head_commit, "--", *relative)
        wanted = run.ls_tree("-z", f"refs/heads/{branch}", "--", *relative)
        self._set_index(wanted)
        self.journal.append(lambda: self._set_index(previous))
        original = repository.head_branch
        run.symbolic_ref("-m", "unjam apply", "HEAD", f"refs/heads/{branch}")
        if original is not None:
            self.journal.append(
                lambda: run.symbolic_ref("-m", "unjam: undo", "HEAD", f"refs/heads/{original}")
            )
        else:
            head = repository.head_commit
            self.journal.append(
                lambda: run.update_ref("--no-deref", "-m", "unjam: undo", "HEAD", head)
            )

    def _set_index(self, ls_tree: str) -> None:
        """Index entries from ``ls-tree -z`` output (``mode type sha\\tpath``)."""
        run = self._git().repo.git
        with _stdin(None, index_info(ls_tree)) as stdin:
            run.update_index("-z", "--index-info", istream=stdin)
        with suppress(_gitpython().GitCommandError):  # other files need updating: theirs to stage
            run.update_index("-q", "--refresh")

    def _checkout(self, branch: str) -> None:
        """The branch starts elsewhere: git's own checkout moves the tree (it refuses to
        overwrite local changes)."""
        repository = self._git()
        run = repository.repo.git
        run.checkout("--quiet", branch)
        original = repository.head_branch or repository.head_commit
        self.journal.append(lambda: run.checkout("--quiet", original))


def _planned(files: Sequence[tuple[Path, str, bytes, bytes]]) -> list[PlannedFile]:
    return [PlannedFile(path, relative, before, after) for path, relative, before, after in files]


@contextmanager
def _recorded(journal: Journal) -> Iterator[None]:
    """The on-disk record lives as long as the landing is neither done nor undone: an
    undo that failed keeps it, so that the next run finishes the undo."""
    try:
        yield
    except UndoIncomplete:
        raise
    except BaseException:
        journal.end()
        raise
    journal.end()


def recorded(made: Sequence[tuple[PlannedCommit, str]]) -> list[Commit]:
    return [Commit(sha, planned.branch, planned.subject) for planned, sha in made]
