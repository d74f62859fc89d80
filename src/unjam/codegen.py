"""A module's text, written out statement by statement and remembered.

libcst writes a whole module out on every ``.code``. A file going through the codemods
is written out several times (``requests-to-httpx`` reads the text of every statement
to see which imports are still used, and every rewrite is written out to be compiled),
while each rewrite changes a few of its statements: the others are the same objects
as before, and their text is the same.
"""

from __future__ import annotations

import libcst as cst
from libcst._nodes.internal import CodegenState


class StatementText:
    """The text of one file's top-level statements (and header and footer lines), by
    node. Nodes are kept alive with their text, so an ``id`` is never reused."""

    def __init__(self) -> None:
        self._tokens: dict[int, tuple[cst.CSTNode, list[str]]] = {}

    def tokens(self, module: cst.Module, node: cst.CSTNode) -> list[str]:
        """What libcst's codegen writes for ``node`` at the top of ``module``."""
        known = self._tokens.get(id(node))
        if known is not None and known[0] is node:
            return known[1]
        state = CodegenState(
            default_indent=module.default_indent, default_newline=module.default_newline
        )
        node._codegen(state)
        self._tokens[id(node)] = (node, state.tokens)
        return state.tokens

    def of(self, module: cst.Module, node: cst.CSTNode) -> str:
        """``module.code_for_node(node)`` for a top-level statement or line."""
        return "".join(self.tokens(module, node))

    def module(self, module: cst.Module) -> str:
        """``module.code``: libcst's ``Module._codegen_impl`` over remembered parts."""
        tokens: list[str] = []
        for part in (*module.header, *module.body, *module.footer):
            tokens += self.tokens(module, part)
        if module.has_trailing_newline:
            if not tokens:
                tokens.append(module.default_newline)
        elif tokens:
            tokens.pop()
        return "".join(tokens)
