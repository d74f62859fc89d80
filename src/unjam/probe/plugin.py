"""The pytest plugin behind ``unjam probe`` (entry point ``pytest11``); it does nothing
unless ``--unjam-probe`` is given. It runs the user's tests, which is what ``probe``
is asked to do: every other unjam command only reads code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from unjam.probe.stalls import by_line
from unjam.probe.watchdog import Watchdog

_WATCHDOG = pytest.StashKey[Watchdog]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("unjam")
    group.addoption(
        "--unjam-probe",
        action="store_true",
        help="Report what blocks the event loop while the tests run (unjam probe).",
    )
    group.addoption(
        "--unjam-probe-threshold",
        type=float,
        default=20.0,
        help="Milliseconds a callback may run before it counts as a stall (20).",
    )
    group.addoption("--unjam-probe-report", default=None, help="Write the stalls here (JSON).")


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("unjam_probe"):
        return
    watchdog = Watchdog(threshold=config.getoption("unjam_probe_threshold") / 1000)
    watchdog.start()
    config.stash[_WATCHDOG] = watchdog


def pytest_unconfigure(config: pytest.Config) -> None:
    watchdog = config.stash.get(_WATCHDOG, None)
    if watchdog is None:
        return
    watchdog.stop()
    target = config.getoption("unjam_probe_report")
    if target:
        stalls = [
            {
                "seconds": stall.seconds,
                "stack": stall.stack,
                "test": stall.test,
                "route": stall.route,
            }
            for stall in watchdog.stalls
        ]
        Path(target).write_text(json.dumps({"root": str(config.rootpath), "stalls": stalls}))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    watchdog = config.stash.get(_WATCHDOG, None)
    if watchdog is None or config.getoption("unjam_probe_report"):
        return  # ``unjam probe`` prints its own report
    lines = by_line(watchdog.stalls, config.rootpath)
    terminalreporter.section("unjam probe: the event loop was blocked")
    if not lines:
        terminalreporter.write_line("no stall longer than the threshold")
    for line in lines:
        terminalreporter.write_line(
            f"{line.path}:{line.line}: {line.call}: {line.stalls} stall(s), "
            f"{line.total * 1000:.0f} ms in all, longest {line.longest * 1000:.0f} ms"
        )
