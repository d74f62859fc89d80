"""``[tool.unjam]`` in pyproject.toml, merged with command-line options."""

from __future__ import annotations

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
        return replace(self, **given)


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml with a ``[tool.unjam]`` table, at or above ``start``."""
    here = start.resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                document = tomllib.loads(candidate.read_text("utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue
            if "unjam" in document.get("tool", {}):
                return candidate
    return None


def load_config(path: Path | None) -> Config:
    if path is None:
        return Config()
    try:
        document = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    table = document.get("tool", {}).get("unjam", {}) if path.name == "pyproject.toml" else document
    return parse_config(table, path)


def parse_config(table: dict[str, Any], path: Path) -> Config:
    unknown = sorted(set(table) - KNOWN_KEYS)
    if unknown:
        known = ", ".join(sorted(KNOWN_KEYS))
        raise ConfigError(f"{path}: [tool.unjam] unknown key {unknown[0]!r} (known: {known})")
    select = table.get("select")
    extra = table.get("extra-blocking", {})
    if isinstance(extra, list):
        extra = {name: "other" for name in extra}
    if not isinstance(extra, dict) or not all(isinstance(v, str) for v in extra.values()):
        raise ConfigError(f"{path}: extra-blocking must map qualified names to categories")
    client = table.get("http-client")
    if client is not None and client not in HTTP_CLIENTS:
        raise ConfigError(f"{path}: http-client must be one of {', '.join(HTTP_CLIENTS)}")
    return Config(
        select=tuple(_strings(select, "select", path)) if select is not None else None,
        ignore=tuple(_strings(table.get("ignore", []), "ignore", path)),
        exclude=tuple(_strings(table.get("exclude", []), "exclude", path)),
        extra_blocking=dict(extra),
        gather_safe=tuple(_strings(table.get("gather-safe", []), "gather-safe", path)),
        http_client=client,
        httpx_default_timeout=bool(table.get("httpx-default-timeout", False)),
        unsafe_fixes=bool(table.get("unsafe-fixes", False)),
        include_tests=bool(table.get("include-tests", False)),
        source=path,
    )


def _strings(value: Any, key: str, path: Path) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{path}: {key} must be a list of strings")
    return value
