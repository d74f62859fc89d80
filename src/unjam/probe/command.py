"""``unjam probe``: run the project's tests with the plugin on, then say, per source
line, how long the loop was blocked there and what the static analysis says of it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from unjam.probe.stalls import Line, by_line
from unjam.probe.static import Known, verdict
from unjam.probe.watchdog import Stall

#: pytest's exit code when it collected nothing.
NO_TESTS_COLLECTED = 5


class TestsDidNotRun(Exception):
    """The probe had nothing to watch; the message says why."""


def run_tests(root: Path, pytest_args: Sequence[str], threshold_ms: float) -> list[Stall]:
    """The stalls of one run of the tests (``python -m pytest`` in ``root``, with the
    plugin on; the exit code of the tests does not matter here)."""
    with tempfile.TemporaryDirectory(prefix="probe-stalls-") as folder:
        report = Path(folder) / "stalls.json"
        ran = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "--unjam-probe",
                f"--unjam-probe-threshold={threshold_ms}",
                f"--unjam-probe-report={report}",
                "-p",
                "no:cacheprovider",
                *pytest_args,
            ],
            cwd=root,
            check=False,
            stdout=2,  # the tests' own output goes with unjam's notes: stdout is the report
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        if not report.exists():  # pytest missing, or stopped before its plugins ran
            raise TestsDidNotRun(
                f"the tests did not run (pytest exit code {ran.returncode}); "
                f"is pytest installed for {sys.executable}?"
            )
        if ran.returncode == NO_TESTS_COLLECTED:
            raise TestsDidNotRun("pytest found no tests to run there")
        data = json.loads(report.read_text())
    return [
        Stall(
            item["seconds"],
            [tuple(frame) for frame in item["stack"]],
            item["test"],
            item.get("route", ""),
        )
        for item in data["stalls"]
    ]


def rows(lines: list[Line], known: Known) -> list[dict[str, object]]:
    found = []
    for line in lines:
        said = verdict(line, known)
        found.append(
            {
                "path": line.path,
                "line": line.line,
                "function": line.function,
                "call": line.call,
                "stalls": line.stalls,
                "total_ms": round(line.total * 1000, 1),
                "max_ms": round(line.longest * 1000, 1),
                "tests": sorted(line.tests),
                "routes": sorted(line.routes),
                "static": said.static,
                "proposal": said.proposal,
            }
        )
    return found


def by_route(stalls: list[Stall], root: Path) -> dict[str, float]:
    """Milliseconds of stalls in project code, per request served (``GET /items``);
    per test where no request was known (a loop the tests drive themselves)."""
    totals: dict[str, float] = {}
    for stall in stalls:
        if not by_line([stall], root):
            continue  # no project frame: not the project's stall
        key = stall.route or stall.test or "(unknown)"
        totals[key] = totals.get(key, 0.0) + stall.seconds * 1000
    return totals


def worktree_of(
    root: Path, ref: str, run: Callable[[Path], list[Stall]]
) -> tuple[list[Stall], Path]:
    """``run`` in a git worktree of ``ref`` (the user's checkout is not touched), at the
    place that corresponds to ``root``; the stalls, and that place (their paths)."""
    top = Path(
        subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    with tempfile.TemporaryDirectory(prefix="probe-ref-") as folder:
        place = Path(folder) / "tree"
        subprocess.run(
            ["git", "-C", str(top), "worktree", "add", "--detach", "--quiet", str(place), ref],
            check=True,
            capture_output=True,
        )
        there = place / root.resolve().relative_to(top.resolve())
        try:
            return run(there), there
        finally:
            subprocess.run(
                ["git", "-C", str(top), "worktree", "remove", "--force", str(place)],
                check=False,
                capture_output=True,
            )
