"""Facts carried over after a rewrite must be exactly the facts of a full analysis.

``check`` analyses a module again after requests-to-httpx rewrote it, carrying over the
top-level functions and classes the rewrite left alone (``analysis.reuse``). Every
fixture, a synthetic bench tree and hand-written shapes run with each such analysis
done twice, carried and in full, and the two must agree on everything: the facts, the
node index the passes read, and the units the next analysis would carry.
"""

from __future__ import annotations

import shutil
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import libcst as cst
import pytest
from unjam.codemods import PASSES, Options

import unjam.pipeline.runner
from tests.helpers import FIXTURES, write_tree
from tests.test_fixtures import CASES, Case
from unjam.analysis.catalog import default_catalog
from unjam.analysis.module import analyse_and_index
from unjam.analysis.node_index import NodeIndex
from unjam.analysis.positions import AstPositions
from unjam.analysis.qualnames import ModuleName
from unjam.analysis.reuse import carried_over
from unjam.pipeline.codegen import StatementText
from unjam.pipeline.discovery import discover
from unjam.pipeline.runner import Runner
from unjam.pipeline.source import python_ast

ROOT = Path(__file__).resolve().parent.parent


class Twice:
    """``analyse_and_index`` as the runner calls it, checked against a full analysis."""

    def __init__(self) -> None:
        self.refreshes = 0
        self.carried = 0

    def __call__(self, *args: Any, **kwargs: Any) -> tuple[Any, NodeIndex]:
        facts, index = analyse_and_index(*args, **kwargs)
        previous, text = kwargs.get("previous"), kwargs.get("text")
        if previous is not None and text is not None:
            self.refreshes += 1
            self.carried += len(carried_over(previous.units, previous.tree, args[0], text))
            full_facts, full = analyse_and_index(*args)
            assert facts == full_facts
            assert (index.functions, index.calls, index.with_lines, index.first_lines) == (
                full.functions,
                full.calls,
                full.with_lines,
                full.first_lines,
            )
            assert index.units == full.units
        return facts, index


@pytest.fixture
def twice(monkeypatch: pytest.MonkeyPatch) -> Iterator[Twice]:
    checked = Twice()
    monkeypatch.setattr(unjam.pipeline.runner, "analyse_and_index", checked)
    yield checked


def _check(root: Path) -> None:
    runner = Runner(PASSES, Options(unsafe_fixes=True), jobs=1, base=root)
    runner.check(runner.analyse(discover([root], base=root).files))


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.codemod.NAME}/{c.name}")
def test_carried_facts_equal_a_full_analysis_on_every_fixture(
    case: Case, tmp_path: Path, twice: Twice
) -> None:
    case.copy_to(tmp_path)
    _check(tmp_path)


@pytest.mark.parametrize("app", sorted((FIXTURES / "apps").iterdir()), ids=lambda p: p.name)
def test_carried_facts_equal_a_full_analysis_on_the_fixture_apps(
    app: Path, tmp_path: Path, twice: Twice
) -> None:
    shutil.copytree(app, tmp_path / app.name)
    _check(tmp_path / app.name)


SHAPES = {
    "routes.py": """
        import time
        import requests
        from fastapi import APIRouter, FastAPI

        router = APIRouter(prefix="/r")


        def create_app() -> FastAPI:
            app = FastAPI()
            inner = APIRouter()
            app.include_router(inner)

            @inner.get("/made")
            async def made() -> dict:
                with open("/tmp/x") as fh:
                    return {"n": len(fh.read())}

            app.add_api_route("/added", made)
            return app


        @router.get("/a")
        async def fetch() -> dict:
            return requests.get("http://127.0.0.1:9/a", timeout=5).json()


        @router.get("/b")
        async def sleepy() -> dict:
            await helper()
            time.sleep(1)
            with open("/tmp/b") as fh:
                text = fh.read()
            return {"text": text, "f": (lambda: time.sleep(0))}


        class Service:
            limit = 3

            async def run(self) -> None:
                await helper()
                time.sleep(self.limit)

            def sync(self) -> None:
                time.sleep(1)


        async def helper() -> None:
            pass


        async def helper() -> None:  # a later definition replaces the first
            time.sleep(0)


        @router.post("/c")
        async def post() -> dict:
            await helper()
            requests.post("http://127.0.0.1:9/c", json={}, timeout=5)
            return {}


        COUNT = 0


        async def counted() -> None:
            global COUNT
            await helper()
            COUNT += 1
            time.sleep(0)


        async def names_httpx() -> str:
            await helper()
            time.sleep(0)
            return "httpx"
    """,
}


def test_carried_facts_equal_a_full_analysis_on_shapes_and_a_bench_tree(
    tmp_path: Path, twice: Twice
) -> None:
    write_tree(tmp_path / "shapes", SHAPES)
    _check(tmp_path / "shapes")
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from synthetic import generate
    finally:
        sys.path.remove(str(ROOT / "bench"))
    generate(tmp_path / "bench", packages=1, modules_per_package=40)
    _check(tmp_path / "bench")
    assert twice.refreshes >= 5
    assert twice.carried >= 20  # the mechanism is used, not only bypassed


