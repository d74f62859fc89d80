"""The analysis' ``NodeIndex`` must say what a pass would learn by walking the tree itself.

Passes read function names, call indexes and ``with`` lines from it when they walk the
tree the analysis walked, and work them out themselves otherwise: both ways must give
the same answers, and the same rewrites.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider
from unjam.codemods import PASSES, Options
from unjam.codemods._nodes import index_module

from tests.helpers import FIXTURES
from tests.test_fixtures import CASES, Case
from tests.test_positions import AWKWARD
from unjam.analysis.catalog import default_catalog
from unjam.analysis.module import analyse_and_index
from unjam.analysis.node_index import NodeIndex
from unjam.analysis.positions import AstPositions
from unjam.analysis.qualnames import ModuleName
from unjam.pipeline.discovery import discover
from unjam.pipeline.runner import FileResult, Runner
from unjam.pipeline.source import python_ast

WITH_BLOCKS = """
    import time
    class Service:
        def helper(self): ...
        async def run(self, p, q):
            with open(p) as fh: a = 1
            with open(p) as fh: a = 1; b = 2  # trailing
            with (open(p) as fh,
                  open(q) as g):
                x = '''
                multi
                '''
            with open(p) \\
                    as fh:
                if a:
                    pass
                else:
                    b = [
                      1,
                    ]
                # indented comment

            # dedented comment
            async with lock:
                try:
                    pass
                finally:
                    x = 1 \\
                        + 2
            with a:
                with b:
                    def inner():
                        with c: time.sleep(1)
            return x
    def helper(): ...
    def helper(): ...  # the later definition owns the name
    async def outer():
        def helper():
            with open("p"): pass
        return helper
"""


def _sources() -> list[tuple[str, str]]:
    found = [(name, textwrap.dedent(text).lstrip("\n")) for name, text in AWKWARD.items()]
    found.append(("with blocks", textwrap.dedent(WITH_BLOCKS).lstrip("\n")))
    for path in sorted(FIXTURES.rglob("*.py")):
        found.append((str(path.relative_to(FIXTURES)), path.read_text(encoding="utf-8")))
    return found


SOURCES = _sources()


def _index(text: str, cpython_positions: bool) -> NodeIndex:
    tree = cst.parse_module(text)
    try:
        positions = AstPositions(*python_ast(text.encode(), "m.py")) if cpython_positions else None
    except Exception:
        positions = None
    name = ModuleName("pkg.m", "pkg")
    _, index = analyse_and_index(
        tree, "m.py", name, default_catalog(), frozenset({"pkg"}), positions
    )
    return index


def _with_lines(tree: cst.Module) -> dict[int, tuple[int, int]]:
    wrapper = MetadataWrapper(tree, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    return {
        id(node): (positions[node].start.line, positions[node].end.line)
        for node in positions
        if isinstance(node, cst.With)
    }


@pytest.mark.parametrize("cpython_positions", [True, False], ids=["cpython", "libcst"])
@pytest.mark.parametrize(("name", "text"), SOURCES, ids=[name for name, _ in SOURCES])
def test_index_is_what_a_walk_of_the_tree_finds(
    name: str, text: str, cpython_positions: bool
) -> None:
    index = _index(text, cpython_positions)
    functions, calls = index_module(index.tree, "pkg.m")
    assert index.functions == functions
    assert index.calls == calls
    assert index.with_lines == _with_lines(index.tree)


def test_the_with_blocks_source_covers_what_it_means_to() -> None:
    index = _index(textwrap.dedent(WITH_BLOCKS).lstrip("\n"), cpython_positions=True)
    assert len(index.with_lines) == 9
    assert sorted(index.functions.values()).count("pkg.m.helper") == 1
    assert "pkg.m.outer.<locals>.helper" in index.functions.values()
    assert "pkg.m.Service.run.<locals>.inner" in index.functions.values()


def test_index_describes_only_its_own_tree() -> None:
    index = _index("def f():\n    g()\n", cpython_positions=True)
    assert index.of(index.tree) is index
    assert index.of(cst.parse_module("def f():\n    g()\n")) is None


def _project(root: Path) -> list[FileResult]:
    runner = Runner(PASSES, Options(unsafe_fixes=True), jobs=1, base=root)
    analysis = runner.analyse(discover([root], base=root).files)
    return sorted(runner.transform(analysis), key=lambda result: result.shown)


def _outcome(results: list[FileResult]) -> list[tuple[object, ...]]:
    return [
        (r.shown, r.after, r.error, [(s.codemod, s.location, s.message, s.fixed) for s in r.sites])
        for r in results
    ]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.codemod.NAME}/{c.name}")
def test_passes_rewrite_the_same_without_the_index(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every pass together, once reading the analysis' index and once walking for it."""
    case.copy_to(tmp_path)
    walked: list[int] = []
    original = index_module

    def counted(module: cst.Module, name: str) -> tuple[dict[int, str], dict[int, int]]:
        walked.append(1)
        return original(module, name)

    monkeypatch.setattr("unjam.codemods._base.index_module", counted)
    with_index = _outcome(_project(tmp_path))
    walks_with_index = len(walked)
    monkeypatch.setattr(NodeIndex, "of", lambda self, tree: None)
    without_index = _outcome(_project(tmp_path))
    assert with_index == without_index
    # A pass walks for the index only where no analysis saw the tree it walks (a
    # module with light facts only, a tree parsed again after a rewrite).
    assert walks_with_index <= len(walked) - walks_with_index


def test_check_on_the_demo_walks_no_analysed_tree_again(monkeypatch: pytest.MonkeyPatch) -> None:
    walked: list[str] = []
    original = index_module

    def counted(module: cst.Module, name: str) -> tuple[dict[int, str], dict[int, int]]:
        walked.append(name)
        return original(module, name)

    monkeypatch.setattr("unjam.codemods._base.index_module", counted)
    demo = FIXTURES / "apps" / "demo"
    runner = Runner(PASSES, jobs=1, base=demo)
    found = runner.check(runner.analyse(discover([demo], base=demo).files))
    assert sum(len(result.sites) for result in found) >= 6  # passes did run
    assert walked == []
    monkeypatch.setattr(NodeIndex, "of", lambda self, tree: None)
    runner.check(runner.analyse(discover([demo], base=demo).files))
    assert walked != []
