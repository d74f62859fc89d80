"""How a run's rewrites are cut into commits and branches, and what the messages say.

Pure planning: no git here. A reviewer reads one commit per codemod (the default), per
package, or one for everything; with one branch per package each team gets its own
branch to open a pull request from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path

from unjam import __version__
from unjam.codemods import CONTRACT_ORDER, Site, by_name

#: Sites listed per file in a commit message; the rest are counted.
SITES_PER_FILE = 12


class SplitBy(str, Enum):
    CODEMOD = "codemod"
    PACKAGE = "package"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Change:
    """One file's rewrite. ``stages``: (codemod, bytes after it) in run order."""

    path: Path
    shown: str  # the path as the user sees it, relative to the run's base
    relative: str  # the path relative to the repository root (posix)
    package: str
    before: bytes
    stages: tuple[tuple[str, bytes], ...]
    sites: tuple[Site, ...]  # the fixed ones

    @property
    def after(self) -> bytes:
        return self.stages[-1][1]

    def after_codemod(self, codemod: str) -> bytes | None:
        for name, data in self.stages:
            if name == codemod:
                return data
        return None


@dataclass(frozen=True, slots=True)
class PlannedCommit:
    branch: str
    message: str
    files: tuple[tuple[Change, bytes], ...]  # each file's bytes after this commit

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0]


def codemods_used(changes: Sequence[Change]) -> list[str]:
    used = {name for change in changes for name, _ in change.stages}
    return [name for name in CONTRACT_ORDER if name in used]


def default_branch(changes: Sequence[Change], now: datetime | None = None) -> str:
    """``unjam/<codemods>-<yyyymmdd-hhmm>``, the codemods being those that changed code."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M")
    return f"unjam/{'+'.join(codemods_used(changes)) or 'nothing'}-{stamp}"


def package_branch(branch: str, package: str) -> str:
    """The branch for one package: ``<branch>/<package folder with / as ->``."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", package.strip("./")).strip("-.") or "root"
    return f"{branch}/{slug}"


def plan(
    changes: Sequence[Change], split_by: SplitBy, branch: str, branch_per_package: bool
) -> list[PlannedCommit]:
    """The commits, in the order they are made; on one branch each builds on the last."""
    if not branch_per_package:
        return _commits(changes, split_by, branch)
    planned: list[PlannedCommit] = []
    for package in sorted({change.package for change in changes}):
        mine = [change for change in changes if change.package == package]
        # One branch per package already splits by package.
        split = SplitBy.NONE if split_by is SplitBy.PACKAGE else split_by
        planned.extend(_commits(mine, split, package_branch(branch, package)))
    return planned


def _commits(changes: Sequence[Change], split_by: SplitBy, branch: str) -> list[PlannedCommit]:
    if split_by is SplitBy.CODEMOD:
        planned = []
        for codemod in codemods_used(changes):
            files = tuple(
                (change, data)
                for change in changes
                if (data := change.after_codemod(codemod)) is not None
            )
            sites = [(change, _fixed(change, codemod)) for change, _ in files]
            planned.append(
                PlannedCommit(branch, _message(codemod, _description(codemod), sites), files)
            )
        return planned
    if split_by is SplitBy.PACKAGE:
        planned = []
        for package in sorted({change.package for change in changes}):
            mine = [change for change in changes if change.package == package]
            planned.append(_one_commit(mine, branch, f"package {package}"))
        return planned
    return [_one_commit(list(changes), branch, None)]


def _one_commit(changes: Sequence[Change], branch: str, scope: str | None) -> PlannedCommit:
    used = codemods_used(changes)
    title = " + ".join(used) + (f" in {scope}" if scope else "")
    sites = [(change, _fixed(change, None)) for change in changes]
    described = "\n".join(f"{name}: {_description(name)}" for name in used)
    files = tuple((change, change.after) for change in changes)
    return PlannedCommit(branch, _message(title, described, sites), files)


def _fixed(change: Change, codemod: str | None) -> list[Site]:
    return [s for s in change.sites if s.fixed and (codemod is None or s.codemod == codemod)]


def _description(codemod: str) -> str:
    known = by_name().get(codemod)
    return known.DESCRIPTION if known is not None else ""


def _message(title: str, description: str, per_file: Sequence[tuple[Change, list[Site]]]) -> str:
    total = sum(len(sites) for _, sites in per_file)
    lines = [
        f"unjam: {title} ({total} site(s) in {len(per_file)} file(s))",
        "",
        description,
        "",
    ]
    for change, sites in sorted(per_file, key=lambda entry: entry[0].relative):
        lines.append(f"- {change.relative}: {len(sites)} site(s)")
        for site in sorted(sites, key=lambda s: (s.location.line, s.location.column))[
            :SITES_PER_FILE
        ]:
            lines.append(f"  - line {site.location.line}: {site.codemod}: {site.message}")
        if len(sites) > SITES_PER_FILE:
            lines.append(f"  - and {len(sites) - SITES_PER_FILE} more")
    lines += ["", f"Made by unjam {__version__} (`unjam apply`)."]
    return "\n".join(lines) + "\n"
