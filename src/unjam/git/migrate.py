"""``unjam apply`` between the pipeline and git: from the rewritten files to a plan that
has passed every refusal, and from the plan to branches, commits and written files.

Everything that can refuse does so before anything is written: the repository's state
(``gitflow.check_ready``, done before the analysis), files with uncommitted work, files
that differ between HEAD and ``--base``, branch names taken.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from unjam.git.commits import Change, PlannedCommit, SplitBy, default_branch, plan
from unjam.git.gitflow import (
    GitRefusal,
    Landing,
    Repository,
    build_commits,
    check_branch_names,
    differ_at_base,
    recorded,
    uncommitted,
)
from unjam.pipeline.discovery import git_root
from unjam.pipeline.runner import FileResult
from unjam.report.batch import Commit

#: Files named in a refusal; the rest are counted.
NAMED = 5


@dataclass(frozen=True)
class Prepared:
    changes: list[Change]
    planned: list[PlannedCommit]
    branch: str | None  # the branch the user ends on (None: --no-commit or one per package)
    base: str | None  # the commit the branches start from


def changes_from(
    results: Sequence[FileResult], repository: Repository | None, targets: Sequence[Path] = ()
) -> tuple[list[Change], list[str]]:
    """The changed files as ``Change``s, and one error per file apply will not write: a
    symlink (writing it would replace the link with a file), and a file whose real path
    is outside the repository (or, with ``--no-commit``, outside the folders given:
    ``targets``), reached through a linked folder."""
    boundaries = [repository.root] if repository else [_real_root(t) for t in targets]
    changes: list[Change] = []
    skipped: list[str] = []
    for result in results:
        if not result.changed or not result.stages:
            continue
        path = Path(result.path)
        if path.is_symlink():
            if (refusal := link_refusal(result, results)) is not None:
                skipped.append(refusal)
            continue
        real = Path(os.path.realpath(path))
        if boundaries and not any(real.is_relative_to(root) for root in boundaries):
            where = "the repository" if repository else "the folders given"
            skipped.append(
                f"{result.shown}: is {real}, outside {where} (through a linked folder); "
                "apply does not write there"
            )
            continue
        owner = git_root(real.parent) if repository else None
        if repository and owner is not None and owner.resolve() != repository.root:
            skipped.append(
                f"{result.shown}: belongs to the git repository in {os.path.relpath(owner)} "
                "(a submodule or a repository of its own), not to the one being committed "
                "to; run apply there"
            )
            continue
        relative = repository.relative(path) if repository else result.shown
        fixed = tuple(site for site in result.sites if site.fixed)
        changes.append(
            Change(
                path, result.shown, relative, result.profile, result.before, result.stages, fixed
            )
        )
    return changes, skipped


def link_refusal(result: FileResult, results: Sequence[FileResult]) -> str | None:
    """For a changed file that is a symlink (writing it would replace the link with a
    file; a patch of it would not apply): None when the file it links to is in the
    run too (its own change covers it), else the line that says it is left."""
    real = os.path.realpath(result.path)
    if any(other is not result and os.path.realpath(other.path) == real for other in results):
        return None
    return f"{result.shown}: is a symlink; unjam does not write through links"


def _real_root(target: Path) -> Path:
    """The deepest folder of ``target``'s path that is reached without a link: files
    below it are what the user named; a linked folder leads elsewhere."""
    absolute = Path(os.path.abspath(target))
    reached = Path(absolute.anchor)
    for part in absolute.parts[1:]:
        step = reached / part
        if step.is_symlink() or not step.is_dir():
            break
        reached = step
    return Path(os.path.realpath(reached))


def prepare(
    repository: Repository,
    base: str,
    changes: list[Change],
    branch: str | None,
    split_by: SplitBy,
    branch_per_package: bool,
) -> Prepared:
    relative = [change.relative for change in changes]
    dirty = uncommitted(repository, relative)
    if dirty:
        raise GitRefusal(
            f"uncommitted changes in {_listed(dirty)}, which apply would rewrite; "
            "commit or stash them (git stash) and run apply again"
        )
    moved = differ_at_base(repository, base, relative)
    if moved:
        raise GitRefusal(
            f"{_listed(moved)} differ between HEAD and --base; check out the base and run "
            "apply there"
        )
    name = branch or default_branch(changes)
    planned = plan(changes, split_by, name, branch_per_package)
    check_branch_names(repository, sorted({commit.branch for commit in planned}))
    return Prepared(changes, planned, None if branch_per_package else name, base)


def _listed(paths: Sequence[str]) -> str:
    named = ", ".join(paths[:NAMED])
    return named + (f" and {len(paths) - NAMED} more" if len(paths) > NAMED else "")


def execute(repository: Repository, prepared: Prepared) -> list[Commit]:
    """Build the commits (invisible), then land them in one undoable step."""
    assert prepared.base is not None
    made = build_commits(repository, prepared.base, prepared.planned)
    tips: dict[str, str] = {}
    for commit, sha in made:
        tips[commit.branch] = sha
    Landing(repository).land(tips, prepared.branch, _writes(prepared.changes), prepared.base)
    return recorded(made)


def write_only(changes: Sequence[Change]) -> None:
    """``--no-commit``: the working tree only, all files or none."""
    Landing(None).write_tree_only(_writes(changes))


def _writes(changes: Sequence[Change]) -> list[tuple[Path, str, bytes, bytes]]:
    return [(change.path, change.relative, change.before, change.after) for change in changes]
