"""Output a reviewer merges as it is: every fixture pair, made lint-clean first, stays
lint-clean after unjam rewrites it, at the line lengths projects use.

Checked: ruff's isort (I) and unused-import (F401) rules. Line length (E501) and
``ruff format --check`` are measured by the same helper but not yet asserted: a user's
multi-line statement that a rewrite changes keeps the user's layout, which the
formatter may lay out differently (see ``codemods/_wrap.py`` for what is wrapped)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.test_fixtures import CASES, Case, _options
from unjam.discovery import discover
from unjam.runner import Runner

RULES = ["I", "F401", "E501"]
#: What must not get worse; E501 and "format" are read too, for the figures.
ASSERTED = frozenset({"I001", "F401"})


def _rewrite_cases() -> list[Case]:
    found = []
    for case in CASES:
        sources = [case.root] if case.root.is_file() else list(case.root.rglob("*.input.py"))
        if any(s.with_name(s.name[: -len(".input.py")] + ".expected.py").exists() for s in sources):
            found.append(case)
    return found


def _ruff(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def _errors(root: Path) -> Counter[tuple[str, str]]:
    """(file, rule) -> how many, for the lint rules and the formatter."""
    found: Counter[tuple[str, str]] = Counter()
    checked = _ruff("check", "--no-cache", "--output-format", "concise", ".", cwd=root)
    for line in checked.stdout.splitlines():
        parts = line.split(":")
        if len(parts) >= 4 and parts[0].endswith(".py"):
            found[(parts[0], parts[3].split()[0])] += 1
    formatted = _ruff(
        "format", "--check", "--no-cache", "--output-format", "concise", ".", cwd=root
    )
    for line in formatted.stdout.splitlines():
        if "unformatted" in line and line.split(":")[0].endswith(".py"):
            found[(line.split(":")[0], "format")] += 1
    return found


@pytest.mark.parametrize("line_length", [79, 88, 100])
def test_rewrites_keep_lint_clean_code_clean(tmp_path: Path, line_length: int) -> None:
    cases = _rewrite_cases()
    assert len(cases) >= 60
    (tmp_path / "pyproject.toml").write_text(
        f"[tool.ruff]\nline-length = {line_length}\n[tool.ruff.lint]\nselect = {RULES!r}\n".replace(
            "'", '"'
        )
    )
    roots = {}
    for case in cases:
        root = tmp_path / f"{case.codemod.NAME}--{case.name}"
        root.mkdir()
        case.copy_to(root)
        roots[case] = root
    # the lint-clean copy a project would have
    _ruff("check", "--fix", "--no-cache", "--select", "I,F401", ".", cwd=tmp_path)
    _ruff("format", "--no-cache", ".", cwd=tmp_path)
    before = _errors(tmp_path)
    for case, root in roots.items():
        options = dataclasses.replace(_options(case.root), line_length=line_length)
        runner = Runner((case.codemod,), options, jobs=1, base=root)
        analysis = runner.analyse(discover([root], base=root).files)
        for result in runner.transform(analysis):
            assert result.error is None, result.error
            if result.after is not None:
                (root / result.shown).write_bytes(result.after)
    after = _errors(tmp_path)
    new = {
        key: count - before[key]
        for key, count in after.items()
        if count > before[key] and key[1] in ASSERTED
    }
    assert new == {}, sorted(new)
