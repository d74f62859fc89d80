"""Scopes, positions and parents of one function, computed on that function alone.

libcst's ``ScopeProvider`` over a whole module costs several parses of it; a rewrite
only ever asks about the names of the function it is in. Wrapping the function's own
node in a one-statement module (without copying it) gives the same answers for its
locals, keyed by the very nodes the transformer visits. Seen that way, a module-level
name has no binding at all, which callers treat as "not local".
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import libcst as cst
from libcst.metadata import (
    CodeRange,
    MetadataWrapper,
    PositionProvider,
    Scope,
    ScopeProvider,
)
from unjam.codemods._blocks import Parents
from unjam.codemods._nodes import nodes_in

from unjam.analysis.walker import Walker


class LocalMetadata:
    """Scopes at once; positions (which write the function out) and parents only when
    asked. ``def_line``: the module line of the function's name, when known."""

    def __init__(self, function: cst.FunctionDef, def_line: int | None) -> None:
        self._function = function
        self._def_line = def_line
        self._wrapper = MetadataWrapper(cst.Module(body=[function]), unsafe_skip_copy=True)
        self.scopes: Mapping[cst.CSTNode, Scope | None] = self._wrapper.resolve(ScopeProvider)
        self._positions: Mapping[cst.CSTNode, CodeRange] | None = None

    @property
    def positions(self) -> Mapping[cst.CSTNode, CodeRange]:
        if self._positions is None:
            self._positions = self._wrapper.resolve(PositionProvider)
        return self._positions

    @functools.cached_property
    def order(self) -> dict[int, int]:
        """``id`` of each node of the function -> its place in source order: what
        comparing positions tells, for the price of a walk instead of writing the
        function out."""
        return {id(node): place for place, node in enumerate(nodes_in(self._function))}

    @functools.cached_property
    def parents(self) -> Parents:
        found = _ParentOf()
        self._wrapper.module.visit(found)
        return Parents(found.parent)

    @property
    def offset(self) -> int:
        """Add to a line of the function alone to get the module's line."""
        if not self._def_line:
            return 0
        return self._def_line - self.positions[self._function.name].start.line

    def is_local(self, name: cst.Name) -> bool:
        """Whether ``name`` is bound inside the function (a parameter, an assignment,
        an import, a nested definition)."""
        return self.binds(name, name.value) is True

    def binds(self, at: cst.CSTNode, name: str) -> bool | None:
        """Whether ``name``, read at ``at``, is bound inside the function; None when
        ``at`` has no scope (it is not part of the function as parsed)."""
        scope = self.scopes.get(at)
        if scope is None:
            return None
        return any(
            not isinstance(assignment.scope, cst.metadata.GlobalScope | cst.metadata.BuiltinScope)
            for assignment in scope[name]
        )


class _ParentOf(Walker):
    """What libcst's ``ParentNodeProvider`` finds, from the walk's own stack: the
    provider asks every node for its ``children``, which libcst collects by rebuilding
    the node (a sixth of requests-to-httpx on a route module)."""

    def __init__(self) -> None:
        super().__init__()
        self.parent: dict[cst.CSTNode, cst.CSTNode] = {}
        self._stack: list[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self._stack:
            self.parent[node] = self._stack[-1]
        self._stack.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self._stack.pop()
