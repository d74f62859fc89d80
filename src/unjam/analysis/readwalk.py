"""A read-only traversal for libcst visitors, without rebuilding the tree.

libcst visits a node by calling its ``_visit_and_replace_children``, which constructs a
new copy of every node (with validation) even for a ``CSTVisitor`` that cannot change
anything; the copy is then thrown away. Its own source says so ("TODO: provide traversal
where children are not replaced"). On a route module that copy was two thirds of every
analysis walk, and an analysis is three walks (libcst's ExpressionContextProvider and
ScopeProvider, then unjam's own), not counting the helpers the codemods run per function.

``read_only_walks()`` makes ``CSTNode.visit`` take a shortcut for visitors while it is
active: the same ``on_visit``/``on_visit_attribute``/``on_leave_attribute``/``on_leave``
calls, on the same nodes, in the same order, with no copies. Transformers still go through
libcst. The order of each node type's fields is read once from libcst's own
``_visit_and_replace_children``, so it follows the installed libcst; before the shortcut is
used at all, it is checked against libcst's traversal on a sample module covering the
grammar, and if anything differs libcst's traversal is kept.

libcst also lists a batchable visitor's ``visit_*``/``leave_*`` methods with
``inspect.getmembers`` each time metadata is resolved, which on a class with a method per
node type costs milliseconds; the names are the same for every instance of a class, so
they are cached per class.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import libcst as cst
from libcst._batched_visitor import BatchableCSTVisitor
from libcst._nodes.base import CSTNode

#: libcst's helpers that visit one field; the field's name is their second argument.
_FIELD_VISITS = frozenset(
    {
        "visit_required",
        "visit_optional",
        "visit_sentinel",
        "visit_sequence",
        "visit_iterable",
        "visit_body_sequence",
        "visit_body_iterable",
    }
)


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    #: libcst visits the field only when it is not None (no attribute hooks otherwise).
    only_when_set: bool


def _fields_of(node_type: type[CSTNode]) -> tuple[_Field, ...] | None:
    """The fields ``_visit_and_replace_children`` visits, in its order, or None if its
    source cannot be read (libcst's traversal is used for that type then)."""
    try:
        source = textwrap.dedent(inspect.getsource(node_type._visit_and_replace_children))
    except (OSError, TypeError):
        return None
    conditional: set[str] = set()
    calls: list[tuple[int, int, str]] = []
    for found in ast.walk(ast.parse(source)):
        if isinstance(found, ast.IfExp):
            for branch in (found.body, found.orelse):
                name = _visited_field(branch)
                other = found.orelse if branch is found.body else found.body
                if name is not None and _visited_field(other) is None:
                    conditional.add(name)
        if isinstance(found, ast.Call) and (name := _visited_field(found)) is not None:
            calls.append((found.lineno, found.col_offset, name))
    fields: list[_Field] = []
    for _, _, name in sorted(calls):
        if all(field.name != name for field in fields):
            fields.append(_Field(name, name in conditional))
    return tuple(fields)


def _visited_field(expression: ast.AST) -> str | None:
    if (
        isinstance(expression, ast.Call)
        and isinstance(expression.func, ast.Name)
        and expression.func.id in _FIELD_VISITS
        and len(expression.args) >= 2
        and isinstance(expression.args[1], ast.Constant)
        and isinstance(expression.args[1].value, str)
    ):
        return expression.args[1].value
    return None


_ORIGINAL_VISIT = CSTNode.visit
_ORIGINAL_GET_VISITORS = BatchableCSTVisitor.get_visitors
_ORDER: dict[type[CSTNode], tuple[_Field, ...] | None] = {}


def _walk(node: CSTNode, visitor: cst.CSTVisitor) -> None:
    node_type = type(node)
    if node_type in _ORDER:
        fields = _ORDER[node_type]
    else:
        fields = _ORDER[node_type] = _fields_of(node_type)
    if fields is None:
        _ORIGINAL_VISIT(node, visitor)
        return
    if visitor.on_visit(node):
        for field in fields:
            value = getattr(node, field.name)
            if value is None and field.only_when_set:
                continue
            visitor.on_visit_attribute(node, field.name)
            if isinstance(value, CSTNode):
                _walk(value, visitor)
            elif isinstance(value, (tuple, list)):
                for child in value:
                    _walk(child, visitor)
            visitor.on_leave_attribute(node, field.name)
    visitor.on_leave(node)


_LOCK = threading.RLock()
_depth = 0
_verified: bool | None = None


@contextmanager
def read_only_walks() -> Iterator[None]:
    """While active (and verified), visitors walk without copying. Re-entrant; the
    lock keeps another thread from seeing libcst half patched."""
    global _depth
    with _LOCK:
        if not _usable():
            yield
            return
        if _depth == 0:
            CSTNode.visit = _shortcut  # type: ignore[method-assign]
            BatchableCSTVisitor.get_visitors = _cached_get_visitors  # type: ignore[method-assign]
        _depth += 1
        try:
            yield
        finally:
            _depth -= 1
            if _depth == 0:
                CSTNode.visit = _ORIGINAL_VISIT  # type: ignore[method-assign]
                BatchableCSTVisitor.get_visitors = _ORIGINAL_GET_VISITORS  # type: ignore[method-assign]


def _shortcut(self: CSTNode, visitor: Any) -> Any:
    if isinstance(visitor, cst.CSTVisitor):
        _walk(self, visitor)
        return self
    return _ORIGINAL_VISIT(self, visitor)


_VISITOR_NAMES: dict[type[BatchableCSTVisitor], tuple[str, ...]] = {}


def _cached_get_visitors(self: BatchableCSTVisitor) -> Mapping[str, Any]:
    names = _VISITOR_NAMES.get(type(self))
    if names is None:
        found = _ORIGINAL_GET_VISITORS(self)
        _VISITOR_NAMES[type(self)] = tuple(found)
        return found
    return {name: getattr(self, name) for name in names}


#: Covers every statement and expression form the analysis meets, in both parsers' eyes.
_SAMPLE = '''\
"""Doc."""
from __future__ import annotations
import os.path as p, sys
from . import (a as b, c)
from .x import *
@decorator(1, *args, key=2, **kw)
async def f(a: int, /, b=1, *c: str, d, e: "T" = (2), **g) -> None:
    global q
    nonlocal_ = lambda x, *y, z=1, **w: (x, y)
    async with open(p) as fh, other() as (u, v):
        x = await fh.read()
    async for i in aiter():
        continue
    for i, j in enumerate(s[1:2:3], start=0):
        break
    else:
        pass
    while not x and y or z:
        x += 1; y -= 1
    try:
        raise ValueError("x") from None
    except (A, B) as error:
        del x[0], y.z
    else:
        assert x, "msg"
    finally:
        return
    try:
        pass
    except* C:
        pass
    if a: pass
    elif b: yield
    else: yield from c
    with (a as b, c as d):
        print(f"{x!r:>{width}} {y=}", r"raw" 'implicit' "concat", b'x')
    t: list[int] = [i async for i in g if i] + [*a]
    s = {k: v for k, v in d.items()} | {1, 2} | {**d}
    u = (x := 3) if x > 1 else -x ** 2 // 3 @ m
    match command:
        case [Point(x=0, y=0) | {"k": _, **rest}, *others] if others:
            pass
        case str() as s:
            pass
        case _:
            pass
    return await gather(*(t async for t in h()))
class K(Base, metaclass=M):
    x: int
    def __call__(self) -> "K": return self[::2]
type Alias[T] = list[T]
def generic[T: int, *Ts, **P](x: T) -> T: ...
'''


def _usable() -> bool:
    """The shortcut's walk equals libcst's on the sample; checked once per process."""
    global _verified
    if _verified is None:
        _verified = _agrees_with_libcst()
    return _verified


class _Recorder(cst.CSTVisitor):
    def __init__(self) -> None:
        self.events: list[tuple[str, int, str]] = []

    def on_visit(self, node: CSTNode) -> bool:
        self.events.append(("visit", id(node), ""))
        return True

    def on_leave(self, original_node: CSTNode) -> None:
        self.events.append(("leave", id(original_node), ""))

    def on_visit_attribute(self, node: CSTNode, attribute: str) -> None:
        self.events.append(("visit_attribute", id(node), attribute))

    def on_leave_attribute(self, original_node: CSTNode, attribute: str) -> None:
        self.events.append(("leave_attribute", id(original_node), attribute))


def _agrees_with_libcst() -> bool:
    try:
        module = cst.parse_module(_SAMPLE)
    except cst.ParserSyntaxError:  # an older libcst without the newest syntax
        module = cst.parse_module(_SAMPLE.split("type Alias")[0])
    expected, walked = _Recorder(), _Recorder()
    _ORIGINAL_VISIT(module, expected)
    try:
        _walk(module, walked)
    except Exception:  # a libcst whose nodes this walk does not understand
        return False
    return walked.events == expected.events
