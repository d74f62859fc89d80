"""``unjam probe`` runs a fixture app's own tests and finds what blocks the loop: where
the analysis sees it (fixed), and where it cannot (a lookup by name, a registry, C code
not in the catalog), each on its own line; nothing in an app that never blocks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.gitrepos import make_repo
from tests.helpers import FIXTURES

HIDDEN = FIXTURES / "probe" / "hidden"
CLEAN = FIXTURES / "probe" / "clean"


def _probe(root: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "unjam", "probe", str(root), *options, "--", "-q"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _line_of(text: str) -> int:
    lines = (HIDDEN / "service.py").read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def test_each_blocking_line_is_found_with_what_the_analysis_says_of_it() -> None:
    ran = _probe(HIDDEN, "--format", "json")
    assert ran.returncode == 1, ran.stderr
    rows = {row["line"]: row for row in json.loads(ran.stdout)}
    expected = {
        _line_of("# the analysis sees this one"): "fixed by offload-blocking",
        _line_of("# a callable found by name"): "missed",
        _line_of("# blocks, reached through the registry"): "missed",
        _line_of("# C code, not in the catalog"): "missed",
    }
    assert {line: row["static"] for line, row in rows.items()} == expected
    for row in rows.values():
        assert row["path"] == "service.py" and row["stalls"] >= 1
        assert row["max_ms"] >= 20 and row["total_ms"] >= row["max_ms"]
        assert any("test_service.py::test_" in test for test in row["tests"])
    # the plain route is also requested from a test's own loop (anyio, ASGITransport)
    plain = rows[_line_of("# the analysis sees this one")]
    assert plain["stalls"] == 2
    assert plain["routes"] == ["GET /plain"]  # read from the ASGI scope on the stack
    assert rows[_line_of("# C code, not in the catalog")]["routes"] == ["GET /compress"]
    assert any("test_plain_through_asgi_transport" in test for test in plain["tests"])
    compressed = rows[_line_of("# C code, not in the catalog")]
    assert compressed["proposal"] == 'extra-blocking = { "zlib.compress" = "other" }'
    registry = rows[_line_of("# blocks, reached through the registry")]
    assert f"service.py:{_line_of('PLUGINS[name]()')}" in registry["proposal"]


def test_an_app_that_never_blocks_has_no_stall() -> None:
    """Fails if the watchdog reports anything in this app's code."""
    ran = _probe(CLEAN, "--format", "json")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == []
    plain = subprocess.run(
        [sys.executable, "-m", "pytest", "--unjam-probe", "-q", "-p", "no:cacheprovider"],
        cwd=CLEAN,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert "no stall longer than the threshold" in plain.stdout, plain.stdout


def test_compare_shows_the_stalls_unjam_apply_removed(tmp_path: Path) -> None:
    root = tmp_path / "app"
    shutil.copytree(HIDDEN, root)
    repo = make_repo(root, {})
    applied = subprocess.run(
        [sys.executable, "-m", "unjam", "apply", ".", "--yes", "--branch", "fixed"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert applied.returncode == 0, applied.stderr
    assert repo.active_branch.name == "fixed"
    ran = _probe(root, "--compare", "main")
    total = next(line for line in ran.stderr.splitlines() if line.startswith("in all:"))
    before, now = (float(part.split(" ms")[0]) for part in total[len("in all: ") :].split(", "))
    assert now < before - 30  # the plain route's 50 ms stall is gone
    assert next(line for line in ran.stderr.splitlines() if "GET /plain" in line).endswith(
        " 0 ms now"
    )


def test_a_folder_without_tests_is_said_so(tmp_path: Path) -> None:
    """Not an empty report: nothing was watched."""
    (tmp_path / "m.py").write_text("x = 1\n")
    ran = _probe(tmp_path)
    assert ran.returncode == 2
    assert "probe: pytest found no tests to run there" in ran.stderr
