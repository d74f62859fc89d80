"""Unified diffs that ``git apply`` accepts, in each file's own encoding and newlines."""

from __future__ import annotations

import difflib
import io
import re

#: Lines as git counts them: ended by ``\n`` only. A ``\r`` (CRLF files, or files of
#: CR-only line breaks, which git sees as one long line) is part of the line.
_LINES = re.compile(rb"[^\n]*\n|[^\n]+$")
NO_NEWLINE = b"\\ No newline at end of file\n"


def _lines(data: bytes) -> list[bytes]:
    return [line for line in _LINES.findall(data) if line]


def unified_diff(path: str, before: bytes, after: bytes, context: int = 3) -> bytes:
    """A ``diff --git`` style patch for one file (``a/`` and ``b/`` prefixes, -p1)."""
    old, new = _lines(before), _lines(after)
    out = io.BytesIO()
    old_name, new_name = _quoted(f"a/{path}"), _quoted(f"b/{path}")
    header = f"diff --git {old_name} {new_name}\n--- {old_name}\n+++ {new_name}\n".encode()
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
    if not line.endswith(b"\n"):
        out.write(b"\n" + NO_NEWLINE)


#: git's C-style escapes in quoted paths.
_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    '"': '\\"',
    "\\": "\\\\",
}


def _quoted(name: str) -> str:
    """A path as git writes it in a patch header: as it is, unless it holds a double
    quote, a backslash, a control character or a non-ASCII one (``core.quotePath``,
    on by default); then in double quotes with C escapes, other bytes in octal."""
    if all(" " <= char < "\x7f" and char not in '"\\' for char in name):
        return name
    parts = []
    for char in name:
        if char in _ESCAPES:
            parts.append(_ESCAPES[char])
        elif " " <= char < "\x7f":
            parts.append(char)
        else:
            parts.extend(f"\\{byte:03o}" for byte in char.encode("utf-8", "surrogateescape"))
    return '"' + "".join(parts) + '"'


def _range(start: int, stop: int) -> str:
    length = stop - start
    if length == 1:
        return f"{start + 1}"
    if length == 0:
        return f"{start},0"
    return f"{start + 1},{length}"
