"""What the project's formatter and import sorter are set to, so that rewritten code
looks as they would have written it: the line length (ruff, black) and the packages
the import sorter counts as first party (ruff's isort rules, isort)."""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_LINE_LENGTH = 88  # black's and ruff's


@dataclass(frozen=True, slots=True)
class Formatting:
    line_length: int = DEFAULT_LINE_LENGTH
    known_first_party: tuple[str, ...] = ()


@functools.cache
def formatting_for(folder: Path) -> Formatting:
    """The settings that apply to files in ``folder``: each from the nearest file at
    or above it that sets it (``ruff.toml``, ``.ruff.toml``, then pyproject.toml's
    ``[tool.ruff]``, ``[tool.black]``, ``[tool.isort]``). A file that cannot be read
    counts as setting nothing: formatting is a courtesy, never a reason to stop."""
    line_length: int | None = None
    first_party: tuple[str, ...] | None = None
    here = folder.resolve()
    for place in (here, *here.parents):
        for name in ("ruff.toml", ".ruff.toml", "pyproject.toml"):
            tools = _tools(place / name)
            if tools is None:
                continue
            if line_length is None:
                line_length = _line_length(tools)
            if first_party is None:
                first_party = _known_first_party(tools)
        if line_length is not None and first_party is not None:
            break
    return Formatting(line_length or DEFAULT_LINE_LENGTH, first_party or ())


def _tools(path: Path) -> dict[str, Any] | None:
    """The ``[tool]`` table of a pyproject.toml, or a ruff.toml as ``{"ruff": ...}``."""
    if not path.is_file():
        return None
    try:
        document = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    if path.name != "pyproject.toml":
        return {"ruff": document}
    tools = document.get("tool")
    return tools if isinstance(tools, dict) else None


def _table(parent: Any, *keys: str) -> dict[str, Any]:
    for key in keys:
        parent = parent.get(key) if isinstance(parent, dict) else None
    return parent if isinstance(parent, dict) else {}


def _line_length(tools: dict[str, Any]) -> int | None:
    for tool in ("ruff", "black"):
        value = _table(tools, tool).get("line-length")
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _known_first_party(tools: dict[str, Any]) -> tuple[str, ...] | None:
    for table, key in (
        (_table(tools, "ruff", "lint", "isort"), "known-first-party"),
        (_table(tools, "ruff", "isort"), "known-first-party"),  # ruff before 0.2
        (_table(tools, "isort"), "known_first_party"),
        (_table(tools, "isort"), "known-first-party"),
    ):
        value = table.get(key)
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return tuple(value)
    return None
