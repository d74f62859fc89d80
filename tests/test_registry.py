"""The registry of passes: names, order, docs."""

from __future__ import annotations

import re

import libcst as cst
import pytest
from libcst.codemod import CodemodContext
from libcst.matchers import MatcherDecoratableTransformer, MatcherDecoratableVisitor
from typer.testing import CliRunner
from unjam.codemods import CONTRACT_ORDER, PASSES, Options, Safety

from tests.helpers import EveryModule
from unjam.analysis.project import ModuleView
from unjam.cli import app
from unjam.pipeline.runner import run_source

SECTIONS = ("## What it does", "## Why is this bad?", "## Example", "Use instead:", "## Fix safety")


def test_names_are_unique_kebab_case_and_match_their_module() -> None:
    names = [codemod.NAME for codemod in PASSES]
    assert len(names) == len(set(names))
    for codemod in PASSES:
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", codemod.NAME)
        assert codemod.__module__ == "unjam.codemods." + codemod.NAME.replace("-", "_")


def test_passes_run_in_the_contract_order() -> None:
    names = [codemod.NAME for codemod in PASSES]
    assert names == [name for name in CONTRACT_ORDER if name in names]
    assert set(names) <= set(CONTRACT_ORDER)


def test_docs_follow_the_ruff_layout() -> None:
    for codemod in PASSES:
        docs = codemod.documentation()
        for section in SECTIONS:
            assert section in docs, (codemod.NAME, section)
        assert isinstance(codemod.SAFETY, Safety)
        assert codemod.DESCRIPTION.endswith(".") and len(codemod.DESCRIPTION) < 100


def test_explain_prints_the_docs_and_codemods_lists_them() -> None:
    runner = CliRunner()
    for codemod in PASSES:
        result = runner.invoke(app, ["explain", codemod.NAME])
        assert result.exit_code == 0
        assert result.stdout.startswith(f"# {codemod.NAME}\n")
        assert "## Fix safety" in result.stdout
    listing = runner.invoke(app, ["codemods"])
    assert all(codemod.NAME in listing.stdout for codemod in PASSES)


def test_passes_and_their_import_helpers_skip_libcsts_matcher_set_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """libcst's matcher-decoratable constructors gather decorators with ``inspect``
    (about 8 ms each, for every pass and import helper on every file); none of these
    classes uses the matcher dispatch, so none may run them."""

    def refuse(self: object, *args: object, **kwargs: object) -> None:
        raise AssertionError(f"{type(self).__name__} ran libcst's matcher set-up")

    monkeypatch.setattr(MatcherDecoratableTransformer, "__init__", refuse)
    monkeypatch.setattr(MatcherDecoratableVisitor, "__init__", refuse)
    source = (
        "import time\nimport requests\n\n\n"
        "async def handler():\n    await other()\n    time.sleep(1)\n"
        "    return requests.get('http://127.0.0.1:9/').json()\n\n\n"
        "async def other():\n    return None\n"
    )
    result = run_source(source, PASSES)
    assert result.error is None
    assert result.after is not None
    assert b"import anyio" in result.after and b"import httpx" in result.after


class _ShoutComments(EveryModule):
    """A pass with a hook on comments: the walk must not skip them for it."""

    NAME = "shout-comments"

    def leave_Comment(self, original_node: cst.Comment, updated_node: cst.Comment) -> cst.Comment:
        return updated_node.with_changes(value=updated_node.value.upper())


def test_passes_skip_punctuation_unless_they_have_a_hook_on_it() -> None:
    """The passes' walks leave whitespace, comments and punctuation out (see fastwalk);
    a pass that has a hook on one of them gets them all."""
    source = "import time\n\n\nasync def nap():  # short\n    time.sleep(1)  # blocks\n"
    result = run_source(source, [_ShoutComments])
    assert (
        result.after
        == source.replace("# short", "# SHORT").replace("# blocks", "# BLOCKS").encode()
    )
    view = ModuleView("example.py", "example", {}, {})
    assert all(p(CodemodContext(), view, Options()).skips_trivia for p in PASSES)
    assert not _ShoutComments(CodemodContext(), view, Options()).skips_trivia
    assert not _WatchesParentheses(CodemodContext(), view, Options()).skips_trivia


class _WatchesParentheses(EveryModule):
    """An attribute hook may be on a field only punctuation fills (``Call.lpar``)."""

    NAME = "watches-parentheses"

    def visit_Call_lpar(self, node: cst.Call) -> None:
        return None


def test_the_registry_names_every_pass_a_module_defines() -> None:
    """``REGISTRY`` lists the passes without importing them: every codemod module's
    pass must be in it, under its own ``NAME``, with ``load`` finding its class."""
    import importlib
    import pkgutil

    import unjam.codemods
    from unjam.codemods import REGISTRY, Codemod

    defined = set()
    for found in pkgutil.iter_modules(unjam.codemods.__path__):
        if found.name.startswith("_"):
            continue
        module = importlib.import_module(f"unjam.codemods.{found.name}")
        defined |= {
            value.NAME
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, Codemod)
            and value.__module__ == module.__name__
        }
    assert defined == {entry.name for entry in REGISTRY}
    assert [entry.load().NAME for entry in REGISTRY] == [entry.name for entry in REGISTRY]
