"""What unjam says about a file does not depend on the paths it is given: the file
alone, its folder or the project's root give the same findings and the same rewrite
for it (the analysis always covers the project the paths are in)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers import FIXTURES
from unjam.cli import app

APPS = [FIXTURES / "apps" / "demo", FIXTURES / "apps" / "routers"]


def _findings(*args: str) -> dict[str, list[dict[str, object]]]:
    result = CliRunner().invoke(app, ["check", *args, "--format", "json", "--jobs", "1"])
    assert result.exit_code in (0, 1), result.stderr
    found: dict[str, list[dict[str, object]]] = {}
    for finding in json.loads(result.stdout):
        found.setdefault(str(finding["path"]), []).append(finding)
    return found


def _diff_of(path: str, *args: str) -> str:
    result = CliRunner().invoke(app, ["diff", *args, "--jobs", "1"])
    chunks = result.stdout.split("diff --git ")
    return next((chunk for chunk in chunks if chunk.startswith(f"a/{path} ")), "")


@pytest.mark.parametrize("root", APPS, ids=lambda p: p.name)
def test_a_file_folder_or_root_give_the_same_answer_for_the_file(root: Path) -> None:
    whole = _findings(str(root))
    assert whole  # files with findings to compare
    for path, findings in whole.items():
        alone = _findings(path)
        folder = _findings(str(Path(path).parent))
        assert alone == {path: findings}, path
        assert folder.get(path) == findings, path
        assert _diff_of(path, path) == _diff_of(path, str(root)), path
