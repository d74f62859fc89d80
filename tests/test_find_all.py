"""``find_all`` finds what ``m.findall`` finds, in the same order, on every fixture."""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m
from unjam.codemods._nodes import _node_types, find_all

from tests.helpers import FIXTURES
from unjam._speed.fastwalk import fast_walks

#: Matchers of the kinds the passes use: one type, a type with fields, a union of types.
MATCHERS: list[m.BaseMatcherNode | m.OneOf[m.BaseMatcherNode]] = [
    m.Call(),
    m.Name(),
    m.Name("self"),
    m.Attribute(),
    m.ExceptHandler(),
    m.AugAssign(target=m.Name()),
    m.Return() | m.Yield() | m.Await() | m.Global() | m.Nonlocal() | m.Del(),
    m.FunctionDef() | m.ClassDef(),
    m.For(asynchronous=m.Asynchronous()) | m.With(asynchronous=m.Asynchronous()),
    m.Call() | m.Await() | m.NamedExpr() | m.Yield() | m.Lambda() | m.FormattedString(),
    m.Call(func=m.Attribute(attr=m.Name("get"))),
]


def test_find_all_equals_findall_on_every_fixture() -> None:
    compared = 0
    with fast_walks():  # the lean walk, as the passes run
        for path in sorted(FIXTURES.rglob("*.py")):
            module = cst.parse_module(path.read_bytes())
            for matcher in MATCHERS:
                found = find_all(module, matcher)
                expected = m.findall(module, matcher)
                assert len(found) == len(expected), (path, matcher)
                assert all(a is b for a, b in zip(found, expected, strict=True)), (path, matcher)
                compared += len(found)
    assert compared > 10_000


def test_matchers_find_all_cannot_narrow_go_to_findall() -> None:
    """Whitespace and punctuation are not walked lean; a predicate may match any node."""
    assert _node_types(m.Comma()) is None
    assert _node_types(m.Call() | m.Comma()) is None
    assert _node_types(m.MatchIfTrue(lambda node: True)) is None
    assert _node_types(m.Call() | m.Name()) == frozenset({cst.Call, cst.Name})
    module = cst.parse_module("f(a, b)\n")
    assert len(find_all(module, m.Comma())) == 1
    assert len(find_all(module, m.MatchIfTrue(lambda node: isinstance(node, cst.Name)))) == 3
