"""The read-only walk must be libcst's traversal minus the copies: same calls, same nodes,
same order, same facts; and libcst must be itself again outside it."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import libcst as cst
import libcst.matchers as m
import pytest
from libcst.metadata import MetadataWrapper, ParentNodeProvider, ScopeProvider
from unjam.codemods._local_metadata import LocalMetadata
from unjam.codemods._nodes import nodes_in

from unjam._speed import fastwalk
from unjam._speed.fastwalk import fast_walks
from unjam.analysis.catalog import default_catalog
from unjam.analysis.module import analyse_and_index
from unjam.analysis.positions import AstPositions
from unjam.analysis.qualnames import ModuleName
from unjam.pipeline.source import SourceError, python_ast

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_SOURCES = sorted((ROOT / "fixtures").rglob("*.py"))
SOURCES = FIXTURE_SOURCES + sorted((ROOT / "src").rglob("*.py"))
ORIGINAL_VISIT = cst.CSTNode.visit


@contextmanager
def _shortcut_on() -> Iterator[None]:
    """``fast_walks()``, failing the test if the shortcut is not really on (a comparison
    with libcst's own walk on both sides would pass whatever the shortcut does)."""
    with fast_walks():
        assert cst.CSTNode.visit is not ORIGINAL_VISIT
        yield


def _events(module: cst.Module) -> list[tuple[str, int, str]]:
    recorder = fastwalk._Recorder()
    module.visit(recorder)
    return recorder.events


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_same_calls_in_the_same_order(path: Path) -> None:
    module = cst.parse_module(path.read_bytes())
    expected = _events(module)
    with _shortcut_on():
        walked = _events(module)
    assert walked == expected


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_transformers_get_the_same_calls_and_build_the_same_tree(path: Path) -> None:
    """A transformer that renames, removes and flattens all over each file; where libcst
    refuses a removal (a comma a node cannot lose), the shortcut refuses it the same way."""
    module = cst.parse_module(path.read_bytes())
    libcst_rewriter, rewriter = fastwalk._Rewriter(), fastwalk._Rewriter()
    expected = _outcome(module, libcst_rewriter)
    with _shortcut_on():
        rewritten = _outcome(module, rewriter)
    assert rewriter.events == libcst_rewriter.events
    if isinstance(expected, str):
        assert rewritten == expected
    else:
        assert isinstance(rewritten, cst.Module)
        assert rewritten.code == expected.code
        assert rewritten.deep_equals(expected)


def _outcome(module: cst.Module, rewriter: cst.CSTTransformer) -> cst.Module | str:
    try:
        return module.visit(rewriter)
    except TypeError as refused:
        return str(refused)


def test_an_untouched_subtree_is_not_copied() -> None:
    module = cst.parse_module("def f():\n    return 1\n\ndef g():\n    return x\n")
    with _shortcut_on():
        rewritten = module.visit(fastwalk._Rewriter())
    assert isinstance(rewritten, cst.Module)
    assert rewritten.body[0] is module.body[0]  # f has no x: the same node
    assert rewritten.body[1] is not module.body[1]
    assert rewritten.code == "def f():\n    return 1\n\ndef g():\n    return renamed\n"


def test_sample_covers_the_grammar_and_agrees() -> None:
    module = cst.parse_module(fastwalk._SAMPLE)
    kinds = {type(node).__name__ for node in _nodes(module)}
    # The statements and expressions a route module is made of, and the rarer forms.
    for kind in ("Match", "TypeAlias", "TryStar", "NamedExpr", "Lambda", "FormattedString"):
        assert kind in kinds
    assert fastwalk._agrees_with_libcst()
    rewritten = module.visit(fastwalk._Rewriter())
    assert isinstance(rewritten, cst.Module)
    assert "renamed" in rewritten.code and "continue; break" in rewritten.code


def _nodes(module: cst.Module) -> list[cst.CSTNode]:
    seen: list[cst.CSTNode] = []

    class Collect(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            seen.append(node)
            return True

    module.visit(Collect())
    return seen


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "fixtures").rglob("*.input.py"))[:40]
    + sorted((ROOT / "fixtures/apps").rglob("*.py")),
    ids=lambda p: p.relative_to(ROOT).as_posix(),
)
def test_same_facts(path: Path) -> None:
    data = path.read_bytes()

    def facts() -> object:
        return analyse_and_index(
            cst.parse_module(data),
            path.name,
            ModuleName(path.stem.split(".")[0], ""),
            default_catalog(),
            frozenset(),
            AstPositions(*python_ast(data, path.name)),
        )[0]

    expected = facts()
    with _shortcut_on():
        walked = facts()
    assert walked == expected


