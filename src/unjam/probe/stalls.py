"""Stalls gathered per source line: the innermost frame in the project's code, and the
call it was making (the frame below it, or, for a C function, the line's own text)."""

from __future__ import annotations

import io
import os
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from unjam.probe.watchdog import Stall

#: Folders whose code is not the project's, wherever the project is.
_NOT_PROJECT = (
    "site-packages",
    "dist-packages",
    f"{os.sep}.venv{os.sep}",
    f"{os.sep}lib{os.sep}python",
)


@dataclass
class Line:
    path: str  # relative to the project root
    line: int
    function: str
    call: str  # the blocking call: a function below the line, or the line's code
    source: str = ""  # the line as written
    stalls: int = 0
    total: float = 0.0
    longest: float = 0.0
    tests: set[str] = field(default_factory=set)
    routes: set[str] = field(default_factory=set)  # the requests being served
    #: The project frames of the stack, innermost first: a line the analysis knows may
    #: be further out (a helper's line blocks; the analysis reports its caller).
    frames: list[tuple[str, int]] = field(default_factory=list)


def is_project(filename: str, root: Path) -> bool:
    if filename.startswith("<"):
        return False
    absolute = os.path.abspath(filename)
    if not absolute.startswith(str(root) + os.sep):
        return False
    return not any(part in absolute for part in _NOT_PROJECT)


def by_line(stalls: list[Stall], root: Path) -> list[Line]:
    """Each stall on the project line that was running when it was sampled; stalls
    with no project frame (the loop itself, a library alone) are left out."""
    lines: dict[tuple[str, int], Line] = {}
    for stall in stalls:
        frames = stall.stack
        mine = [index for index, frame in enumerate(frames) if is_project(frame[0], root)]
        if not mine:
            continue
        index = mine[-1]
        filename, number, function, source = frames[index]
        below = frames[index + 1] if index + 1 < len(frames) else None
        code = _without_comment(source)  # what the line runs, not what it says
        call = f"{_module_of(below[0])}.{below[2]}" if below else code
        key = (os.path.relpath(os.path.abspath(filename), root), number)
        outward = [
            (os.path.relpath(os.path.abspath(frames[i][0]), root), frames[i][1])
            for i in reversed(mine)
        ]
        entry = lines.setdefault(
            key, Line(key[0], number, function, call, source=code, frames=outward)
        )
        entry.stalls += 1
        entry.total += stall.seconds
        entry.longest = max(entry.longest, stall.seconds)
        if stall.test:
            entry.tests.add(stall.test)
        if stall.route:
            entry.routes.add(stall.route)
    return sorted(lines.values(), key=lambda line: -line.total)


def _module_of(filename: str) -> str:
    """``requests.api`` for ``.../site-packages/requests/api.py``."""
    parts = Path(filename).with_suffix("").parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts:
            return ".".join(parts[parts.index(marker) + 1 :])
    return Path(filename).stem


def _without_comment(source: str) -> str:
    """The line's code: its comment left out (found by the tokenizer, not by ``#``,
    which a string may hold)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source.strip() + "\n").readline))
    except (tokenize.TokenError, SyntaxError):
        return source.strip()
    comment = next((t for t in tokens if t.type == tokenize.COMMENT), None)
    return source.strip()[: comment.start[1]].rstrip() if comment else source.strip()
