"""Just enough type inference to know what a receiver is.

``db.query(...)`` blocks only if ``db`` is a sync SQLAlchemy session; ``fh.read()`` only if
``fh`` came from ``open``. Types come from annotations (``Session``, ``Annotated[Session,
Depends(...)]``, ``Optional[...]``), from catalog factories (``requests.Session()``,
``sessionmaker(...)()``) and from assignments. What depends on another module stays a
pending ``TypeRef`` for the project linker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from unjam.analysis import fastapi as fa
from unjam.analysis.catalog import Catalog
from unjam.analysis.model import TypeRef

if TYPE_CHECKING:
    from unjam.analysis.module import ModuleAnalyser


#: ``-> Self``: the class of the receiver the method is called on.
SELF_TYPES = frozenset({"typing.Self", "typing_extensions.Self"})


def apply_op(catalog: Catalog, ref: TypeRef, op: str) -> TypeRef | None:
    """The type after one operation (``()``, ``.attr``, ``.method()``, ``/``) on a known
    type."""
    if ref.pending:
        return ref.then(op)
    rule = catalog.type(ref.base)
    if rule is None:
        return None
    if op == "()":
        return TypeRef(rule.called) if rule.called else None
    if op == "/":
        return TypeRef(rule.divided) if rule.divided else None
    if op.endswith("()"):
        returned = rule.returns.get(op[1:-2])
        return TypeRef(returned) if returned else None
    found = rule.attributes.get(op[1:]) or rule.attribute
    return TypeRef(found) if found else None


class TypeResolver:
    def __init__(self, analyser: ModuleAnalyser) -> None:
        self.analyser = analyser

    @property
    def catalog(self) -> Catalog:
        return self.analyser.catalog

    def _lookup_local(self, name: str) -> TypeRef | None:
        for frame in reversed(self.analyser.frames):
            if frame.kind == "function" and name in frame.local_types:
                return frame.local_types[name]
        return None

    def of(self, expr: cst.BaseExpression) -> TypeRef | None:
        analyser = self.analyser
        if isinstance(expr, cst.Name):
            local = self._lookup_local(expr.value)
            if local is not None:
                return local
            return self._named(analyser.qnames(expr))
        if isinstance(expr, cst.Attribute):
            named = self._named(analyser.qnames(expr))
            if named is not None:
                return named
            base = self.of(expr.value)
            return apply_op(self.catalog, base, f".{expr.attr.value}") if base else None
        if isinstance(expr, cst.Call):
            return self._called(expr.func)
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Divide):
            left = self.of(expr.left)
            return apply_op(self.catalog, left, "/") if left else None
        return None

    def _named(self, qualified: set[str]) -> TypeRef | None:
        analyser = self.analyser
        for name in sorted(qualified):
            if name in analyser.value_types:
                return analyser.value_types[name]
            if analyser.is_project(name) and "<locals>" not in name:
                return TypeRef(name, pending=True)
        return None

    def dependency(self, default: cst.BaseExpression) -> TypeRef | None:
        """An unannotated parameter's type from ``Depends(func)``: what ``func`` returns
        (or yields); ``Depends()`` alone names no type without an annotation."""
        if not isinstance(default, cst.Call) or not self.analyser.qnames(default.func) & fa.DEPENDS:
            return None
        target = fa.keyword_arg(default, "dependency") or fa.positional_arg(default, 0)
        return self._called(target) if target is not None else None

    def _called(self, func: cst.BaseExpression) -> TypeRef | None:
        """The type of what calling ``func`` returns."""
        analyser = self.analyser
        callee = analyser.qnames(func)
        for name in sorted(callee):
            rule = self.catalog.call(name)
            if rule is not None and rule.returns:
                return TypeRef(rule.returns)
        for name in sorted(callee):
            made = self.catalog.type(name)  # a catalog class constructed directly
            if made is not None and made.category is not None:
                return TypeRef(made.name)
        if isinstance(func, cst.Attribute):
            receiver = self.of(func.value)
            if receiver is not None:
                return apply_op(self.catalog, receiver, f".{func.attr.value}()")
        if isinstance(func, cst.Name):
            local = self._lookup_local(func.value)
            if local is not None:
                return apply_op(self.catalog, local, "()")
        for name in sorted(callee):
            if name in analyser.value_types:
                return apply_op(self.catalog, analyser.value_types[name], "()")
            if analyser.is_project(name) and "<locals>" not in name:
                return TypeRef(name, pending=True, called=True)
        return None

    def annotation(
        self, expr: cst.BaseExpression, unwrap_iterators: bool = False
    ) -> TypeRef | None:
        """The type an annotation names: ``T``, ``Annotated[T, ...]``, ``T | None``,
        ``Optional[T]``; with ``unwrap_iterators``, ``Iterator[T]``/``Generator[T, ...]``."""
        analyser = self.analyser
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.BitOr):
            for side in (expr.left, expr.right):
                if not (isinstance(side, cst.Name) and side.value == "None"):
                    return self.annotation(side, unwrap_iterators)
            return None
        if isinstance(expr, cst.Subscript):
            head = analyser.qnames(expr.value)
            wrappers = (
                fa.ANNOTATED | fa.OPTIONAL | (fa.ITERATORS if unwrap_iterators else frozenset())
            )
            if head & wrappers and expr.slice:
                first = expr.slice[0].slice
                if isinstance(first, cst.Index):
                    return self.annotation(first.value, unwrap_iterators)
            return None
        if isinstance(expr, (cst.Name, cst.Attribute)):
            for name in sorted(analyser.qnames(expr)):
                if name in analyser.aliases:
                    return analyser.aliases[name]
                if analyser.is_project(name):
                    return TypeRef(name, pending=True)
                if name.startswith("builtins."):
                    continue
                rule = self.catalog.type(name)
                return TypeRef(rule.name if rule else name)
        return None