def test_metadata_providers_agree() -> None:
    module = cst.parse_module((ROOT / "fixtures/apps/demo/demo/main.py").read_bytes())

    def resolved() -> tuple[list[object], list[int]]:
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        scopes = wrapper.resolve(ScopeProvider)
        parents = wrapper.resolve(ParentNodeProvider)
        names = [
            sorted(q.name for q in scope.get_qualified_names_for(node))
            if (scope := scopes.get(node)) is not None and isinstance(node, cst.Name)
            else None
            for node in _nodes(module)
        ]
        return names, [id(parents.get(node)) for node in _nodes(module)]

    expected = resolved()
    with _shortcut_on():
        walked = resolved()
    assert walked == expected
    assert any(names for names in expected[0])


def test_libcst_is_restored_even_after_an_error() -> None:
    with pytest.raises(RuntimeError), fast_walks(), fast_walks():
        raise RuntimeError("boom")
    assert cst.CSTNode.visit is ORIGINAL_VISIT
    assert cst.BatchableCSTVisitor.get_visitors is fastwalk._ORIGINAL_GET_VISITORS


def test_transformers_still_rebuild_inside() -> None:
    class Rename(cst.CSTTransformer):
        def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
            return (
                updated_node.with_changes(value="y") if original_node.value == "x" else updated_node
            )

    module = cst.parse_module("x = 1  # keep\nprint(x)\n")
    with _shortcut_on():
        assert module.visit(Rename()).code == "y = 1  # keep\nprint(y)\n"


def test_falls_back_to_libcst_when_the_check_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastwalk, "_verified", False)
    with fast_walks():
        assert cst.CSTNode.visit is ORIGINAL_VISIT


def test_skipped_attribute_hooks_are_only_the_empty_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """Calling a real hook's skip is caught: pretend ClassDef.bases has none."""
    module = cst.parse_module(fastwalk._SAMPLE)
    expected = fastwalk._HookedRecorder()
    module.visit(expected)
    assert ("visit_attribute", "bases") in {(kind, field) for kind, _, field in expected.events}
    with _shortcut_on():
        walked = fastwalk._HookedRecorder()
        module.visit(walked)
    assert walked.events == expected.events
    monkeypatch.setattr(fastwalk, "_CLASS_HOOKS", {fastwalk._HookedRecorder: {}})
    assert not fastwalk._agrees_with_libcst()


def test_a_walk_that_differs_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The start-up check can fail: drop one field libcst visits and it says so."""
    monkeypatch.setattr(fastwalk, "_ORDER", {})
    real = fastwalk._fields_of

    def missing_orelse(node_type: type[cst.CSTNode]) -> tuple[fastwalk._Field, ...] | None:
        fields = real(node_type)
        if node_type is cst.If and fields is not None:
            return tuple(field for field in fields if field.name != "orelse")
        return fields

    monkeypatch.setattr(fastwalk, "_fields_of", missing_orelse)
    assert not fastwalk._agrees_with_libcst()


def test_a_transform_that_differs_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keeping lines a removal emptied (libcst drops them) fails the start-up check."""
    real = fastwalk._transform_many

    def keeps_emptied_lines(
        values: object, transformer: object, helper: str, hooks: object
    ) -> object:
        return real(values, transformer, helper.replace("visit_body", "visit"), hooks)  # type: ignore[arg-type]

    monkeypatch.setattr(fastwalk, "_transform_many", keeps_emptied_lines)
    assert not fastwalk._agrees_with_libcst()


def test_a_skipped_file_passes_through_unchanged() -> None:
    """``SourceError`` leaves a ``with fast_walks()`` block as itself (a frozen dataclass
    exception could not take the traceback Python sets on the way out) and survives the
    trip back from a worker process."""
    with pytest.raises(SourceError) as raised, fast_walks():
        raise SourceError("app/main.py", "cannot decode")
    assert str(raised.value) == "app/main.py: cannot decode"
    assert str(pickle.loads(pickle.dumps(raised.value))) == "app/main.py: cannot decode"


def _scope_facts(module: cst.Module) -> list[object]:
    """Every scope's assignments (with the order index libcst gives them, which the
    node-type question counts) and accesses, and every name's qualified names."""
    scopes = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ScopeProvider)
    facts: list[object] = []
    seen: set[int] = set()
    for node in _nodes(module):
        scope = scopes.get(node)
        if scope is None:
            continue
        if isinstance(node, cst.Name):
            facts.append(sorted(q.name for q in scope.get_qualified_names_for(node)))
        if id(scope) in seen:
            continue
        seen.add(id(scope))
        facts.append(
            sorted(
                (a.name, type(a.node).__name__, getattr(a, "_index", -1), len(a.references))
                for a in scope.assignments
            )
        )
        facts.append(
            sorted(
                (len(access.referents), access.is_type_hint, access.is_annotation)
                for access in scope.accesses
            )
        )
    return facts


