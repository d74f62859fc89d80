"""The blocking-call catalog, loaded from ``blocking.toml`` beside this module.

The catalog is data so that teams can read what unjam treats as blocking, and extend it
(``[tool.unjam] extra-blocking``) without touching code.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

#: Categories that describe a stall of the event loop. Anything else is an effect.
BLOCKING_CATEGORIES = frozenset(
    {
        "sleep",
        "http",
        "network",
        "file",
        "subprocess",
        "database",
        "cpu",
        "console",
        "lock",
        "other",
    }
)
LOOP = "loop"
CONTEXTVAR = "contextvar"
#: What a context manager's ``__exit__`` calls, for the catalog's types.
EXIT_METHODS = ("close", "quit", "commit")
#: A write to state other requests share: module globals, imported objects, ``self``.
SHARED = "shared-state"
#: Use of a module-level object that works only in the thread that made it.
THREAD_AFFINE = "thread-affine"
#: A change to a module-level object (name: its qualified name).
MUTATES = "mutates"
#: A read of a module-level object bound by an assignment or imported (qualified name).
READS_SHARED = "reads-shared"
#: A client made from a library's default session, which threads must not share.
DEFAULT_SESSION = "default-session"


@dataclass(frozen=True, slots=True)
class CallRule:
    """What the catalog knows about one callable."""

    category: str | None = None
    twin: str | None = None
    returns: str | None = None


@dataclass(frozen=True, slots=True)
class TypeRule:
    """What the catalog knows about values of one type."""

    name: str
    category: str | None = None
    blocking: frozenset[str] = frozenset()
    returns: Mapping[str, str] = field(default_factory=dict)
    attributes: Mapping[str, str] = field(default_factory=dict)
    attribute: str | None = None
    called: str | None = None
    divided: str | None = None  # the type of ``value / other`` (``Path / "name"``)
    thread_affine: bool = False

    def method_blocks(self, method: str) -> bool:
        if method in self.blocking:
            return True
        return "*" in self.blocking and not method.startswith("_")


@dataclass(frozen=True, slots=True)
class Catalog:
    """Callables and types by qualified name; types are keyed by every spelling."""

    calls: Mapping[str, CallRule]
    types: Mapping[str, TypeRule]
    lazy: frozenset[str] = frozenset()
    pruned: frozenset[str] = frozenset()
    #: Calls that make a client from a shared default session (``boto3.client``).
    default_session: frozenset[str] = frozenset()
    #: Calls cheaper than a thread hop, and why: not blocking (see ``[cheap]``).
    cheap: Mapping[str, str] = field(default_factory=dict)

    def call(self, qualified_name: str) -> CallRule | None:
        return self.calls.get(qualified_name)

    def type(self, qualified_name: str) -> TypeRule | None:
        return self.types.get(qualified_name)

    def thread_affine(self, effect_name: str) -> bool:
        """Whether a blocking call makes or uses an object that works only in the thread
        that made it (``sqlite3.connect``, ``sqlite3.Connection.execute``)."""
        call = self.calls.get(effect_name)
        made = self.types.get(call.returns) if call is not None and call.returns else None
        used = self.types.get(effect_name.rpartition(".")[0])
        return any(rule is not None and rule.thread_affine for rule in (made, used))

    def exit_blocks(self, type_name: str) -> bool:
        """Whether leaving a ``with`` block on a value of this type blocks: its
        ``__exit__`` closes a file or connection, quits a session or commits."""
        rule = self.types.get(type_name)
        return (
            rule is not None
            and rule.category is not None
            and any(rule.method_blocks(method) for method in EXIT_METHODS)
        )

    def returned_type(self, call_name: str) -> str | None:
        """The catalog type a catalog callable returns (``builtins.open`` -> file)."""
        rule = self.calls.get(call_name)
        return rule.returns if rule is not None else None

    def with_extra(self, extra: Mapping[str, str]) -> Catalog:
        """A catalog that also treats ``extra`` (qualified name -> category) as blocking.

        ``vendor.Client.*`` makes every public method of ``vendor.Client`` block;
        ``vendor.pdf.Renderer.render`` makes that callable block, and the method
        ``render`` of values of type ``vendor.pdf.Renderer`` (made by calling it, or
        annotated with it). A name that is a function, not a class, only gains a method
        on a type no value ever has."""
        if not extra:
            return self
        calls = dict(self.calls)
        types = dict(self.types)
        for name, category in extra.items():
            owner, _, method = name.rpartition(".")
            if method != "*":
                previous = calls.get(name, CallRule())
                calls[name] = CallRule(
                    category=category, twin=previous.twin, returns=previous.returns
                )
            if not owner:
                continue
            known = types.get(owner)
            rule = (
                replace(
                    known, blocking=known.blocking | {method}, category=known.category or category
                )
                if known is not None
                else TypeRule(name=owner, category=category, blocking=frozenset({method}))
            )
            for spelling in (
                [owner] if known is None else [k for k, v in types.items() if v is known]
            ):
                types[spelling] = rule
        return Catalog(
            calls=calls,
            types=types,
            lazy=self.lazy,
            pruned=self.pruned,
            cheap=self.cheap,
            default_session=self.default_session,
        )


def _merge_call(old: CallRule | None, new: CallRule) -> CallRule:
    if old is None:
        return new
    return CallRule(
        category=new.category or old.category,
        twin=new.twin or old.twin,
        returns=new.returns or old.returns,
    )


def parse_catalog(document: Mapping[str, object]) -> Catalog:
    calls: dict[str, CallRule] = {}
    for entry in _tables(document.get("calls", [])):
        rule = CallRule(
            category=entry.get("category"), twin=entry.get("twin"), returns=entry.get("returns")
        )
        for name in entry["names"]:
            calls[name] = _merge_call(calls.get(name), rule)
    types: dict[str, TypeRule] = {}
    for entry in _tables(document.get("types", [])):
        names = list(entry["names"])
        type_rule = TypeRule(
            name=names[0],
            category=entry.get("category"),
            blocking=frozenset(entry.get("blocking", ())),
            returns=dict(entry.get("returns", {})),
            attributes=dict(entry.get("attributes", {})),
            attribute=entry.get("attribute"),
            called=entry.get("called"),
            divided=entry.get("divided"),
            thread_affine=bool(entry.get("thread-affine", False)),
        )
        for name in names:
            types[name] = type_rule
    cheap = _table(document, "cheap")
    for name in cheap:
        if name in calls:
            calls[name] = replace(calls[name], category=None)
        owner, _, method = name.rpartition(".")
        known = types.get(owner)
        if known is not None and method in known.blocking:
            trimmed = replace(known, blocking=known.blocking - {method})
            for spelling in [key for key, value in types.items() if value is known]:
                types[spelling] = trimmed
    lazy = _table(document, "lazy")
    return Catalog(
        calls=calls,
        types=types,
        lazy=frozenset(lazy.get("names", ())),
        pruned=frozenset(lazy.get("pruned", ())),
        cheap={str(name): str(why) for name, why in cheap.items()},
        default_session=frozenset(_table(document, "default-session").get("names", ())),
    )


def _table(document: Mapping[str, object], name: str) -> Mapping[str, Any]:
    value = document.get(name, {})
    if not isinstance(value, dict):
        raise ValueError(f"catalog section {name} must be a table")
    return value


def _tables(value: object) -> Iterable[dict[str, Any]]:
    if not isinstance(value, list):
        raise ValueError("catalog sections must be arrays of tables")
    return value


@cache
def default_catalog() -> Catalog:
    text = resources.files("unjam.analysis").joinpath("blocking.toml").read_text("utf-8")
    return parse_catalog(tomllib.loads(text))


def is_blocking(category: str | None) -> bool:
    return category is not None and category in BLOCKING_CATEGORIES
