"""Lint, format and types are part of the suite, so CI's single command checks them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_ruff_lint() -> None:
    result = _run("ruff", "check", "src", "codemods", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = _run("ruff", "format", "--check", "src", "codemods", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict(tmp_path: Path) -> None:
    # mypy cannot follow setuptools' package-dir mapping (codemods/ ships as
    # unjam.codemods), so it checks a mirror of the installed layout made of symlinks.
    package = tmp_path / "unjam"
    package.mkdir()
    for entry in (ROOT / "src" / "unjam").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    (package / "codemods").symlink_to(ROOT / "codemods")
    result = _run(
        "mypy", "--config-file", str(ROOT / "pyproject.toml"), "-p", "unjam", cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = next(line for line in ci.splitlines() if line.startswith("python3 -m venv"))
    assert command in readme
