"""Carry line numbers of a rewritten module back to the file the user has.

Passes run one after the other on the same module; a later pass reports sites in the
code an earlier pass produced (``requests-to-httpx`` adds an import and a line or two
above a route that ``demote-sync`` then reports). ``unjam check`` must point at the
user's lines, so each rewrite's line shift is recorded and undone.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from unjam.pipeline.source import source_lines


@dataclass
class LineMap:
    """Maps a line of the latest text to a line of the original, through every rewrite."""

    steps: list[dict[int, int]] = field(default_factory=list)  # newer line -> older line

    def rewritten(self, before: str, after: str) -> None:
        old, new = _lines(before), _lines(after)
        step: dict[int, int] = {}
        matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            for offset, line in enumerate(range(j1, j2)):
                if tag == "equal" or (tag == "replace" and offset < i2 - i1):
                    step[line + 1] = i1 + offset + 1
                else:  # an inserted line belongs to the statement it was inserted at
                    step[line + 1] = min(i1 + 1, max(len(old), 1))
        self.steps.append(step)

    def original(self, line: int) -> int:
        for step in reversed(self.steps):
            line = step.get(line, line)
        return line


def _lines(text: str) -> list[str]:
    return [line.rstrip("\r\n") for line in source_lines(text)]