def _index(text: str) -> NodeIndex:
    tree = cst.parse_module(text)
    positions = AstPositions(*python_ast(text.encode(), "m.py"))
    return analyse_and_index(
        tree, "m.py", ModuleName("m", ""), default_catalog(), frozenset({"m"}), positions
    )[1]


BEFORE = textwrap.dedent(
    """
    import requests

    def plain():
        return 1

    def uses_httpx():
        return httpx.get

    def declares():
        global STATE
        STATE = 1

    class Kept:
        pass
    """
).lstrip()


def _after(before: cst.Module, body: list[cst.BaseStatement]) -> cst.Module:
    return before.with_changes(body=body)


def _carried_names(before: NodeIndex, after: cst.Module) -> set[str]:
    text = StatementText()
    carried = carried_over(before.units, before.tree, after, text.of)
    return {
        statement.name.value
        for statement in after.body
        if id(statement) in carried and isinstance(statement, cst.FunctionDef | cst.ClassDef)
    }


def test_a_statement_naming_a_changed_binding_is_analysed_again() -> None:
    before = _index(BEFORE)
    body = list(before.tree.body)
    body[0] = cst.parse_statement("import httpx\n")
    assert _carried_names(before, _after(before.tree, body)) == {"plain", "Kept"}


def test_nothing_changed_carries_every_unit_but_a_global_declaration() -> None:
    before = _index(BEFORE)
    after = _after(before.tree, list(before.tree.body))
    assert _carried_names(before, after) == {"plain", "uses_httpx", "Kept"}


def test_a_changed_function_counts_by_its_name_unless_it_declares_globals() -> None:
    before = _index(BEFORE + "\ndef other():\n    return plain\n")
    body = list(before.tree.body)
    body[1] = cst.parse_statement("def plain():\n    return 2\n")
    assert "other" not in _carried_names(before, _after(before.tree, body))
    assert "Kept" in _carried_names(before, _after(before.tree, body))
    body = list(before.tree.body)
    body[3] = cst.parse_statement("def declares():\n    global Kept\n    Kept = 1\n")
    assert "Kept" not in _carried_names(before, _after(before.tree, body))


def test_a_star_import_or_another_layout_carries_nothing() -> None:
    before = _index(BEFORE)
    body = list(before.tree.body)
    body[0] = cst.parse_statement("from requests import *\n")
    assert _carried_names(before, _after(before.tree, body)) == set()
    crlf = before.tree.with_changes(default_newline="\r\n")
    assert _carried_names(before, crlf) == set()


def test_a_statement_without_known_text_is_analysed_again() -> None:
    before = _index(BEFORE)
    after = _after(before.tree, list(before.tree.body))
    carried = carried_over(before.units, before.tree, after, lambda module, statement: None)
    assert carried == {}


def test_a_unit_that_does_not_fit_the_positions_falls_back_to_a_full_analysis(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from unjam.analysis.locator import AstLocator
    from unjam.analysis.positions import PositionMismatch

    refused: list[str] = []
    skipped: list[str] = []
    skip = AstLocator.skip

    def watched(self: AstLocator, *args: Any) -> int:
        skipped.append(args[1].name)
        try:
            return skip(self, *args)
        except PositionMismatch as mismatch:
            refused.append(str(mismatch))
            raise

    monkeypatch.setattr(AstLocator, "skip", watched)
    before = _index(BEFORE)
    text = BEFORE.replace("def plain", "\n\ndef plain")  # two lines more above plain
    tree = cst.parse_module(text)
    tree = tree.with_changes(body=[tree.body[0], *before.tree.body[1:]])  # same nodes
    positions = AstPositions(*python_ast(text.encode(), "m.py"))
    statements = StatementText()
    for statement in before.tree.body:
        statements.of(before.tree, statement)
    # one statement too many: the unit's end is not where CPython's positions put it
    wrong = {
        key: replace(unit, statements=unit.statements + 1) for key, unit in before.units.items()
    }
    args = (tree, "m.py", ModuleName("m", ""), default_catalog(), frozenset({"m"}), positions)
    facts, index = analyse_and_index(
        *args, previous=NodeIndex(before.tree, units=wrong), text=statements.known
    )
    assert refused  # the carried units were tried, and CPython's positions refused them
    assert (facts, index.units) == (analyse_and_index(*args)[0], analyse_and_index(*args)[1].units)
    refused.clear()
    skipped.clear()
    right, _ = analyse_and_index(*args, previous=before, text=statements.known)
    assert right == facts
    assert skipped and not refused  # the right units are carried, two lines further down


def test_a_fresh_parse_carries_nothing_and_reads_no_statement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``diff`` re-parses each rewrite: no node is kept, and nothing is walked for names."""
    import unjam.analysis.reuse as reuse

    before = _index(BEFORE)

    def walked(statement: cst.BaseStatement) -> set[str]:
        raise AssertionError("walked a statement for its names")

    monkeypatch.setattr(reuse, "_names", walked)
    text = StatementText()
    assert carried_over(before.units, before.tree, cst.parse_module(BEFORE), text.of) == {}
