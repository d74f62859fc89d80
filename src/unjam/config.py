"""``[tool.unjam]`` in pyproject.toml, merged with command-line options."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ConfigError(Exception):
    """A configuration problem; the message names the file and the reason."""


HTTP_CLIENTS = ("httpx", "httpx2")
KNOWN_KEYS = frozenset(
    {
        "select",
        "extend-select",
        "ignore",
        "exclude",
        "extra-blocking",
        "gather-safe",
        "http-client",
        "httpx-default-timeout",
        "unsafe-fixes",
        "include-tests",
    }
)


@dataclass(frozen=True)
class Config:
    select: tuple[str, ...] | None = None  # None: every codemod
    extend_select: tuple[str, ...] = ()  # added to ``select`` (or to the default set)
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    extra_blocking: dict[str, str] = field(default_factory=dict)
    gather_safe: tuple[str, ...] = ()
    http_client: str | None = None
    httpx_default_timeout: bool = False
    unsafe_fixes: bool = False
    include_tests: bool = False  # report and rewrite test files too (they always inform)
    source: Path | None = None  # the pyproject.toml it came from

    def merged(self, **overrides: Any) -> Config:
        """This config with the command line's explicit options on top."""
        given = {key: value for key, value in overrides.items() if value is not None}
        if "exclude" in given:
            given["exclude"] = (*self.exclude, *given["exclude"])
        if "extend_select" in given:
            given["extend_select"] = (*self.extend_select, *given["extend_select"])
        return replace(self, **given)


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml with a ``[tool.unjam]`` table, at or above ``start``.

    A pyproject.toml on the way that cannot be read as TOML stops the search with a
    ``ConfigError``: it may hold the ``[tool.unjam]`` (and the ``exclude``) meant for
    these files, and running without it would rewrite what the user excluded."""
    try:
        here = start.resolve()
    except (OSError, RuntimeError):  # a symlink loop: its folder is where to look
        here = Path(os.path.abspath(start)).parent
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and _unjam_table(_document(candidate), candidate) is not None:
            return candidate
    return None


def load_config(path: Path | None) -> Config:
    """The configuration in ``path``: a pyproject.toml's ``[tool.unjam]``, or, in any
    other file, its ``[tool.unjam]`` when it has one, else the file as the table."""
    if path is None:
        return Config()
    document = _document(path)
    table = _unjam_table(document, path)
    if table is None:
        table = {} if path.name == "pyproject.toml" else document
    return parse_config(table, path)


def _document(path: Path) -> dict[str, Any]:
    try:
        document: dict[str, Any] = tomllib.loads(path.read_text("utf-8"))
        return document
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None


def _unjam_table(document: dict[str, Any], path: Path) -> dict[str, Any] | None:
    """``[tool.unjam]``, None when there is none; ``ConfigError`` when ``tool`` or
    ``tool.unjam`` is there but not a table."""
    tool = document.get("tool")
    if tool is None:
        return None
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: tool must be a table, not {_kind(tool)}")
    table = tool.get("unjam")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.unjam] must be a table, not {_kind(table)}")
    return table


#: What each key holds: the check and how the message names what it wants.
_BOOLEANS = ("httpx-default-timeout", "unsafe-fixes", "include-tests")
_LISTS = ("select", "extend-select", "ignore", "exclude", "gather-safe")


def parse_config(table: dict[str, Any], path: Path) -> Config:
    unknown = sorted(set(table) - KNOWN_KEYS)
    if unknown:
        known = ", ".join(sorted(KNOWN_KEYS))
        raise ConfigError(f"{path}: [tool.unjam] unknown key {unknown[0]!r} (known: {known})")
    for key in _BOOLEANS:
        if key in table and not isinstance(table[key], bool):
            raise ConfigError(
                f"{path}: [tool.unjam] {key} must be true or false, not {_kind(table[key])}"
            )
    for key in _LISTS:
        if key in table:
            _strings(table[key], key, path)
    select = table.get("select")
    extra = table.get("extra-blocking", {})
    if isinstance(extra, list):
        extra = {name: "other" for name in _strings(extra, "extra-blocking", path)}
    if not isinstance(extra, dict) or not all(isinstance(v, str) for v in extra.values()):
        raise ConfigError(
            f"{path}: [tool.unjam] extra-blocking must map qualified names to categories, "
            f"not {_kind(extra)}"
        )
    client = table.get("http-client")
    if client is not None and client not in HTTP_CLIENTS:
        raise ConfigError(
            f"{path}: [tool.unjam] http-client must be one of {', '.join(HTTP_CLIENTS)}, "
            f"not {_kind(client)}"
        )
    return Config(
        select=tuple(select) if select is not None else None,
        extend_select=tuple(table.get("extend-select", [])),
        ignore=tuple(table.get("ignore", [])),
        exclude=tuple(table.get("exclude", [])),
        extra_blocking=dict(extra),
        gather_safe=tuple(table.get("gather-safe", [])),
        http_client=client,
        httpx_default_timeout=table.get("httpx-default-timeout", False),
        unsafe_fixes=table.get("unsafe-fixes", False),
        include_tests=table.get("include-tests", False),
        source=path,
    )


def _strings(value: Any, key: str, path: Path) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(
            f"{path}: [tool.unjam] {key} must be a list of strings, not {_kind(value)}"
        )
    return value


def _kind(value: Any) -> str:
    """A value as the message names it: ``"false" (a string)``."""
    kinds = {
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        list: "a list",
        dict: "a table",
    }
    shown = repr(value) if not isinstance(value, dict | list) or len(repr(value)) < 40 else "..."
    return f"{shown} ({kinds.get(type(value), type(value).__name__)})"
