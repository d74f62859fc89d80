"""The per-package report of a run: a rich table for people, JSON for CI, and the merge
of the JSON reports that the shards of one migration (``--shard I/N``) wrote.

A monorepo migration is reviewed package by package (each team owns one), so every
count here is per package: files scanned and changed, sites rewritten per codemod,
findings left for a human, errors.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from unjam import __version__
from unjam.report.findings import Finding

#: Bumped when the JSON's shape changes; ``merge-reports`` refuses other versions.
SCHEMA = 1
#: Errors that belong to no package (a path on the command line that does not exist).
OUTSIDE = "(no package)"


class ReportError(Exception):
    """A report that cannot be read or merged; the message names the file and reason."""


@dataclass
class PackageReport:
    package: str
    files_scanned: int = 0
    files_changed: int = 0
    sites: dict[str, int] = field(default_factory=dict)  # rewritten sites per codemod
    left_for_human: int = 0  # findings no codemod fixed
    errors: list[str] = field(default_factory=list)
    changed_files: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    branch: str
    subject: str


@dataclass
class RunReport:
    command: str
    packages: list[PackageReport]
    shard: tuple[int, int] | None = None
    branches: list[str] = field(default_factory=list)
    base: str | None = None
    commits: list[Commit] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(p.files_changed for p in self.packages)

    @property
    def errors(self) -> list[str]:
        return [line for p in self.packages for line in p.errors]

    def to_json(self) -> str:
        document: dict[str, Any] = {
            "schema": SCHEMA,
            "unjam": __version__,
            "command": self.command,
            "shard": {"index": self.shard[0], "count": self.shard[1]} if self.shard else None,
            "base": self.base,
            "branches": self.branches,
            "commits": [asdict(c) for c in self.commits],
            "packages": [asdict(p) for p in self.packages],
            "totals": asdict(_totals(self.packages)),
        }
        return json.dumps(document, indent=2) + "\n"


def package_report(
    command: str,
    files: Mapping[str, Sequence[str]],
    changed: Mapping[str, Sequence[tuple[str, Sequence[str]]]],
    findings: Iterable[Finding],
    errors: Iterable[str],
    shard: tuple[int, int] | None = None,
) -> RunReport:
    """``files``: shown paths per package; ``changed``: per package, each changed file
    with the codemods of its fixed sites (one entry per site); ``findings``: what
    ``check`` would report, the unfixed ones being left for a human."""
    rows = {name: PackageReport(name, files_scanned=len(paths)) for name, paths in files.items()}
    owner = {path: name for name, paths in files.items() for path in paths}
    for name, entries in changed.items():
        row = rows[name]
        for path, codemods in entries:
            row.files_changed += 1
            row.changed_files.append(path)
            for codemod in codemods:
                row.sites[codemod] = row.sites.get(codemod, 0) + 1
    for finding in findings:
        if not finding.fixable and finding.path in owner:
            rows[owner[finding.path]].left_for_human += 1
    for line in errors:
        name = owner.get(_error_path(line)) or _package_named_in(line, rows) or OUTSIDE
        rows.setdefault(name, PackageReport(name)).errors.append(line)
    return RunReport(command, [rows[name] for name in sorted(rows)], shard)


def _error_path(line: str) -> str:
    return line.split(": ", 1)[0]


def _package_named_in(line: str, rows: Mapping[str, PackageReport]) -> str | None:
    """Configuration errors end with ``(package NAME skipped)``."""
    for name in rows:
        if line.endswith(f"(package {name} skipped)"):
            return name
    return None


def _totals(packages: Sequence[PackageReport]) -> PackageReport:
    total = PackageReport("total")
    for row in packages:
        total.files_scanned += row.files_scanned
        total.files_changed += row.files_changed
        total.left_for_human += row.left_for_human
        for codemod, count in row.sites.items():
            total.sites[codemod] = total.sites.get(codemod, 0) + count
        total.errors.extend(row.errors)
        total.changed_files.extend(row.changed_files)
    return total


def table(report: RunReport, codemods: Sequence[str]) -> Table:
    """One row per package, a column per codemod, and a total row."""
    shown = [c for c in codemods if any(c in p.sites for p in report.packages)] or list(codemods)
    title = "unjam: per package"
    if report.shard:
        title += f" (shard {report.shard[0]}/{report.shard[1]})"
    grid = Table(title=title, show_footer=len(report.packages) > 1)
    total = _totals(report.packages)
    grid.add_column("package", footer="total")
    grid.add_column("files scanned", justify="right", footer=str(total.files_scanned))
    grid.add_column("files changed", justify="right", footer=str(total.files_changed))
    for codemod in shown:
        grid.add_column(codemod, justify="right", footer=str(total.sites.get(codemod, 0)))
    grid.add_column("left for a human", justify="right", footer=str(total.left_for_human))
    grid.add_column("errors", justify="right", footer=str(len(total.errors)))
    for row in report.packages:
        grid.add_row(
            row.package,
            str(row.files_scanned),
            str(row.files_changed),
            *(str(row.sites.get(codemod, 0)) for codemod in shown),
            str(row.left_for_human),
            str(len(row.errors)),
        )
    return grid


# -- merging the shards' reports -------------------------------------------------------
def read_report(path: Path) -> RunReport:
    try:
        document = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ReportError(f"{path}: cannot read: {error}") from None
    except json.JSONDecodeError as error:
        raise ReportError(f"{path}: not JSON: {error}") from None
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        raise ReportError(f"{path}: not an unjam report (schema {SCHEMA}, from --format json)")
    try:
        shard = document["shard"]
        return RunReport(
            command=str(document["command"]),
            packages=[PackageReport(**row) for row in document["packages"]],
            shard=(int(shard["index"]), int(shard["count"])) if shard else None,
            branches=list(document.get("branches", [])),
            base=document.get("base"),
            commits=[Commit(**commit) for commit in document.get("commits", [])],
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ReportError(f"{path}: malformed report ({type(error).__name__}: {error})") from None


def merge(reports: Sequence[tuple[Path, RunReport]]) -> RunReport:
    """One report for the whole monorepo. Refuses a package reported twice (two runs of
    the same shard, or shards of different N) and names the shards that are missing."""
    if not reports:
        raise ReportError("merge-reports: no reports given")
    counts = {report.shard[1] for _, report in reports if report.shard}
    if len(counts) > 1:
        raise ReportError(f"merge-reports: shards of different counts ({sorted(counts)})")
    seen: dict[str, Path] = {}
    packages: list[PackageReport] = []
    for path, report in reports:
        for row in report.packages:
            if row.package == OUTSIDE:
                packages.append(row)
                continue
            if row.package in seen:
                raise ReportError(
                    f"{path}: package {row.package} is also in {seen[row.package]}; "
                    "merge one report per shard"
                )
            seen[row.package] = path
            packages.append(row)
    shards = {report.shard for _, report in reports if report.shard}
    if counts:
        count = counts.pop()
        missing = sorted(set(range(1, count + 1)) - {index for index, _ in shards})
        if missing:
            listed = ", ".join(f"{index}/{count}" for index in missing)
            raise ReportError(f"merge-reports: missing shard(s) {listed}")
    commands = sorted({report.command for _, report in reports})
    bases = {report.base for _, report in reports if report.base}
    return RunReport(
        command="+".join(commands),
        packages=sorted(packages, key=lambda row: row.package),
        branches=[branch for _, report in reports for branch in report.branches],
        base=bases.pop() if len(bases) == 1 else None,
        commits=[commit for _, report in reports for commit in report.commits],
    )
