"""The registry of passes: names, order, docs."""

from __future__ import annotations

import re

from typer.testing import CliRunner
from unjam.codemods import CONTRACT_ORDER, PASSES, Safety

from unjam.cli import app

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
