"""``unjam apply --interactive``: each change shown with its reason, accepted or
skipped, as ``git add -p`` does.

A change is one fixed site (a call offloaded, a function demoted, a block moved, a run
gathered). A rewrite is a whole pipeline, not a sum of independent edits, so skipped
changes are not cut out of the patch: the run is made again with each skipped change
suppressed as ``# unjam: ignore[...]`` on its line would (without writing the comment),
until what it changes is exactly what was accepted. A change a skipped one carried
with it (a demotion of the function a skipped call was in) is listed as dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from unjam.codemods import Site
from unjam.git.commits import Change
from unjam.report.diff import unified_diff

#: Codemods whose suppression is read on the ``def`` line (they decide per function).
PER_FUNCTION = frozenset({"demote-sync", "gather-awaits"})

_HUNK = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@")


@dataclass(frozen=True, order=True)
class Key:
    """A change, as it is found again in another run: file, line, codemod."""

    shown: str
    line: int
    codemod: str


def key_of(shown: str, site: Site) -> Key:
    return Key(shown, site.location.line, site.codemod)


def hunks_at(change: Change, line: int, name: str) -> bytes:
    """The hunks of the file's diff that touch ``line`` (or, if none does, the nearest)."""
    patch = unified_diff(name, change.before, change.after)
    header, *hunks = re.split(rb"(?m)^(?=@@ )", patch)
    spans = []
    for hunk in hunks:
        found = _HUNK.match(hunk)
        assert found is not None
        first = int(found.group(1))
        spans.append((first, first + max(int(found.group(2) or 1), 1) - 1, hunk))
    touching = [hunk for first, last, hunk in spans if first <= line <= last]
    if not touching and spans:
        touching = [min(spans, key=lambda span: min(abs(span[0] - line), abs(span[1] - line)))[2]]
    return header + b"".join(touching)


@dataclass
class Answers:
    accepted: list[Key]
    skipped: list[Key]


def ask(
    changes: Sequence[Change],
    name_of: Callable[[Change], str],
    show: Callable[[str, bytes], None],
    prompt: Callable[[str], str],
) -> Answers:
    """Each fixed site of each change, in order: ``y`` take it, ``n`` skip it, ``a`` take
    it and every one after it, ``q`` skip it and every one after it."""
    answers = Answers([], [])
    rest: str | None = None
    sites = [(change, site) for change in changes for site in change.sites]
    for number, (change, site) in enumerate(sites, start=1):
        key = key_of(change.shown, site)
        if rest is None:
            where = f"{change.shown}:{site.location.line}"
            title = f"({number}/{len(sites)}) {where}: {site.codemod}: {site.message}"
            show(title, hunks_at(change, site.location.line, name_of(change)))
            answer = prompt("Apply this change [y,n,a,q]?")
            if answer in ("a", "q"):
                rest = answer
            taken = answer in ("y", "a")
        else:
            taken = rest == "a"
        (answers.accepted if taken else answers.skipped).append(key)
    return answers


def suppressions_for(
    skipped: Sequence[Key], def_line: Callable[[Key], int | None]
) -> dict[tuple[str, int], frozenset[str]]:
    """Where each skipped change is suppressed: its line, or its function's ``def``
    line for the codemods that decide per function."""
    added: dict[tuple[str, int], frozenset[str]] = {}
    for key in skipped:
        line = def_line(key) if key.codemod in PER_FUNCTION else key.line
        where = (key.shown, line if line is not None else key.line)
        added[where] = added.get(where, frozenset()) | {key.codemod}
    return added
