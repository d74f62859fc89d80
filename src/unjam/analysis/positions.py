"""Where calls and definitions are, without regenerating the module.

libcst's ``PositionProvider`` writes the whole module back out to learn every node's
position: about twice the cost of parsing it, for the few dozen positions the analysis
reports. CPython's parser records positions on every call and statement, in UTF-8 byte
columns. Both trees list calls and statements in the same source order, so the n-th
libcst call is the n-th CPython call; each pair is checked (same callee name) and any
disagreement makes the caller fall back to ``PositionProvider`` for that file, so the
result is the same either way. A test compares both on awkward sources.
"""

from __future__ import annotations

import ast
import io
import itertools
import tokenize
from collections.abc import Iterator

from unjam.analysis.model import Location
from unjam.pipeline.source import source_lines


class PositionMismatch(Exception):
    """The two parsers disagree on this file: use libcst's own positions."""


def ordered_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements in source order, nested ones right after their parent's header.

    Iterative: the recursive generator passed each statement up through one generator
    per level of nesting, a third of summarising a file."""
    stack: list[Iterator[ast.stmt]] = [iter(body)]
    while stack:
        for statement in stack[-1]:
            yield statement
            if _HAS_BLOCKS.get(type(statement), True):
                blocks = blocks_of(statement)
                if blocks is not None:
                    stack.append(blocks)
                    break
        else:
            stack.pop()


#: Statement types that never hold a block (filled in as they are met).
_HAS_BLOCKS: dict[type, bool] = {}
_BLOCK_FIELDS = frozenset({"body", "cases", "handlers", "orelse", "finalbody"})


def blocks_of(statement: ast.stmt) -> Iterator[ast.stmt] | None:
    """The statement's blocks in source order: body, match cases, except handlers,
    else and finally."""
    kind = type(statement)
    if kind not in _HAS_BLOCKS:
        _HAS_BLOCKS[kind] = not _BLOCK_FIELDS.isdisjoint(kind._fields)
        if not _HAS_BLOCKS[kind]:
            return None
    blocks: list[list[ast.stmt]] = []
    body = getattr(statement, "body", None)
    if isinstance(body, list):
        blocks.append(body)
    if isinstance(statement, ast.Match):
        blocks.extend(case.body for case in statement.cases)
    blocks.extend(handler.body for handler in getattr(statement, "handlers", None) or ())
    blocks.append(getattr(statement, "orelse", None) or [])
    blocks.append(getattr(statement, "finalbody", None) or [])
    return itertools.chain.from_iterable(blocks)


def first_line(statement: ast.stmt) -> int:
    """The line a statement starts on: its first decorator's, for a decorated one."""
    decorators: list[ast.expr] = getattr(statement, "decorator_list", None) or []
    return min((d.lineno for d in decorators), default=statement.lineno)


def callee_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def calls_in(tree: ast.AST) -> list[ast.Call]:
    """Every call in ``tree``, in no particular order: what ``ast.walk`` finds, at a
    third of its cost (no generator per node, no ``ctx`` singletons)."""
    calls: list[ast.Call] = []
    stack: list[object] = [tree]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        node = pop()
        kind = type(node)
        if kind is ast.Call:
            calls.append(node)  # type: ignore[arg-type]
        fields = _CHILD_FIELDS.get(kind)
        if fields is None:
            names = getattr(kind, "_fields", ())
            fields = _CHILD_FIELDS[kind] = tuple(name for name in names if name != "ctx")
        for name in fields:
            value = getattr(node, name, None)
            if type(value) is list:
                extend(value)  # strings and None too (``Global.names``, ``Dict.keys``)
            elif isinstance(value, ast.AST):
                push(value)
    return calls


#: A node type's fields that may hold nodes (an empty tuple for anything else).
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


