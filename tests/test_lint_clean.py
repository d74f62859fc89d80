"""Output a reviewer merges as it is: every fixture pair and the demo app, made
lint-clean first, stay lint-clean after unjam rewrites them, at the line lengths
projects use.

Checked: ruff's isort (I001), unused-import (F401) and line-length (E501) rules, and
``ruff format --check``. A line past the limit that the formatter cannot cut either
(an f-string's replacement field that grew) is not counted as new: no layout fixes it."""

from __future__ import annotations

import dataclasses
import shutil
from collections import Counter
from pathlib import Path

import pytest
from unjam.codemods import PASSES, Options

from tests.helpers import ruff
from tests.test_fixtures import CASES, Case, _options
from unjam.pipeline.discovery import discover
from unjam.pipeline.runner import Runner

RULES = ["I", "F401", "E501"]
DEMO = Path(__file__).parent.parent / "fixtures" / "apps" / "demo"


def _rewrite_cases() -> list[Case]:
    found = []
    for case in CASES:
        sources = [case.root] if case.root.is_file() else list(case.root.rglob("*.input.py"))
        if any(s.with_name(s.name[: -len(".input.py")] + ".expected.py").exists() for s in sources):
            found.append(case)
    return found


def _errors(root: Path) -> Counter[tuple[str, str]]:
    """(file, rule) -> how many, for the lint rules and the formatter."""
    found: Counter[tuple[str, str]] = Counter()
    checked = ruff("check", "--output-format", "concise", ".", cwd=root)
    for line in checked.stdout.splitlines():
        parts = line.split(":")
        if len(parts) >= 4 and parts[0].endswith(".py"):
            found[(parts[0], parts[3].split()[0])] += 1
    formatted = ruff("format", "--check", "--output-format", "concise", ".", cwd=root)
    for line in formatted.stdout.splitlines():
        if "unformatted" in line and line.split(":")[0].endswith(".py"):
            found[(line.split(":")[0], "format")] += 1
    return found


@pytest.mark.parametrize("line_length", [79, 88, 100])
def test_rewrites_keep_lint_clean_code_clean(tmp_path: Path, line_length: int) -> None:
    project, formatted = tmp_path / "project", tmp_path / "formatted"
    project.mkdir()
    cases = _rewrite_cases()
    assert len(cases) >= 60
    (project / "pyproject.toml").write_text(
        f"[tool.ruff]\nline-length = {line_length}\n[tool.ruff.lint]\nselect = {RULES!r}\n".replace(
            "'", '"'
        )
    )
    runs = []
    for case in cases:
        root = project / f"{case.codemod.NAME}--{case.name}"
        root.mkdir()
        case.copy_to(root)
        runs.append((root, (case.codemod,), _options(case.root)))
    shutil.copytree(DEMO, project / "demo")
    runs.append((project / "demo", PASSES, Options()))
    # the lint-clean copy a project would have
    ruff("check", "--fix", "--select", "I,F401", ".", cwd=project)
    ruff("format", ".", cwd=project)
    before = _errors(project)
    changed = set()
    for root, codemods, options in runs:
        options = dataclasses.replace(options, line_length=line_length)
        runner = Runner(codemods, options, jobs=1, base=root)
        analysis = runner.analyse(discover([root], base=root).files)
        for result in runner.transform(analysis):
            assert result.error is None, result.error
            if result.after is not None:
                (root / result.shown).write_bytes(result.after)
                changed.add((root / result.shown).relative_to(project).as_posix())
    assert len(changed) >= 90
    after = _errors(project)
    # what no layout can fix: the long lines the formatter leaves long too
    shutil.copytree(project, formatted)
    ruff("format", ".", cwd=formatted)
    uncuttable = _errors(formatted)
    new = {
        key: count - before[key]
        for key, count in after.items()
        if count > before[key] and not (key[1] == "E501" and uncuttable[key] >= count)
    }
    assert new == {}, sorted(new)
