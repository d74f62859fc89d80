"""A module's text, written out statement by statement and remembered.

libcst writes a whole module out on every ``.code``. A file going through the codemods
is written out several times (``requests-to-httpx`` reads the text of every statement
to see which imports are still used, and every rewrite is written out to be compiled),
while each rewrite changes a few of its statements: the others are the same objects
as before, and their text is the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst
from libcst._nodes.internal import CodegenState

from unjam.pipeline.source import source_lines


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

    def seed(self, module: cst.Module, text: str, first_lines: Sequence[int]) -> bool:
        """Remember each statement's text as it stands in ``text``, the source libcst
        parsed into ``module`` (it writes the same text back out), given the line each
        statement starts on (``NodeIndex.first_lines``): writing out a rewritten module
        then writes out only the statements a pass changed.

        Seeds nothing (False) unless every line lands where libcst says it must: each
        statement's leading blank and comment lines read exactly as libcst holds them,
        its first line starts with code at column 0 (``@`` when decorated), the header
        comes first and the footer last.
        """
        body = module.body
        if not body or len(first_lines) != len(body) or not module.has_trailing_newline:
            return False
        lines = source_lines(text)
        starts: list[int] = []  # 0-based first line of each statement's text
        free = len(module.header)  # the first line no statement holds yet
        for statement, first in zip(body, first_lines, strict=True):
            leading = statement.leading_lines
            start = first - 1 - len(leading)
            if start < free or first > len(lines):
                return False
            free = first
            if any(
                line != self.of(module, empty)
                for line, empty in zip(lines[start : first - 1], leading, strict=True)
            ):
                return False
            head = lines[first - 1]
            decorated = isinstance(statement, cst.FunctionDef | cst.ClassDef) and bool(
                statement.decorators
            )
            if not head[:1].strip() or head[0] == "#" or decorated != (head[0] == "@"):
                return False
            starts.append(start)
        if starts[0] != len(module.header):
            return False
        ends = [*starts[1:], len(lines) - len(module.footer)]
        if ends[-1] < free or any(
            line != self.of(module, empty)
            for line, empty in zip(lines[ends[-1] :], module.footer, strict=True)
        ):
            return False
        for statement, start, end in zip(body, starts, ends, strict=True):
            # One token: ``module`` drops a last token only where the file does not end
            # with a line break, and such a file is not seeded.
            self._tokens[id(statement)] = (statement, ["".join(lines[start:end])])
        return True

    def known(self, module: cst.Module, node: cst.CSTNode) -> str | None:
        """``of``, when the text is remembered already (nothing is written out)."""
        known = self._tokens.get(id(node))
        return "".join(known[1]) if known is not None and known[0] is node else None

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
