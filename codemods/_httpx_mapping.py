"""requests-to-httpx's mapping tables, read from ``requests_httpx.toml`` beside this file."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


@dataclass(frozen=True, slots=True)
class HttpxMapping:
    functions: Mapping[str, str]  # requests callable -> AsyncClient method
    session_methods: frozenset[str]
    session_constructors: frozenset[str]
    arguments: Mapping[str, str]
    response: Mapping[str, str]
    exceptions: Mapping[str, tuple[str, ...]]  # requests exception -> httpx names
    auth: Mapping[str, str]

    def table(self) -> str:
        """The mapping as Markdown, for ``unjam explain``."""
        rows = ["| requests | httpx |", "|---|---|"]
        rows += [
            f"| `{name}(...)` | `await client.{method}(...)` |"
            for name, method in self.functions.items()
            if name.startswith("requests.") and ".api." not in name
        ]
        for argument, how in self.arguments.items():
            shown = {
                "keep": f"`{argument}=` (same)",
                "client": f"`{argument}=` on `AsyncClient(...)`",
                "drop-if-false": f"`{argument}=False` dropped; `True` is refused",
            }.get(how, f"`{how}=`")
            rows.append(f"| `{argument}=` | {shown} |")
        for attribute, how in self.response.items():
            shown = {
                "keep": f"`response.{attribute}` (same)",
                "str": f"`str(response.{attribute})`",
                "refuse": "left for a human (no exact counterpart)",
            }.get(how, f"`response.{how}`")
            rows.append(f"| `response.{attribute}` | {shown} |")
        for exception, names in self.exceptions.items():
            if exception.startswith("requests.exceptions."):
                continue
            rows.append(f"| `except {exception}` | `except {_tuple(names)}` |")
        rows += [f"| `{name}(...)` | `httpx.{twin}(...)` |" for name, twin in self.auth.items()]
        return "\n".join(rows)


def _tuple(names: tuple[str, ...]) -> str:
    spelled = [f"httpx.{name}" for name in names]
    return spelled[0] if len(spelled) == 1 else "(" + ", ".join(spelled) + ")"


@cache
def mapping() -> HttpxMapping:
    text = resources.files("unjam.codemods").joinpath("requests_httpx.toml").read_text("utf-8")
    data = tomllib.loads(text)
    session = data["session-methods"]
    return HttpxMapping(
        functions=dict(data["functions"]),
        session_methods=frozenset(session["names"]),
        session_constructors=frozenset(session["constructors"]),
        arguments=dict(data["arguments"]),
        response=dict(data["response"]),
        exceptions={
            name: tuple(value) if isinstance(value, list) else (value,)
            for name, value in data["exceptions"].items()
        },
        auth=dict(data["auth"]),
    )
