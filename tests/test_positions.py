"""Positions from CPython's parser must equal libcst's PositionProvider, exactly."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from tests.helpers import FIXTURES
from unjam.analysis.catalog import default_catalog
from unjam.analysis.locator import AstLocator, ProviderLocator
from unjam.analysis.model import ModuleFacts
from unjam.analysis.module import ModuleAnalyser
from unjam.analysis.names import OWN_NAMES
from unjam.analysis.positions import AstPositions, calls_in, ordered_statements
from unjam.analysis.qualnames import ModuleName
from unjam.pipeline.source import python_ast

AWKWARD = {
    "unicode before calls": """
        import time
        async def f():
            s = "héllo wörld ☃"; time.sleep(1); print("ünïcode", open("ä").read())
    """,
    "tabs and continuation": "import time\nasync def f():\n\tx = \\\n\t\ttime.sleep(\n\t\t\t1)\n",
    "crlf": "import time\r\nasync def f():\r\n    time.sleep(1)\r\n",
    # Python breaks lines at \\n, \\r\\n and \\r only; str.splitlines at these too.
    "form feed and line separators": (
        "import time\n\x0c\n# a note\u2028copied in\nasync def f():\n"
        "    s = 'é\u2029ü'; time.sleep(1); open('ä\x1c').read()\n"
    ),
    "f-strings with calls": """
        import time
        async def f(x):
            return f"{time.sleep(1)} and {x.get('a')!r:>{width()}}" + f'{open("p").read()}'
    """,
    "chains and nesting": """
        import requests
        async def f(db):
            return requests.get(url(a(b(c())))).json().get("x")(1)(2)
    """,
    "expressions in every order": """
        import time
        @decorate(first())
        @other
        class C(Base(meta())):
            @prop(x())
            async def m(self, a=default(), *, b=kw()):
                y = time.sleep(1) if cond() else alt()
                z = {key(): val() for k in keys() if pred(k)}
                w = [g(v) for v in (gen(u) for u in us())]
                lam = lambda q=dflt(): inner(q)
                if (n := walrus()) and other():
                    pass
                elif third():
                    pass
                else:
                    fourth()
                try:
                    t()
                except E(e()) as err:
                    h()
                else:
                    el()
                finally:
                    fin()
                async with ctx() as c, ctx2():
                    async for i in it():
                        await coro(i)
                while loop():
                    break
                match subject():
                    case [1, 2]:
                        case_call()
                    case _:
                        pass
                return await done(*args(), **kwargs())
    """,
    "suppression comments and look-alikes": """
        import time
        async def f():  # unjam: ignore[demote-sync]
            s = "# unjam: ignore"
            time.sleep(1)  # unjam: ignore
    """,
    "semicolons and globals": (
        "import time\nx = 0\ndef g():\n    global x; x = time.sleep(1); del x\n"
    ),
}


def _facts(source: str, fast: bool) -> tuple[ModuleFacts, bool]:
    text = (
        textwrap.dedent(source).lstrip("\n")
        if "\t" not in source and "\r" not in source
        else source
    )
    data = text.encode("utf-8")
    module = cst.parse_module(data)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    name = ModuleName("m", "")
    if fast:
        tree, decoded = python_ast(data, "m.py")
        locator = AstLocator(AstPositions(tree, decoded))
        analyser = ModuleAnalyser("m.py", name, default_catalog(), frozenset({"m"}), locator)
        wrapper.visit(analyser)
        locator.finish()  # raises if the pairing broke anywhere
        return analyser.facts(), True
    positions = wrapper.resolve(PositionProvider)
    analyser = ModuleAnalyser(
        "m.py", name, default_catalog(), frozenset({"m"}), ProviderLocator(positions)
    )
    wrapper.visit(analyser)
    return analyser.facts(), False


@pytest.mark.parametrize("case", sorted(AWKWARD))
def test_fast_positions_equal_libcst_positions(case: str) -> None:
    fast, _ = _facts(AWKWARD[case], fast=True)
    slow, _ = _facts(AWKWARD[case], fast=False)
    assert fast == slow


def test_columns_are_characters_not_bytes() -> None:
    facts, _ = _facts(AWKWARD["unicode before calls"], fast=True)
    [function] = facts.functions
    sleep = next(e for e in function.effects if e.name == "time.sleep")
    line = textwrap.dedent(AWKWARD["unicode before calls"]).lstrip("\n").splitlines()[2]
    assert sleep.location.column == line.index("time.sleep") + 1


def test_suppression_in_a_string_is_not_a_comment() -> None:
    facts, _ = _facts(AWKWARD["suppression comments and look-alikes"], fast=True)
    assert dict(facts.suppressed_lines) == {2: frozenset({"demote-sync"}), 4: frozenset({"*"})}


ROOT = Path(__file__).resolve().parent.parent
MATCH_AND_TRY = """
for x in y:
    if a:
        pass
    elif b:
        try:
            c()
        except E:
            d()
        else:
            e()
        finally:
            f()
    else:
        match x:
            case 1:
                g()
            case _:
                h()
