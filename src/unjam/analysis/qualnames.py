"""Qualified names as libcst's scope analysis reports them, made absolute.

``ScopeProvider`` gives names relative to the module (``helper``, ``f.<locals>.x``,
``.deps.get_db``); the project linker needs one spelling per thing across modules,
``pkg.routes.helper``. This is the conversion libcst's FullyQualifiedNameProvider does,
applied only to the nodes the analysis asks about: resolving every node costs more than
twice the parse itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m
from libcst.metadata import QualifiedName, QualifiedNameSource, Scope

from unjam.analysis.names import OWN_NAMES, Namespace
from unjam.analysis.walker import Walker


@dataclass(frozen=True, slots=True)
class ModuleName:
    module: str  # already scoped by ``namespace``
    package: str
    namespace: Namespace = OWN_NAMES

    def absolute(self, name: QualifiedName) -> str:
        if name.source is QualifiedNameSource.BUILTIN:
            return name.name if name.name.startswith("builtins.") else f"builtins.{name.name}"
        if name.name.startswith("."):
            return self._relative(name.name)
        if name.source is QualifiedNameSource.LOCAL:
            return f"{self.module}.{name.name}" if self.module else name.name
        return self.namespace.scoped(name.name)

    def _relative(self, dotted: str) -> str:
        stripped = dotted.lstrip(".")
        levels = len(dotted) - len(stripped)
        parts = self.package.split(".") if self.package else []
        if levels > 1:
            parts = parts[: len(parts) - (levels - 1)] if levels - 1 <= len(parts) else []
        base = ".".join(parts)
        if not stripped:
            return base
        return f"{base}.{stripped}" if base else stripped


def is_staticmethod(function: cst.FunctionDef) -> bool:
    """Decorated ``@staticmethod``: its first parameter is not the instance."""
    return any(m.matches(d.decorator, m.Name("staticmethod")) for d in function.decorators)


def qualified_names(scope: Scope | None, node: cst.CSTNode, module: ModuleName) -> set[str]:
    if scope is None:
        return set()
    try:
        found = scope.get_qualified_names_for(node)
    except Exception:  # libcst raises on a few exotic shapes; an unknown name is no name
        return set()
    return {module.absolute(name) for name in found}


class _Qualnames(Walker):
    """Python's ``__qualname__`` scheme, prefixed with the module: ``m.C.f.<locals>.g``."""

    skips_trivia = True  # see fastwalk: it never looks at whitespace or punctuation

    def __init__(self, module: str) -> None:
        super().__init__()
        self.stack: list[tuple[str, str]] = [("module", module)]
        self.found: dict[int, str] = {}
        self.last: dict[str, int] = {}  # qualified name -> id of its latest definition

    def _name(self, name: str) -> str:
        kind, prefix = self.stack[-1]
        if kind == "module":
            return f"{prefix}.{name}" if prefix else name
        if kind == "class":
            return f"{prefix}.{name}"
        return f"{prefix}.<locals>.{name}"

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.stack.append(("class", self._name(node.name.value)))

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.stack.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        qualname = self._name(node.name.value)
        self.named(id(node), qualname)
        self.stack.append(("function", qualname))

    def named(self, node_id: int, qualname: str) -> None:
        """A definition of ``qualname`` met, in source order."""
        # A later ``def`` of the same name replaces the earlier one, and the analysis
        # keeps the later one's facts: only that node gets the name.
        earlier = self.last.get(qualname)
        if earlier is not None:
            del self.found[earlier]
        self.found[node_id] = qualname
        self.last[qualname] = node_id

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.stack.pop()


def function_qualnames(module: cst.Module, module_name: str) -> dict[int, str]:
    """``id(FunctionDef node)`` -> the qualified name the analysis gave that function."""
    visitor = _Qualnames(module_name)
    module.visit(visitor)
    return visitor.found
