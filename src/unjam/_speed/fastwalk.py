"""libcst's traversal without the copies it throws away.

libcst visits a node by calling its ``_visit_and_replace_children``, which constructs a
new copy of every node (with validation), for a ``CSTVisitor`` that cannot change
anything as for a ``CSTTransformer`` that changes one call in a module. Its own source
says so ("TODO: provide traversal where children are not replaced"). On a route module
those copies were two thirds of every walk; an analysis is three walks (libcst's
ExpressionContextProvider and ScopeProvider, then unjam's own) and each pass at least one
more, plus the per-function helpers.

While ``fast_walks()`` is active, ``CSTNode.visit`` takes a shortcut:

- a visitor gets the same ``on_visit``/``on_visit_attribute``/``on_leave_attribute``/
  ``on_leave`` calls, on the same nodes, in the same order, and nothing is copied;
- a transformer gets the same calls too, and a node is rebuilt (with libcst's own
  validation, through ``with_changes``) only when one of its children came back
  different: a transformer that leaves a subtree alone gets the original node back as
  ``updated_node`` instead of an equal copy. Removals and flattening follow libcst's
  helpers exactly.

The order of each node type's fields, and which libcst helper visits each, is read once
from libcst's own ``_visit_and_replace_children``, so it follows the installed libcst.
Before the shortcut is used at all it is checked against libcst's traversal, for a
visitor and for transformers that rename, remove and flatten, on a sample covering the
grammar; if anything differs, libcst's traversal is kept.

libcst also lists a batchable visitor's ``visit_*``/``leave_*`` methods with
``inspect.getmembers`` each time metadata is resolved (milliseconds on a class with a
method per node type); the names are the same for every instance of a class, so they are
cached per class.
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
import threading
import typing
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import libcst as cst
from libcst import BatchableCSTVisitor, CSTNode

try:  # private to libcst: without it, batched walks call every attribute hook
    from libcst._batched_visitor import _BatchedCSTVisitor
except ImportError:  # pragma: no cover - depends on the installed libcst
    _BatchedCSTVisitor = None  # type: ignore[assignment,misc]
try:  # libcst's scope analysis, whose two walks have no hook on whitespace or punctuation
    from libcst.metadata.expression_context_provider import ExpressionContextVisitor
    from libcst.metadata.scope_provider import ScopeVisitor

    _TRIVIA_BLIND: frozenset[type] = frozenset({ExpressionContextVisitor, ScopeVisitor})
except ImportError:  # pragma: no cover - depends on the installed libcst
    _TRIVIA_BLIND = frozenset()

from unjam._speed import enabled
from unjam.analysis.walker import Walker

#: libcst's helpers that visit one node in a field.
_SINGLE = frozenset({"visit_required", "visit_optional", "visit_sentinel"})
#: ... and those that visit a sequence of nodes (the body ones drop emptied lines).
_MANY = frozenset(
    {"visit_sequence", "visit_iterable", "visit_body_sequence", "visit_body_iterable"}
)


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    #: libcst visits the field only when it is not None (no attribute hooks otherwise).
    only_when_set: bool
    #: The helper libcst uses when the field holds one node, and when it holds several.
    single: str | None = None
    many: str | None = None


def _fields_of(node_type: type[CSTNode]) -> tuple[_Field, ...] | None:
    """The fields ``_visit_and_replace_children`` visits, in its order, or None if its
    source cannot be read (libcst's traversal is used for that type then)."""
    try:
        source = textwrap.dedent(inspect.getsource(node_type._visit_and_replace_children))
    except (AttributeError, OSError, TypeError):
        return None
    conditional: set[str] = set()
    calls: list[tuple[int, int, str, str]] = []
    for found in ast.walk(ast.parse(source)):
        if isinstance(found, ast.IfExp):
            for branch, other in ((found.body, found.orelse), (found.orelse, found.body)):
                visited = _visited_field(branch)
                if visited is not None and _visited_field(other) is None:
                    conditional.add(visited[1])
        if isinstance(found, ast.Call) and (visited := _visited_field(found)) is not None:
            calls.append((found.lineno, found.col_offset, *visited))
    order: list[str] = []
    helpers: dict[str, dict[str, str]] = {}
    for _, _, helper, name in sorted(calls):
        if name not in helpers:
            order.append(name)
            helpers[name] = {}
        helpers[name]["single" if helper in _SINGLE else "many"] = helper
    return tuple(
        _Field(name, name in conditional, helpers[name].get("single"), helpers[name].get("many"))
        for name in order
    )


def _visited_field(expression: ast.AST) -> tuple[str, str] | None:
    """(helper, field) for a call like ``visit_required(self, "body", ...)``."""
    if (
        isinstance(expression, ast.Call)
        and isinstance(expression.func, ast.Name)
        and expression.func.id in _SINGLE | _MANY
        and len(expression.args) >= 2
        and isinstance(expression.args[1], ast.Constant)
        and isinstance(expression.args[1].value, str)
    ):
        return expression.func.id, expression.args[1].value
    return None


_ORIGINAL_VISIT = CSTNode.visit
_ORIGINAL_GET_VISITORS = BatchableCSTVisitor.get_visitors
_Order = dict[type[CSTNode], tuple[_Field, ...] | None]
#: Per node type, the fields libcst visits, in its order.
_ORDER: _Order = {}
#: ... without those that can only hold whitespace and punctuation.
_LEAN: _Order = {}
_DEFAULT = cst.MaybeSentinel.DEFAULT

#: Whitespace, comments and punctuation: all they hold is more of the same.
_TRIVIA: tuple[type, ...] = (
    cst.BaseParenthesizableWhitespace,  # SimpleWhitespace, ParenthesizedWhitespace
    cst.TrailingWhitespace,
    cst.EmptyLine,
    cst.Newline,
    cst.Comment,
    cst.LeftParen,
    cst.RightParen,
    cst.LeftSquareBracket,
    cst.RightSquareBracket,
    cst.LeftCurlyBrace,
    cst.RightCurlyBrace,
    cst.Comma,
    cst.Dot,
    cst.AssignEqual,
    cst.Colon,
    cst.Semicolon,
    cst.MaybeSentinel,
    type(None),
)


def is_trivia(node_type: type[CSTNode]) -> bool:
    """Whether a lean walk (``skips_trivia``) passes nodes of this type by."""
    return issubclass(node_type, _TRIVIA)


def _fields(node_type: type[CSTNode], order: _Order | None = None) -> tuple[_Field, ...] | None:
    if node_type not in _ORDER:
        _ORDER[node_type] = _fields_of(node_type)
    fields = _ORDER[node_type]
    if order is _LEAN:
        if node_type not in _LEAN:
            _LEAN[node_type] = _without_trivia(node_type, fields)
        return _LEAN[node_type]
    return fields


def _without_trivia(
    node_type: type[CSTNode], fields: tuple[_Field, ...] | None
) -> tuple[_Field, ...] | None:
    """``fields`` less those whose declared type admits only ``_TRIVIA`` (libcst's own
    annotations say so: ``lpar: Sequence[LeftParen]``, ``comma: Comma | MaybeSentinel``)."""
    if fields is None:
        return None
    try:
        declared = typing.get_type_hints(node_type)
    except Exception:  # an annotation this Python cannot evaluate: walk every field
        return fields
    return tuple(
        field
        for field in fields
        if field.name not in declared or not _only_trivia(declared[field.name])
    )


def _only_trivia(annotation: Any) -> bool:
    arguments = typing.get_args(annotation)
    if arguments:  # Sequence[...], Union[...], Optional[...]
        return all(_only_trivia(argument) for argument in arguments)
    return isinstance(annotation, type) and issubclass(annotation, _TRIVIA)


#: Per node type name, the fields a visitor has attribute hooks for; None: call them all.
_Hooks = Mapping[str, frozenset[str]] | None
_NO_HOOKS: Mapping[str, frozenset[str]] = {}
_CLASS_HOOKS: dict[type, _Hooks] = {}


def _hooks_of(visitor: Any) -> _Hooks:
    """Which ``on_visit_attribute``/``on_leave_attribute`` calls can do anything.

    libcst calls both for every field of every node; the default ones look up a
    ``visit_<Node>_<field>`` method by a formatted name, and nearly every visitor only
    has libcst's no-op stubs there. Skipped calls are the ones that would have found
    nothing to run; for hooks this cannot tell about, every call is made."""
    visitor_type = type(visitor)
    if _BatchedCSTVisitor is not None and visitor_type is _BatchedCSTVisitor:
        # its hooks are the batch's methods
        return _names_to_hooks(visitor.visitor_methods)
    if visitor_type not in _CLASS_HOOKS:
        _CLASS_HOOKS[visitor_type] = _class_hooks(visitor_type)
    return _CLASS_HOOKS[visitor_type]


def _class_hooks(visitor_type: type) -> _Hooks:
    on_visit = getattr(visitor_type, "on_visit_attribute", None)
    on_leave = getattr(visitor_type, "on_leave_attribute", None)
    if on_visit is Walker.on_visit_attribute and on_leave is Walker.on_leave_attribute:
        return _NO_HOOKS
    defaults = (cst.CSTVisitor, cst.CSTTransformer)
    if not any(
        on_visit is base.on_visit_attribute and on_leave is base.on_leave_attribute
        for base in defaults
    ):
        return None
    return _names_to_hooks(
        {
            name: None
            for name in dir(visitor_type)
            if name.startswith(("visit_", "leave_"))
            and name.count("_") >= 2
            and not getattr(getattr(visitor_type, name, None), "_is_no_op", False)
        }
    )


def _names_to_hooks(names: Mapping[str, Any]) -> _Hooks:
    hooks: dict[str, set[str]] = {}
    for name in names:
        _, _, rest = name.partition("_")
        node_type, separator, field = rest.partition("_")
        if separator:
            hooks.setdefault(node_type, set()).add(field)
    return {node_type: frozenset(fields) for node_type, fields in hooks.items()}


def _walk(node: CSTNode, visitor: cst.CSTVisitor, hooks: _Hooks, order: _Order) -> None:
    """``order``: the fields to walk per node type (``_LEAN`` leaves out whitespace and
    punctuation, for the visitors in ``_skips_trivia``)."""
    node_type = type(node)
    fields = order[node_type] if node_type in order else _fields(node_type, order)
    if fields is None:
        _ORIGINAL_VISIT(node, visitor)
        return
    if visitor.on_visit(node):
        hooked = None if hooks is None else hooks.get(node_type.__name__)
        if hooked is None and hooks is not None:  # no hooks here: the hot path
            for field in fields:
                value = getattr(node, field.name)
                if type(value) is tuple or type(value) is list:
                    for child in value:
                        _walk(child, visitor, hooks, order)
                elif value is not None and value is not _DEFAULT:
                    _walk(value, visitor, hooks, order)
        else:
            _walk_hooked(node, visitor, hooks, fields, hooked, order)
    visitor.on_leave(node)


def _walk_hooked(
    node: CSTNode,
    visitor: cst.CSTVisitor,
    hooks: _Hooks,
    fields: tuple[_Field, ...],
    hooked: frozenset[str] | None,
    order: _Order,
) -> None:
    """The children of ``node``, with the attribute hooks in ``hooked`` (None: all)."""
    for field in fields:
        value = getattr(node, field.name)
        if value is None and field.only_when_set:
            continue
        call = hooked is None or field.name in hooked
        if call:
            visitor.on_visit_attribute(node, field.name)
        if type(value) is tuple or type(value) is list:
            for child in value:
                _walk(child, visitor, hooks, order)
        elif value is not None and value is not _DEFAULT:
            _walk(value, visitor, hooks, order)
        if call:
            visitor.on_leave_attribute(node, field.name)


def _transform(node: CSTNode, transformer: cst.CSTTransformer, hooks: _Hooks, order: _Order) -> Any:
    """``order`` as in ``_walk``: a field left out keeps its value."""
    fields = _fields(type(node), order)
    if fields is None:
        return _ORIGINAL_VISIT(node, transformer)
    updated = node
    if transformer.on_visit(node):
        hooked = None if hooks is None else hooks.get(type(node).__name__, frozenset())
        changes: dict[str, Any] = {}
        for field in fields:
            value = getattr(node, field.name)
            if value is None and field.only_when_set:
                continue
            call = hooked is None or field.name in hooked
            if call:
                transformer.on_visit_attribute(node, field.name)
            if type(value) is tuple or type(value) is list:
                helper = field.many or "visit_sequence"
                new = _transform_many(value, transformer, helper, hooks, order)
            else:
                helper = field.single or "visit_required"
                new = _transform_single(value, transformer, helper, hooks, order)
            if new is not value:
                changes[field.name] = new
            if call:
                transformer.on_leave_attribute(node, field.name)
        if changes:
            updated = node.with_changes(**changes)
    result = transformer.on_leave(node, updated)
    if not isinstance(result, (CSTNode, cst.RemovalSentinel, cst.FlattenSentinel)):
        raise cst.CSTValidationError(
            "Expected a node of type CSTNode or a RemovalSentinel, "
            + f"but got a return value of {type(result).__name__}"
        )
    return result


def _transform_single(
    value: Any, transformer: Any, helper: str, hooks: _Hooks, order: _Order
) -> Any:
    """libcst's visit_required/visit_optional/visit_sentinel, returning ``value`` itself
    when the transformer kept it."""
    if value is None or value is cst.MaybeSentinel.DEFAULT:
        return value
    result = _transform(value, transformer, hooks, order)
    if isinstance(result, cst.FlattenSentinel):
        raise TypeError(
            f"We got a FlattenSentinel while visiting a {type(value).__name__}. This "
            + "node's parent does not allow for it to be it to be replaced with a "
            + "sequence."
        )
    if isinstance(result, cst.RemovalSentinel):
        if helper == "visit_optional":
            return None
        if helper == "visit_sentinel":
            return cst.MaybeSentinel.DEFAULT
        raise TypeError(
            f"We got a RemovalSentinel while visiting a {type(value).__name__}. This "
            + "node's parent does not allow it to be removed."
        )
    return result


def _transform_many(
    values: Sequence[CSTNode], transformer: Any, helper: str, hooks: _Hooks, order: _Order
) -> Any:
    """libcst's sequence helpers (the body ones drop a line a removal emptied),
    returning ``values`` itself when every child came back unchanged."""
    body = helper.startswith("visit_body")
    kept: list[CSTNode] = []
    same = True
    for child in values:
        result = _transform(child, transformer, hooks, order)
        if result is not child:
            same = False
        if isinstance(result, cst.RemovalSentinel):
            continue
        for new in result if isinstance(result, cst.FlattenSentinel) else (result,):
            if body and not child._is_removable() and new._is_removable():
                continue
            kept.append(new)
    return values if same else tuple(kept)


_LOCK = threading.RLock()
_depth = 0
_verified: bool | None = None


@contextmanager
def fast_walks() -> Iterator[None]:
    """While active (and verified), walks copy nothing they do not change. Re-entrant;
    the lock keeps another thread from seeing libcst half patched."""
    global _depth
    with _LOCK:
        if not (enabled("fastwalk") and _usable()):
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
        if isinstance(self, cst.Module) and _module_hooks_only(visitor):
            visitor.on_visit(self)  # below the module, no hook of the batch would run
            visitor.on_leave(self)
            return self
        order = _LEAN if _skips_trivia(visitor) else _ORDER
        _walk(self, visitor, _hooks_of(visitor), order)
        return self
    if isinstance(visitor, cst.CSTTransformer):
        order = _LEAN if _skips_trivia(visitor) else _ORDER
        return _transform(self, visitor, _hooks_of(visitor), order)
    return _ORIGINAL_VISIT(self, visitor)


def _module_hooks_only(visitor: cst.CSTVisitor) -> bool:
    """A batch of metadata providers whose only hooks are on the module: libcst's scope
    and expression-context providers each walk the module with a visitor of their own
    from ``visit_Module``, after which libcst's batch walked every node again to find
    no other hook to call."""
    if _BatchedCSTVisitor is None or type(visitor) is not _BatchedCSTVisitor:
        return False
    # Read defensively: a libcst that names these differently gets its full walk.
    methods = getattr(visitor, "visitor_methods", None)
    return (
        isinstance(methods, Mapping)
        and set(methods) <= {"visit_Module", "leave_Module"}
        and getattr(visitor, "before_visit", _DEFAULT) is None
        and getattr(visitor, "after_leave", _DEFAULT) is None
    )


def _skips_trivia(visitor: cst.CSTVisitor | cst.CSTTransformer) -> bool:
    """Whether nothing the visitor does concerns whitespace, comments or punctuation
    (more than half of a module's nodes): libcst's scope analysis, and visitors and
    transformers that say so with a true ``skips_trivia``. Such a node then gets no
    ``on_visit`` and no ``on_leave`` (a transformer keeps it as it is): libcst's scope
    analysis gives it no scope, which nothing asks for."""
    return type(visitor) in _TRIVIA_BLIND or getattr(visitor, "skips_trivia", False) is True


@functools.cache
def hooks_trivia(visitor_type: type) -> bool:
    """Whether the class has a ``visit_``/``leave_`` method a walk without trivia would
    not call: one for a trivia node type, or an attribute hook (``visit_Call_lpar``),
    which may be on a field only trivia can fill. libcst's no-op stubs do not count."""
    for name in dir(visitor_type):
        if not name.startswith(("visit_", "leave_")):
            continue
        if getattr(getattr(visitor_type, name), "_is_no_op", False):
            continue
        node_type, _, field = name.partition("_")[2].partition("_")
        kind = getattr(cst, node_type, None)
        if field or (isinstance(kind, type) and issubclass(kind, _TRIVIA)):
            return True
    return False


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


def prepare_fast_walks() -> bool:
    """Check the shortcut now (reading libcst's field order costs a few hundred ms):
    a process about to fork its workers does it once for all of them."""
    return _usable()


def _usable() -> bool:
    """The shortcut's walks equal libcst's on the sample; checked once per process."""
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


class _HookedRecorder(cst.CSTVisitor):
    """libcst's own attribute dispatch with two real hooks among the no-op stubs: the
    calls the shortcut skips must be the ones that would have done nothing."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int, str]] = []

    def on_visit(self, node: CSTNode) -> bool:
        self.events.append(("visit", id(node), ""))
        return super().on_visit(node)

    def visit_ClassDef_bases(self, node: cst.ClassDef) -> None:
        self.events.append(("visit_attribute", id(node), "bases"))

    def leave_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        self.events.append(("leave_attribute", id(node), "body"))


class _Rewriter(cst.CSTTransformer):
    """Renames, removes (required-by-choice, optional, sentinel, sequence and body
    positions) and flattens, recording every call: the transformer half of the check."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, int, str]] = []
        self.required_annotation = 0  # inside ``x: T = ...``, where it cannot go

    def on_visit(self, node: CSTNode) -> bool:
        self.events.append(("visit", id(node), ""))
        self.required_annotation += isinstance(node, cst.AnnAssign)
        return not isinstance(node, cst.Lambda)  # a subtree left unvisited

    def on_visit_attribute(self, node: CSTNode, attribute: str) -> None:
        self.events.append(("visit_attribute", id(node), attribute))

    def on_leave_attribute(self, original_node: CSTNode, attribute: str) -> None:
        self.events.append(("leave_attribute", id(original_node), attribute))

    def on_leave(self, original_node: CSTNode, updated_node: CSTNode) -> Any:
        self.events.append(("leave", id(original_node), type(updated_node).__name__))
        self.required_annotation -= isinstance(original_node, cst.AnnAssign)
        if isinstance(updated_node, cst.Name) and updated_node.value == "x":
            return updated_node.with_changes(value="renamed")
        if isinstance(updated_node, cst.Annotation) and not self.required_annotation:
            return cst.RemoveFromParent()
        if isinstance(updated_node, cst.Pass | cst.Comma | cst.Decorator):
            return cst.RemoveFromParent()
        if isinstance(updated_node, cst.Continue):
            return cst.FlattenSentinel([updated_node, cst.Break()])
        if isinstance(updated_node, cst.Arg) and isinstance(updated_node.value, cst.Integer):
            return cst.RemoveFromParent()
        return updated_node


def _agrees_with_libcst() -> bool:
    try:
        module = cst.parse_module(_SAMPLE)
    except cst.ParserSyntaxError:  # an older libcst without the newest syntax
        module = cst.parse_module(_SAMPLE.split("type Alias")[0])
    expected, walked = _Recorder(), _Recorder()
    libcst_hooked, hooked = _HookedRecorder(), _HookedRecorder()
    libcst_rewriter, rewriter = _Rewriter(), _Rewriter()
    try:
        _ORIGINAL_VISIT(module, expected)
        _ORIGINAL_VISIT(module, libcst_hooked)
        rewritten = _ORIGINAL_VISIT(module, libcst_rewriter)
        _walk(module, walked, _hooks_of(walked), _ORDER)
        _walk(module, hooked, _hooks_of(hooked), _ORDER)
        ours = _transform(module, rewriter, _hooks_of(rewriter), _ORDER)
    except Exception:  # a libcst whose nodes these walks do not understand
        return False
    return (
        walked.events == expected.events
        and hooked.events == libcst_hooked.events
        and rewriter.events == libcst_rewriter.events
        and isinstance(ours, cst.Module)
        and isinstance(rewritten, cst.Module)
        and ours.code == rewritten.code
        and ours.deep_equals(rewritten)
    )
