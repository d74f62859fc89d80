"""Unified diffs that ``git apply`` accepts, in each file's own encoding and newlines."""

from __future__ import annotations

import difflib
import io
import re

_LINES = re.compile(rb"[^\r\n]*(?:\r\n|\n|\r)|[^\r\n]+$")
NO_NEWLINE = b"\\ No newline at end of file\n"


def _lines(data: bytes) -> list[bytes]:
    return [line for line in _LINES.findall(data) if line]


def unified_diff(path: str, before: bytes, after: bytes, context: int = 3) -> bytes:
    """A ``diff --git`` style patch for one file (``a/`` and ``b/`` prefixes, -p1)."""
    old, new = _lines(before), _lines(after)
    out = io.BytesIO()
    header = f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n".encode()
    wrote_header = False
    for group in difflib.SequenceMatcher(None, old, new, autojunk=False).get_grouped_opcodes(
        context
    ):
        if not wrote_header:
            out.write(header)
            wrote_header = True
        first, last = group[0], group[-1]
        out.write(f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n".encode())
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for line in old[i1:i2]:
                    _emit(out, b" ", line)
                continue
            for line in old[i1:i2]:
                _emit(out, b"-", line)
            for line in new[j1:j2]:
                _emit(out, b"+", line)
    return out.getvalue()


def _emit(out: io.BytesIO, mark: bytes, line: bytes) -> None:
    out.write(mark + line)
    if not line.endswith((b"\n", b"\r")):
        out.write(b"\n" + NO_NEWLINE)


def _range(start: int, stop: int) -> str:
    length = stop - start
    if length == 1:
        return f"{start + 1}"
    if length == 0:
        return f"{start},0"
    return f"{start + 1},{length}"
