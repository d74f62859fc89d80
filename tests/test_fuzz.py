"""Random FastAPI modules (``tests/fuzz.py``) through every pass, unsafe fixes on: no
crash, output that compiles, a second run that changes nothing, and every function
without a fix reported in it byte for byte as it was. New seeds every run; a failure
prints its seed (``UNJAM_FUZZ_SEED=<seed>`` replays it)."""

from __future__ import annotations

import ast
import os
import random
from pathlib import Path

import pytest
from unjam.codemods import PASSES, Options

from tests.fuzz import module
from unjam.pipeline.discovery import discover
from unjam.pipeline.runner import FileResult, Runner

PROJECTS = 4
MODULES_PER_PROJECT = 25


def _run(root: Path) -> list[FileResult]:
    runner = Runner(PASSES, Options(unsafe_fixes=True), jobs=1, base=root)
    analysis = runner.analyse(discover([root], base=root).files)
    assert analysis.errors == [], analysis.errors
    return runner.transform(analysis)


def _top_level(source: str) -> dict[str, str]:
    """Each top-level function and class of ``source`` with its text."""
    tree = ast.parse(source)
    return {
        node.name: ast.get_source_segment(source, node) or ""
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }


@pytest.mark.parametrize("project", range(PROJECTS))
def test_random_modules_keep_the_promises(project: int, tmp_path: Path) -> None:
    fixed_seed = os.environ.get("UNJAM_FUZZ_SEED")
    seed = int(fixed_seed) if fixed_seed else random.randrange(1 << 30)
    rng = random.Random(seed)
    for index in range(MODULES_PER_PROJECT):
        (tmp_path / f"mod_{index}.py").write_text(module(rng.randrange(1 << 30)))
    first = _run(tmp_path)
    changed = 0
    for result in first:
        assert result.error is None, f"seed {seed}: {result.error}"
        if not result.changed or result.after is None:
            continue
        changed += 1
        after = result.after.decode()
        compile(after, result.shown, "exec")  # what unjam writes compiles
        fixed = {part for site in result.sites if site.fixed for part in site.function.split(".")}
        before = _top_level(result.before.decode())
        now = _top_level(after)
        for name, text in before.items():
            if name not in fixed:
                assert now.get(name) == text, f"seed {seed}: {result.shown}: {name} changed"
        (tmp_path / result.shown).write_bytes(result.after)
    assert changed > 0, f"seed {seed}: nothing was rewritten, so little was tested"
    again = [r.shown for r in _run(tmp_path) if r.changed]
    assert again == [], f"seed {seed}: a second run changes {again}"
