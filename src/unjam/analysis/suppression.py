"""``# unjam: ignore`` and ``# unjam: ignore[codemod-a, codemod-b]`` comments."""

from __future__ import annotations

import re

ALL = "*"
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
