"""Facts of statements a rewrite left alone, carried over instead of analysed again.

After a pass rewrites a module, the next pass needs the analysis of the new code. Most
top-level functions and classes are the very nodes they were (libcst rebuilds only what
changed), and their facts are the same but for where they now stand: every line moved
by as many lines as the statement did, every call index by as many calls as were added
before it. ``requests-to-httpx`` changes a few routes of a module and adds a line at
its top; analysing the whole module again cost about a fifth of rewriting it.

A statement is carried over (a ``Unit``) only when nothing it could name changed: no
statement that was added, removed or changed mentions a word it mentions, and it holds
no ``global`` (which would bind a module name from inside it). The analysis then walks
a copy of the module where each carried statement is a stub that binds its name
(``def name(): pass``), so the scopes it resolves names with are those of the whole
module. Where CPython's positions disagree with what was carried, the caller analyses
the whole module again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

import libcst as cst
import libcst.matchers as m

from unjam.analysis.model import (
    CallSite,
    ClassFacts,
    Effect,
    FunctionFacts,
    Inclusion,
    Location,
    PendingEffect,
    Reference,
    Registration,
    RouterDef,
)

_WORD = re.compile(r"\w+")
#: Words that make a statement's bindings reach beyond it.
_BINDS_GLOBALLY = frozenset({"global"})


#: The analyser's lists a statement adds to, each a field of ``Unit`` by the same name.
FACT_LISTS = (
    "functions",
    "registrations",
    "candidates",
    "routers",
    "inclusions",
    "references",
    "classes",
    "candidate_routers",
)


@dataclass(frozen=True, slots=True)
class Unit:
    """What analysing one top-level ``def`` or ``class`` produced, and where it stood."""

    name: str
    is_class: bool
    first_line: int  # the line it starts on (its first decorator's)
    last_line: int  # the first line of the last statement in it
    statements: int  # statements in it (itself included), as CPython counts them
    first_call: int  # index of its first call among the module's
    calls: tuple[int, ...]  # ``id`` of each of its calls, in order
    withs: tuple[tuple[int, tuple[int, int]], ...]  # ``id(With)`` -> its lines
    function_names: tuple[tuple[int, str], ...]  # ``id(FunctionDef)`` -> qualified name
    functions: tuple[FunctionFacts, ...]
    registrations: tuple[Registration, ...]
    candidates: tuple[Registration, ...]
    routers: tuple[RouterDef, ...]
    inclusions: tuple[Inclusion, ...]
    references: tuple[Reference, ...]
    classes: tuple[ClassFacts, ...]
    candidate_routers: tuple[RouterDef, ...]

    def moved(self, lines: int, first_call: int) -> Unit:
        """The same statement ``lines`` further down, its calls numbered from
        ``first_call``."""
        calls = first_call - self.first_call
        if not lines and not calls:
            return self
        return replace(
            self,
            first_line=self.first_line + lines,
            last_line=self.last_line + lines,
            first_call=first_call,
            withs=tuple((key, (a + lines, b + lines)) for key, (a, b) in self.withs),
            functions=tuple(_function(f, lines, calls) for f in self.functions),
            registrations=tuple(_at(r, lines) for r in self.registrations),
            candidates=tuple(_at(r, lines) for r in self.candidates),
            routers=tuple(_at(r, lines) for r in self.routers),
            references=tuple(_at(r, lines) for r in self.references),
            candidate_routers=tuple(_at(r, lines) for r in self.candidate_routers),
        )


def _location(location: Location, lines: int) -> Location:
    return Location(location.line + lines, location.column)


_Placed = TypeVar("_Placed", Registration, RouterDef, Reference)


def _at(fact: _Placed, lines: int) -> _Placed:
    return replace(fact, location=_location(fact.location, lines))


def _call(index: int, calls: int) -> int:
    return index + calls if index >= 0 else index


def _function(facts: FunctionFacts, lines: int, calls: int) -> FunctionFacts:
    def effect(e: Effect) -> Effect:
        return replace(e, location=_location(e.location, lines), call=_call(e.call, calls))

    def pending(p: PendingEffect) -> PendingEffect:
        return replace(p, location=_location(p.location, lines), call=_call(p.call, calls))

    def site(c: CallSite) -> CallSite:
        return replace(c, location=_location(c.location, lines), call=_call(c.call, calls))

    return replace(
        facts,
        location=_location(facts.location, lines),
        effects=tuple(effect(e) for e in facts.effects),
        pending=tuple(pending(p) for p in facts.pending),
        calls=tuple(site(c) for c in facts.calls),
        nested_async_generators=tuple(line + lines for line in facts.nested_async_generators),
    )


StatementText = Callable[[cst.Module, cst.BaseStatement], str | None]


def carried_over(
    units: dict[int, Unit], before: cst.Module, after: cst.Module, text: StatementText
) -> dict[int, Unit]:
    """The units of ``before`` that ``after`` still holds and that can be carried over,
    by ``id`` of the statement. ``text``: a statement's source, or None when it is not
    at hand (the statement is then analysed again).

    What a rewrite changed may bind names: every name in a changed statement counts
    (only its own name for a ``def`` or class, unless it declares ``global``). A unit
    is carried when no word of its text, comments and strings included, is one of them.
    """
    if not units or (before.default_newline, before.default_indent) != (
        after.default_newline,
        after.default_indent,
    ):
        return {}
    kept = {id(statement) for statement in before.body} & {id(s) for s in after.body}
    if not kept.intersection(units):  # a fresh parse (``diff``): nothing to carry
        return {}
    changed: set[str] = set()
    for module in (before, after):
        for statement in module.body:
            if id(statement) in kept:
                continue
            if _star_import(statement):
                return {}
            if isinstance(statement, cst.FunctionDef | cst.ClassDef):
                words = _words(text(module, statement))
                if words is not None and not words & _BINDS_GLOBALLY:
                    changed.add(statement.name.value)  # what it binds at module level
                    continue
            changed |= _names(statement)
    found: dict[int, Unit] = {}
    for statement in after.body:
        unit = units.get(id(statement))
        if unit is None or id(statement) not in kept:
            continue
        words = _words(text(after, statement))
        if words is None or words & _BINDS_GLOBALLY or words & changed:
            continue
        found[id(statement)] = unit
    return found


def _words(text: str | None) -> set[str] | None:
    return None if text is None else set(_WORD.findall(text))


def _names(statement: cst.BaseStatement) -> set[str]:
    """Every name in the statement's code (not its comments or strings)."""
    return {name.value for name in m.findall(statement, m.Name()) if isinstance(name, cst.Name)}


def _star_import(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and any(
        isinstance(small, cst.ImportFrom) and isinstance(small.names, cst.ImportStar)
        for small in statement.body
    )


def stub(statement: cst.FunctionDef | cst.ClassDef) -> cst.FunctionDef | cst.ClassDef:
    """A statement binding the same module-level name, and nothing else.

    Stubs share their whitespace, parameters and body with one prototype: building a
    ``def`` from scratch made every whitespace node anew (33 us a stub, 15 us as a
    copy; stubs were about a ninth of analysing a rewritten module again on the bench
    tree). Only the analysis walks them, and it does not look inside a stub."""
    prototype = _CLASS_STUB if isinstance(statement, cst.ClassDef) else _FUNCTION_STUB
    return prototype.with_changes(name=cst.Name(statement.name.value))


_STUB_BODY = cst.SimpleStatementSuite([cst.Pass()])
_CLASS_STUB = cst.ClassDef(name=cst.Name("stub"), body=_STUB_BODY)
_FUNCTION_STUB = cst.FunctionDef(name=cst.Name("stub"), params=cst.Parameters(), body=_STUB_BODY)
