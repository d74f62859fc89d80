"""Small node helpers the passes share."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

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


Bound = TypeVar("Bound", cst.Attribute, cst.Subscript, cst.Call)


class AwaitsInPlace:
    """For passes that put an ``await`` where a call stood: ``await`` binds looser than
    ``.attr``, ``[...]`` and ``(...)``, so an await that becomes the value of one of them
    gets parentheses (``(await f()).json()``)."""

    produced: set[int]  # ids of the awaits this pass wrote

    def start_placing(self) -> None:
        """Call at the start of each module."""
        self.produced = set()

    def placed(self, node: cst.Await) -> cst.Await:
        self.produced.add(id(node))
        return node

    def keep_bound(self, node: Bound) -> Bound:
        if isinstance(node, cst.Call):
            if id(node.func) in self.produced:
                return node.with_changes(func=in_parens(node.func))
        elif id(node.value) in self.produced:
            return node.with_changes(value=in_parens(node.value))
        return node

    def leave_Subscript(
        self, original_node: cst.Subscript, updated_node: cst.Subscript
    ) -> cst.Subscript:
        return self.keep_bound(updated_node)


def unique_name(base: str, taken: Callable[[str], bool], second: str | None = None) -> str:
    """``base``, or ``base_2``, ``base_3``... (``second`` instead of ``base_2`` when
    given): the first that ``taken`` does not claim."""
    name, number = base, 1
    while taken(name):
        number += 1
        name = second if number == 2 and second else f"{base}_{number}"
    return name