class AstPositions:
    """Positions of calls and statements, by their order in the source."""

    def __init__(self, tree: ast.Module, text: str) -> None:
        self.lines = source_lines(text)
        calls = calls_in(tree)
        calls.sort(
            key=lambda c: (c.lineno, c.col_offset, -(c.end_lineno or 0), -(c.end_col_offset or 0))
        )
        self.calls = calls
        self.statements = list(ordered_statements(tree.body))
        self.comments = _suppression_comment_lines(text) if "unjam" in text else {}

    def column(self, line: int, byte_offset: int) -> int:
        """1-based character column of a UTF-8 byte offset on a 1-based line."""
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return len(text.encode("utf-8")[:byte_offset].decode("utf-8", errors="replace")) + 1

    def call(self, index: int, name: str | None) -> Location:
        if index >= len(self.calls):
            raise PositionMismatch(f"call {index} beyond {len(self.calls)}")
        node = self.calls[index]
        if callee_name(node.func) != name:
            raise PositionMismatch(f"call {index}: {callee_name(node.func)!r} != {name!r}")
        return Location(node.lineno, self.column(node.lineno, node.col_offset))

    def statement(self, index: int, kind: type[ast.stmt] | None) -> ast.stmt:
        if index >= len(self.statements):
            raise PositionMismatch(f"statement {index} beyond {len(self.statements)}")
        node = self.statements[index]
        if kind is not None and not isinstance(node, kind):
            raise PositionMismatch(f"statement {index}: {type(node).__name__} != {kind.__name__}")
        return node

    def location(self, node: ast.stmt | ast.expr) -> Location:
        return Location(node.lineno, self.column(node.lineno, node.col_offset))

    def name_after_keyword(self, node: ast.stmt, keyword: str, name: str) -> Location:
        """Where ``name`` stands after ``def``/``class`` on the statement's line."""
        line = self.lines[node.lineno - 1]
        start = len(line.encode("utf-8")[: node.col_offset].decode("utf-8", errors="replace"))
        at = line.find(keyword, start)
        at = line.find(name, at + len(keyword)) if at >= 0 else -1
        if at < 0:
            raise PositionMismatch(f"{keyword} {name} not on line {node.lineno}")
        return Location(node.lineno, at + 1)

    def check_complete(self, calls_seen: int, statements_seen: int) -> None:
        if calls_seen != len(self.calls) or statements_seen != len(self.statements):
            raise PositionMismatch(
                f"saw {calls_seen} calls / {statements_seen} statements, "
                f"CPython has {len(self.calls)} / {len(self.statements)}"
            )


def _suppression_comment_lines(text: str) -> dict[int, str]:
    """Line -> comment text, for comments only (not strings that look like one)."""
    found: dict[int, str] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT and "unjam" in token.string:
                found[token.start[0]] = token.string
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    return found


def _statement_kinds() -> dict[type[object], type[ast.stmt] | None]:
    """libcst statement node type -> the CPython statement type it must pair with."""
    import libcst as cst

    pairs: dict[type[object], type[ast.stmt] | None] = {
        cst.Expr: ast.Expr,
        cst.Assign: ast.Assign,
        cst.AnnAssign: ast.AnnAssign,
        cst.AugAssign: ast.AugAssign,
        cst.Return: ast.Return,
        cst.Raise: ast.Raise,
        cst.Pass: ast.Pass,
        cst.Break: ast.Break,
        cst.Continue: ast.Continue,
        cst.Del: ast.Delete,
        cst.Import: ast.Import,
        cst.ImportFrom: ast.ImportFrom,
        cst.Global: ast.Global,
        cst.Nonlocal: ast.Nonlocal,
        cst.Assert: ast.Assert,
        cst.FunctionDef: None,  # ast.FunctionDef or ast.AsyncFunctionDef
        cst.ClassDef: ast.ClassDef,
        cst.If: ast.If,
        cst.While: ast.While,
        cst.For: None,  # ast.For or ast.AsyncFor
        cst.With: None,  # ast.With or ast.AsyncWith
        cst.Try: ast.Try,
        cst.Match: ast.Match,
    }
    if hasattr(cst, "TryStar") and hasattr(ast, "TryStar"):
        pairs[cst.TryStar] = ast.TryStar
    if hasattr(cst, "TypeAlias") and hasattr(ast, "TypeAlias"):
        pairs[cst.TypeAlias] = ast.TypeAlias
    return pairs


STATEMENT_KINDS = _statement_kinds()
