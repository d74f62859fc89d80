"""Whether a name a rewrite writes (``anyio``, ``functools``, ``asyncio``) means, at the
place it is written, what the rewrite needs it to mean.

Answered by libcst's scope analysis of the module: the imports ``Spelling`` read must be
the only module-level bindings of the name (or, when the rewrite adds the import, there
must be none, and no use of the name that the new import would change), and the function
the rewrite sits in must not bind it. The refusal says what the name is bound to and on
which line.

The module's text only decides whether the analysis is worth running: every binding of a
name and every use of it as a plain name shows in the text as the name not followed by
``.``, so a module whose text has no more such mentions than the imports ``Spelling``
counted cannot rebind it. A word in a comment or a string makes unjam look, never refuse.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import libcst as cst
from libcst.metadata import (
    Assignment,
    BaseAssignment,
    CodeRange,
    GlobalScope,
    MetadataWrapper,
    PositionProvider,
    Scope,
    ScopeProvider,
)
from unjam.codemods._spelling import Spelled, Spelling


class Rebound(Exception):
    """The name a rewrite would write is bound to something else there."""


class NameCheck:
    """One per module walk; the scope analysis runs at most once, and only when the
    module's text could bind one of the names asked about."""

    def __init__(self, module: cst.Module, code: str, spelling: Spelling) -> None:
        self._module = module
        self._code = code
        self._spelling = spelling
        self._mentions: dict[str, int] = {}
        self._scopes: Mapping[cst.CSTNode, Scope | None] | None = None
        self._positions: Mapping[cst.CSTNode, CodeRange] | None = None
        self._imports = {
            id(small)
            for statement in module.body
            if isinstance(statement, cst.SimpleStatementLine)
            for small in statement.body
            if isinstance(small, cst.Import | cst.ImportFrom)
        }

    def check(self, spelled: Spelled, at: cst.CSTNode) -> Spelled:
        """``spelled`` if it can be written at ``at`` (a node of the module as parsed),
        else ``Rebound`` saying why."""
        root = spelled.root
        adds_import = spelled.needs is not None
        if self._count(root) <= (0 if adds_import else self._spelling.bindings(root)):
            return spelled
        scopes = self._resolve()
        here = scopes.get(at)
        if here is not None:
            for binding in here[root]:
                if not isinstance(binding.scope, GlobalScope):
                    raise Rebound(
                        f"the name {root} means something else here: a local of the "
                        f"function ({self._describe(binding)})"
                    )
        module_scope = next((scope.globals for scope in scopes.values() if scope is not None), None)
        if module_scope is None:
            return spelled
        bindings = sorted(  # what is not an import says most
            module_scope.assignments[root],
            key=lambda binding: (
                isinstance(binding, Assignment)
                and isinstance(binding.node, cst.Import | cst.ImportFrom)
            ),
        )
        for binding in bindings:
            node = binding.node if isinstance(binding, Assignment) else None
            if adds_import or id(node) not in self._imports:
                raise Rebound(
                    f"the name {root} means something else here: "
                    f"{self._describe(binding)} in the module"
                    + ("" if adds_import else ", not only imported")
                )
        if adds_import:
            for scope in {id(scope): scope for scope in scopes.values() if scope}.values():
                for access in scope.accesses[root]:
                    if not access.referents:
                        line = self._line(access.node)
                        raise Rebound(
                            f"the name {root} means something else here: used at line {line} "
                            "without an import (a star import may provide it), and an "
                            "added import would change what it means"
                        )
        return spelled

    def _count(self, root: str) -> int:
        found = self._mentions.get(root)
        if found is None:
            pattern = re.compile(rf"(?<![\w.]){re.escape(root)}\b(?!\s*\.)")
            found = self._mentions[root] = len(pattern.findall(self._code))
        return found

    def _resolve(self) -> Mapping[cst.CSTNode, Scope | None]:
        if self._scopes is None:
            wrapper = MetadataWrapper(self._module, unsafe_skip_copy=True)
            resolved = wrapper.resolve_many([ScopeProvider, PositionProvider])
            self._scopes = resolved[ScopeProvider]  # type: ignore[assignment]
            self._positions = resolved[PositionProvider]  # type: ignore[assignment]
        assert self._scopes is not None
        return self._scopes

    def _line(self, node: cst.CSTNode) -> int | str:
        position = self._positions.get(node) if self._positions is not None else None
        return position.start.line if position is not None else "?"

    def _describe(self, binding: BaseAssignment) -> str:
        if not isinstance(binding, Assignment):
            return "a builtin"
        node = binding.node
        kind = {
            cst.Import: "imported",
            cst.ImportFrom: "imported",
            cst.FunctionDef: "a function defined",
            cst.ClassDef: "a class defined",
            cst.Param: "a parameter",
        }.get(type(node), "assigned")
        return f"{kind} at line {self._line(node)}"