#: Calls whose arguments libcst reads as type hints, spelled every way an import allows.
_TYPING_CALLS = """
import typing
import typing as t
from typing import NewType, TypeVar as TV, cast as c
from typing import cast
UserId = NewType("UserId", int)
T = TV("T", bound="Base")
S = typing.TypeVar("S", "Base", int)
def f(x: object) -> None:
    a = cast("Base", x)
    b = c("list[Base]", x)
    d = t.cast("Base", x)
    e = typing.cast(int, x)
    g = x.cast("Base")
    h = obj.method("Base").cast("Base")
    class typing:
        cast = staticmethod(lambda kind, value: value)
    i = typing.cast("Base", x)
class Base: ...
"""


def test_scope_analysis_is_libcsts_for_typing_calls() -> None:
    module = cst.parse_module(_TYPING_CALLS)
    expected = _scope_facts(module)
    scopes = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ScopeProvider)
    hints = [a for scope in set(scopes.values()) if scope for a in scope.accesses if a.is_type_hint]
    assert len(hints) >= 6  # 7 with this libcst: int in UserId, S and e, four quoted names
    with _shortcut_on():
        walked = _scope_facts(module)
    assert walked == expected


def test_parents_of_a_function_are_libcsts() -> None:
    """``LocalMetadata.parents`` walks instead of asking libcst's provider: the map must
    be the provider's, node for node, on every function of the fixtures."""
    compared = 0
    for path in FIXTURE_SOURCES:
        module = cst.parse_module(path.read_bytes())
        # A nested function's nodes are in its outermost function's map already.
        for function in _outermost(module):
            local = LocalMetadata(function, None)
            expected = dict(local._wrapper.resolve(ParentNodeProvider))
            with _shortcut_on():
                walked = local.parents.parent
            assert walked == expected
            assert all(walked[node] is expected[node] for node in expected)
            compared += 1
    assert compared > 100


def _outermost(module: cst.Module) -> list[cst.FunctionDef]:
    found: list[cst.FunctionDef] = []

    class Collect(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            found.append(node)
            return False

    module.visit(Collect())
    return found


def _by_children(node: cst.CSTNode) -> list[cst.CSTNode]:
    found = [node]
    for child in node.children:
        found.extend(_by_children(child))
    return found


def test_nodes_of_a_with_block_are_libcsts_children() -> None:
    """offload-blocking orders a with block's names by ``nodes_in``, a walk: it must
    list what libcst's ``children`` list, in the same order."""
    compared = 0
    for path in FIXTURE_SOURCES:
        module = cst.parse_module(path.read_bytes())
        for node in m.findall(module, m.With()):
            expected = _by_children(node)
            with _shortcut_on():
                walked = nodes_in(node)
            assert [id(found) for found in walked] == [id(found) for found in expected]
            compared += 1
    assert compared > 10


class _TriviaBlindRecorder(fastwalk._Recorder):
    skips_trivia = True


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_a_walk_that_skips_trivia_misses_only_trivia(path: Path) -> None:
    """A visitor that says ``skips_trivia`` gets every other node, in libcst's order:
    whitespace and punctuation hold nothing else, and nothing else sits where only
    they can (libcst's own annotations)."""
    module = cst.parse_module(path.read_bytes())
    every = nodes_in(module)  # libcst's own walk: the shortcut is not on here
    below_trivia = [
        found
        for node in every
        if isinstance(node, fastwalk._TRIVIA)
        for found in _by_children(node)[1:]
        if not isinstance(found, fastwalk._TRIVIA)
    ]
    assert below_trivia == []
    full, lean = fastwalk._Recorder(), _TriviaBlindRecorder()
    with _shortcut_on():
        module.visit(full)
        module.visit(lean)
    assert any(isinstance(node, fastwalk._TRIVIA) for node in every) or not module.body
    kept = {id(node) for node in every if not isinstance(node, fastwalk._TRIVIA)}
    nodes_only = {"visit", "leave"}  # a field only trivia can fill gets no attribute hooks
    assert [event for event in lean.events if event[0] in nodes_only] == [
        event for event in full.events if event[1] in kept and event[0] in nodes_only
    ]


def test_a_batch_with_hooks_below_the_module_is_walked_in_full() -> None:
    """Only a batch whose hooks are all on the module stops there: a provider with a
    hook on names still sees every name."""

    class Names(cst.BatchableCSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[str] = []

        def visit_Name(self, node: cst.Name) -> None:
            self.seen.append(node.value)

    module = cst.parse_module("import os\nx = os.sep\n")
    names = Names()
    with _shortcut_on():
        cst.visit_batched(module, [names])
    assert names.seen == ["os", "x", "os", "sep"]