while i:
    j(); k()
else:
    l()
"""


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "fixtures").rglob("*.py")) + sorted((ROOT / "src").rglob("*.py")) + [None],
    ids=lambda p: "match-and-try" if p is None else p.relative_to(ROOT).as_posix(),
)
def test_ordered_statements_are_every_statement_in_source_order(path: Path | None) -> None:
    text = MATCH_AND_TRY if path is None else path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(text)
    except SyntaxError:
        pytest.skip("not Python this interpreter parses")
    every = [node for node in ast.walk(tree) if isinstance(node, ast.stmt)]
    in_source_order = sorted(every, key=lambda node: (node.lineno, node.col_offset))
    assert list(ordered_statements(tree.body)) == in_source_order


def test_positions_of_a_compiled_rewrite_are_those_of_a_fresh_parse() -> None:
    """The refresh after a rewrite reads CPython's positions from the parse that
    compiled the rewrite: they must be what parsing the rewritten file gives."""
    from unjam.pipeline.runner import Job, _Rewrites

    source = AWKWARD["form feed and line separators"].encode() + b"# unjam: ignore\n"
    job = Job("m.py", "m.py", "m", "", b"\xef\xbb\xbf" + source, "default", OWN_NAMES)
    tree = cst.parse_module(job.data)
    rewrites = _Rewrites(job, tree, report_only=True)
    rewrites.propose("test", tree.with_changes(body=[*tree.body, cst.parse_statement("x()\n")]))
    assert rewrites.settle()
    kept = rewrites.positions()
    fresh = AstPositions(*python_ast(rewrites.data, "m.py"))
    assert kept is not None and rewrites.cpython is not None
    assert kept.lines == fresh.lines and kept.comments == fresh.comments
    for index in range(len(fresh.calls)):
        name = getattr(fresh.calls[index].func, "id", None) or fresh.calls[index].func.attr
        assert kept.call(index, name) == fresh.call(index, name)
    assert [ast.dump(s) for s in kept.statements] == [ast.dump(s) for s in fresh.statements]


_EVERY_PLACE_A_CALL_GOES = """
import os
@deco(arg())
async def f(a=default(), *args: ann(), **kw) -> ret():
    global g
    x = {**spread(), key(): value(), None: [c() for c in gen() if cond(c)]}
    y = lambda z=d(): inner(z)
    del items()[0]
    assert check(), message()
    print(f"{fmt():>{width()}}", end=end())
    async with ctx() as (p, q):
        async for r in stream():
            await awaited(r)
    match subject():
        case Point(x=0) if guard():
            raise Error() from cause()
        case {"k": v, **rest}:
            yield v
    try:
        pass
    except handler() as error:
        pass
    return (await a.b.c(d.e(f)))[slice():other()]
class C(base(), metaclass=meta()):
    attr: hint() = value()
"""


@pytest.mark.parametrize("source", [_EVERY_PLACE_A_CALL_GOES, *AWKWARD.values()])
def test_calls_in_finds_the_calls_ast_walk_finds(source: str) -> None:
    tree = ast.parse(textwrap.dedent(source))
    walked = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    assert len(walked) > 0
    assert sorted(map(id, calls_in(tree))) == sorted(map(id, walked))


def test_calls_in_finds_the_calls_ast_walk_finds_in_every_fixture() -> None:
    checked = 0
    for path in FIXTURES.rglob("*.py"):
        try:
            tree = ast.parse(path.read_bytes())
        except SyntaxError:
            continue  # the bad-input fixtures
        walked = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
        assert sorted(map(id, calls_in(tree))) == sorted(map(id, walked)), path
        checked += 1
    assert checked > 100
