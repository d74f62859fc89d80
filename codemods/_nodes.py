"""Small node helpers the passes share."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import libcst as cst
import libcst.matchers as m

from unjam._speed.fastwalk import is_trivia
from unjam.analysis.qualnames import _Qualnames
from unjam.analysis.walker import Walker


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


class _Collect(Walker):
    """Collects nodes in visiting order: every one, or only those of ``kinds`` (then
    the walk is lean: none of them is whitespace or punctuation, see ``find_all``)."""

    def __init__(self, kinds: frozenset[type[cst.CSTNode]] | None = None) -> None:
        self.kinds = kinds
        self.skips_trivia = kinds is not None
        self.found: list[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.kinds is None or type(node) in self.kinds:
            self.found.append(node)
        return True


def nodes_in(node: cst.CSTNode) -> list[cst.CSTNode]:
    """``node`` and every node under it, in source order, collected by a walk: libcst's
    ``children`` rebuilds a node to list them."""
    collect = _Collect()
    node.visit(collect)
    return collect.found


def _node_types(matcher: object) -> frozenset[type[cst.CSTNode]] | None:
    """The node types a matcher can match (``m.Call()``, ``m.Return() | m.Yield()``);
    None when it could match other nodes too, or whitespace and punctuation."""
    if isinstance(matcher, m.OneOf):
        kinds = [_node_types(option) for option in matcher.options]
        return None if any(k is None for k in kinds) else frozenset().union(*kinds)  # type: ignore[arg-type]
    matcher_type: type = type(matcher)
    return _matched_types(matcher_type)


@functools.cache
def _matched_types(matcher_type: type) -> frozenset[type[cst.CSTNode]] | None:
    """``_node_types`` of a node matcher, which its class alone decides (``m.Name`` of
    any value matches ``cst.Name`` nodes only): asked once per class."""
    kind = getattr(cst, matcher_type.__name__, None)
    if (
        not issubclass(matcher_type, m.BaseMatcherNode)
        or not isinstance(kind, type)
        or not issubclass(kind, cst.CSTNode)
        or is_trivia(kind)
    ):
        return None
    return frozenset({kind})


def find_all(
    tree: cst.CSTNode, matcher: m.BaseMatcherNode | m.OneOf[m.BaseMatcherNode]
) -> list[cst.CSTNode]:
    """``m.findall(tree, matcher)``: the same nodes in the same order. A matcher of
    node types (``m.Call()``, ``m.Name("x")``, ``m.Return() | m.Yield()``) is only tried
    on nodes of those types, gathered by a lean walk; ``m.findall`` tries it on every
    node, whitespace included, and matching costs far more than walking. Any other
    matcher goes to ``m.findall``."""
    kinds = _node_types(matcher)
    if kinds is None:
        return list(m.findall(tree, matcher))
    collect = _Collect(kinds)
    tree.visit(collect)
    return [node for node in collect.found if m.matches(node, matcher)]


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


def blank_lines_above(statement: cst.BaseStatement) -> int:
    """Blank lines directly above a statement (before its own comments)."""
    count = 0
    for line in getattr(statement, "leading_lines", ()):
        if line.comment is not None:
            break
        count += 1
    return count


def with_blank_lines_above(statement: cst.BaseStatement, count: int) -> cst.BaseStatement:
    """``statement`` with ``count`` blank lines above its own comments; the very node
    when it has them already (the analysis carries an unchanged node's facts over)."""
    if blank_lines_above(statement) == count:
        return statement
    lines = list(getattr(statement, "leading_lines", ()))
    kept = lines[blank_lines_above(statement) :]
    return statement.with_changes(leading_lines=[cst.EmptyLine(indent=False)] * count + kept)


class _Names(Walker):
    """Collects the names a node reads or binds; attribute names (``x.requests``) and
    keyword argument names are not names of the scope."""

    def __init__(self) -> None:
        self.found: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.found.add(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)
        return False


def names_in(*nodes: cst.CSTNode | None) -> set[str]:
    """Names the nodes read or bind (see ``_Names``)."""
    collect = _Names()
    for node in nodes:
        if node is not None:
            node.visit(collect)
    return collect.found
