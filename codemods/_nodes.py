"""Small node helpers the passes share."""

from __future__ import annotations

import libcst as cst

from unjam.analysis.names import _Qualnames


class _Index(_Qualnames):
    """One walk for what a pass looks up by node: function qualified names, and each
    call's index in visiting order (as the analysis counted them)."""

    def __init__(self, module: str) -> None:
        super().__init__(module)
        self.calls: dict[int, int] = {}

    def visit_Call(self, node: cst.Call) -> None:
        self.calls[id(node)] = len(self.calls)


def index_module(module: cst.Module, name: str) -> tuple[dict[int, str], dict[int, int]]:
    """(``id(FunctionDef)`` -> qualified name, ``id(Call)`` -> call index)."""
    index = _Index(name)
    module.visit(index)
    return index.found, index.calls


def in_parens(node: cst.BaseExpression) -> cst.BaseExpression:
    """``await`` binds looser than ``.attr``, ``[...]`` and ``(...)``: wrap it there."""
    if node.lpar:
        return node
    return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def code(node: cst.CSTNode) -> str:
    """The source of a node, as the module would print it."""
    return cst.Module(body=[]).code_for_node(node)
