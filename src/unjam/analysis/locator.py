"""Where things are, for the analyser: two ways to know, one interface.

``AstLocator`` pairs libcst nodes with CPython's (cheap; see ``positions``).
``ProviderLocator`` asks libcst's PositionProvider (always right, costs a module
regeneration). The analyser calls ``enter`` for every node it visits, in order, and
``call`` once for every call it visits, in order.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Protocol

import libcst as cst
from libcst.metadata import CodeRange

from unjam.analysis.model import Location
from unjam.analysis.positions import (
    STATEMENT_KINDS,
    AstPositions,
    PositionMismatch,
    first_line,
)
from unjam.analysis.reuse import Unit

_ALTERNATIVES: dict[type[cst.CSTNode], tuple[type[ast.stmt], ...]] = {
    cst.FunctionDef: (ast.FunctionDef, ast.AsyncFunctionDef),
    cst.For: (ast.For, ast.AsyncFor),
    cst.With: (ast.With, ast.AsyncWith),
}


class Locator(Protocol):
    def enter(self, node: cst.CSTNode) -> None: ...
    def call(self, node: cst.Call) -> Location: ...
    def statement(self) -> Location: ...
    def lines(self) -> tuple[int, int]: ...
    def definition(self, node: cst.FunctionDef | cst.ClassDef) -> Location: ...
    def decorator_lines(self, node: cst.FunctionDef) -> list[int]: ...
    def comments(self) -> dict[int, str]: ...
    def comment_line(self, node: cst.Comment) -> int | None: ...


def callee_name(func: cst.BaseExpression) -> str | None:
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return None


class AstLocator:
    def __init__(self, positions: AstPositions) -> None:
        self.positions = positions
        self.calls_seen = 0
        self.statements_seen = 0
        self.current: ast.stmt | None = None
        self.definitions: dict[int, ast.stmt] = {}
        self.entered: dict[int, ast.stmt] = {}  # id(libcst statement) -> CPython's

    def enter(self, node: cst.CSTNode) -> None:
        kind = type(node)
        if kind not in STATEMENT_KINDS:
            return
        statement = self.positions.statement(self.statements_seen, STATEMENT_KINDS[kind])
        alternatives = _ALTERNATIVES.get(kind)
        if alternatives is not None and not isinstance(statement, alternatives):
            raise PositionMismatch(f"{kind.__name__} paired with {type(statement).__name__}")
        self.statements_seen += 1
        self.current = statement
        self.entered[id(node)] = statement
        if kind in (cst.FunctionDef, cst.ClassDef):
            self.definitions[id(node)] = statement

    def call(self, node: cst.Call) -> Location:
        location = self.positions.call(self.calls_seen, callee_name(node.func))
        self.calls_seen += 1
        return location

    def statement(self) -> Location:
        if self.current is None:
            raise PositionMismatch("no statement entered")
        return self.positions.location(self.current)

    def lines(self) -> tuple[int, int]:
        """First and last line of the statement entered last."""
        if self.current is None:
            raise PositionMismatch("no statement entered")
        return self.current.lineno, self.current.end_lineno or self.current.lineno

    def definition(self, node: cst.FunctionDef | cst.ClassDef) -> Location:
        statement = self.definitions.get(id(node))
        if statement is None:
            raise PositionMismatch("definition not entered")
        keyword = "class" if isinstance(node, cst.ClassDef) else "def"
        return self.positions.name_after_keyword(statement, keyword, node.name.value)

    def decorator_lines(self, node: cst.FunctionDef) -> list[int]:
        statement = self.definitions.get(id(node))
        if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            raise PositionMismatch("decorators of a definition not entered")
        return [decorator.lineno for decorator in statement.decorator_list]

    def comments(self) -> dict[int, str]:
        return self.positions.comments

    def comment_line(self, node: cst.Comment) -> int | None:
        return None

    def finish(self) -> None:
        self.positions.check_complete(self.calls_seen, self.statements_seen)

    def statement_at(self, index: int) -> ast.stmt:
        return self.positions.statement(index, None)

    def skip(self, statement: cst.FunctionDef | cst.ClassDef, unit: Unit) -> int:
        """Pass over a statement carried over from an earlier analysis (see ``reuse``):
        its statements and calls, checked at both ends. Returns how many lines down from
        where the unit was it now stands."""
        first = self.statement_at(self.statements_seen)
        kinds = (ast.ClassDef,) if unit.is_class else (ast.FunctionDef, ast.AsyncFunctionDef)
        if not isinstance(first, kinds) or first.name != unit.name:
            raise PositionMismatch(f"carried-over {unit.name} is not at its statement")
        lines = first_line(first) - unit.first_line
        last = self.statement_at(self.statements_seen + unit.statements - 1)
        if last.lineno != unit.last_line + lines:
            raise PositionMismatch(f"carried-over {unit.name} ends elsewhere")
        self.entered[id(statement)] = first
        self.statements_seen += unit.statements
        self.calls_seen += len(unit.calls)
        self.current = last
        return lines

    def first_lines(self, module: cst.Module) -> tuple[int, ...]:
        """The line each of the module's statements starts on (its first decorator's,
        for a decorated definition); empty when one was not entered."""
        found = []
        for statement in module.body:
            head = (
                statement.body[0] if isinstance(statement, cst.SimpleStatementLine) else statement
            )
            entered = self.entered.get(id(head))
            if entered is None:
                return ()
            found.append(first_line(entered))
        return tuple(found)


class ProviderLocator:
    def __init__(self, positions: Mapping[cst.CSTNode, CodeRange]) -> None:
        self.positions = positions
        self.current: cst.CSTNode | None = None

    def _at(self, node: cst.CSTNode) -> Location:
        start = self.positions[node].start
        return Location(start.line, start.column + 1)

    def enter(self, node: cst.CSTNode) -> None:
        if type(node) in STATEMENT_KINDS:
            self.current = node

    def call(self, node: cst.Call) -> Location:
        return self._at(node)

    def statement(self) -> Location:
        assert self.current is not None
        return self._at(self.current)

    def lines(self) -> tuple[int, int]:
        assert self.current is not None
        position = self.positions[self.current]
        return position.start.line, position.end.line

    def definition(self, node: cst.FunctionDef | cst.ClassDef) -> Location:
        return self._at(node.name)

    def decorator_lines(self, node: cst.FunctionDef) -> list[int]:
        return [self._at(decorator.decorator).line for decorator in node.decorators]

    def comments(self) -> dict[int, str]:
        return {}

    def comment_line(self, node: cst.Comment) -> int | None:
        return self._at(node).line
