"""``# unjam: ignore`` and ``# unjam: ignore[codemod-a, codemod-b]`` comments."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

ALL = "*"
#: Suppressions a run adds without writing them into the files (the changes a reviewer
#: skipped in ``apply --interactive``): (shown path, line) -> codes.
_ADDED: dict[tuple[str, int], frozenset[str]] = {}
_PATTERN = re.compile(r"#\s*unjam:\s*ignore(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)


def parse_suppression(comment: str) -> frozenset[str] | None:
    """The codemods a comment suppresses (``{"*"}`` for all), or None if it is not one."""
    match = _PATTERN.search(comment)
    if match is None:
        return None
    codes = match.group("codes")
    if codes is None:
        return frozenset({ALL})
    names = frozenset(code.strip() for code in codes.split(",") if code.strip())
    return names or frozenset({ALL})


def is_suppressed(codes: frozenset[str], codemod: str) -> bool:
    return ALL in codes or codemod in codes


@contextmanager
def added_suppressions(added: Mapping[tuple[str, int], frozenset[str]]) -> Iterator[None]:
    """Analyses made inside the block (in this process) see ``added`` as if each were
    an ``# unjam: ignore[...]`` comment on its line."""
    _ADDED.update(added)
    try:
        yield
    finally:
        _ADDED.clear()


def suppressions(comments: Mapping[int, str], path: str) -> dict[int, frozenset[str]]:
    """Line -> codes suppressed there: the file's comments, and what the run added."""
    found = {
        line: codes
        for line, comment in comments.items()
        if (codes := parse_suppression(comment)) is not None
    }
    for (where, line), codes in _ADDED.items():
        if where == path:
            found[line] = found.get(line, frozenset()) | codes
    return found
