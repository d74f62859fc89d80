"""``check_body`` refuses a ``with`` block for the reasons an independent reading gives:
libcst's matchers for what the block holds, and CPython's compiler for whether a
``break`` or ``continue`` leaves it (the block alone in a ``def`` must compile)."""

from __future__ import annotations

import textwrap

import libcst as cst
import libcst.matchers as m
import pytest
from unjam.codemods._thread_hop import Refused
from unjam.codemods._with_block import check_body

from tests.helpers import FIXTURES
from unjam._speed.fastwalk import fast_walks

_LEAVES = m.Return() | m.Yield() | m.Await() | m.Global() | m.Nonlocal() | m.Del()
_NESTED = m.FunctionDef() | m.ClassDef()
_ASYNC = m.For(asynchronous=m.Asynchronous()) | m.With(asynchronous=m.Asynchronous())


def _expected(node: cst.With, module: cst.Module) -> str | None:
    if node.asynchronous is not None:
        return "it is an async with"
    if m.findall(node, _LEAVES):
        return "the block returns, awaits, yields, deletes or declares global names"
    if m.findall(node, _NESTED):
        return "the block defines a function or class"
    if m.findall(node, _ASYNC):
        return "the block uses async for or async with"
    alone = "def helper():\n" + textwrap.indent(module.code_for_node(node), "    ")
    try:
        compile(alone, "block", "exec")
    except SyntaxError as error:
        assert "loop" in str(error.msg), error.msg
        return "break or continue in the block leaves it"
    return None


def _refusal(node: cst.With) -> str | None:
    try:
        check_body(node)
    except Refused as refused:
        return str(refused)
    return None


CRAFTED = [
    "with a:\n    for x in y:\n        break\n",
    "with a:\n    break\n",
    "with a:\n    while x:\n        continue\n",
    "with a:\n    for x in y:\n        pass\n    else:\n        break\n",
    "with a:\n    while x:\n        pass\n    else:\n        continue\n",
    "with a:\n    for x in y:\n        for z in x:\n            pass\n"
    "        else:\n            break\n",
    "with a:\n    for x in y:\n        with b:\n            continue\n",
    "with a:\n    if x:\n        break\n",
    "with a:\n    try:\n        pass\n    finally:\n        x = 1\n",
    "with a:\n    for x in y:\n        pass\n    else:\n        break\n    return 1\n",
    "with a:\n    del x\n    break\n",
    "with a:\n    def f():\n        return 1\n",
    "with a:\n    class C:\n        pass\n",
    "with a:\n    x = lambda: 1\n",
    "with a:\n    global g\n",
    "with a:\n    for x in await y:\n        pass\n",
    "with a:\n    async for x in y:\n        pass\n",
    "with a:\n    async with b:\n        pass\n",
    "with a:\n    x = [(yield) for _ in y]\n",
    "with await a:\n    pass\n",
    "with a:\n    while (await x):\n        pass\n",
    "with a:\n    match x:\n        case 1:\n            break\n",
]


def _with_nodes(module: cst.Module) -> list[cst.With]:
    return [node for node in m.findall(module, m.With()) if isinstance(node, cst.With)]


@pytest.mark.parametrize("code", CRAFTED)
def test_check_body_refuses_what_an_independent_reading_refuses(code: str) -> None:
    source = "async def route():\n    for outer in items:\n" + textwrap.indent(code, "        ")
    module = cst.parse_module(source)
    (node, *_) = _with_nodes(module)
    with fast_walks():
        assert _refusal(node) == _expected(node, module)


def test_check_body_agrees_on_every_with_block_of_the_fixtures() -> None:
    compared = 0
    with fast_walks():
        for path in sorted(FIXTURES.rglob("*.py")):
            module = cst.parse_module(path.read_bytes())
            for node in _with_nodes(module):
                if node.asynchronous is None and m.findall(node, m.Break() | m.Continue()):
                    continue  # in a loop outside the block: the oracle cannot tell
                assert _refusal(node) == _expected(node, module), path
                compared += 1
    assert compared > 20
