"""Scopes and positions of one function, computed on that function alone.

libcst's ``ScopeProvider`` over a whole module costs several parses of it; a rewrite
only ever asks about the names of the function it is in. Wrapping the function's own
node in a one-statement module (without copying it) gives the same answers for its
locals, keyed by the very nodes the transformer visits. Seen that way, a module-level
name has no binding at all, which callers treat as "not local".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider, Scope, ScopeProvider


@dataclass(frozen=True, slots=True)
class LocalMetadata:
    scopes: Mapping[cst.CSTNode, Scope | None]
    positions: Mapping[cst.CSTNode, CodeRange]
    offset: int  # add to a line of the function alone to get the module's line

    @classmethod
    def of(cls, function: cst.FunctionDef, def_line: int | None) -> LocalMetadata:
        """``def_line``: the module line of the function's name, when known."""
        wrapper = MetadataWrapper(cst.Module(body=[function]), unsafe_skip_copy=True)
        scopes, positions = wrapper.resolve(ScopeProvider), wrapper.resolve(PositionProvider)
        offset = def_line - positions[function.name].start.line if def_line else 0
        return cls(scopes, positions, offset)

    def is_local(self, name: cst.Name) -> bool:
        """Whether ``name`` is bound inside the function (a parameter, an assignment,
        an import, a nested definition)."""
        scope = self.scopes.get(name)
        if scope is None:
            return False
        return any(
            not isinstance(assignment.scope, cst.metadata.GlobalScope | cst.metadata.BuiltinScope)
            for assignment in scope[name.value]
        )
