"""gather-awaits, run for real against a local upstream: fixture apps answer the same,
and three independent 0.2 s requests take about one upstream latency."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from unjam.codemods.gather_awaits import GatherAwaits

from tests.apps import answers, materialise, rewrite_cases
from tests.helpers import FIXTURES, rewritten_copy
from tests.servers import get, uvicorn
from tests.upstream import SLOW_SECONDS, upstream

pytestmark = pytest.mark.server

CASES = FIXTURES / "gather_awaits"


def test_every_rewritten_fixture_answers_the_same(tmp_path: Path) -> None:
    cases = rewrite_cases(CASES)
    assert len(cases) >= 12
    with upstream() as url:
        env = {"UPSTREAM": url}
        before = answers([materialise(c, tmp_path, after=False) for c in cases], env)
        after = answers([materialise(c, tmp_path, after=True) for c in cases], env)
    for case in cases:
        assert before[case.name], f"{case.name}: no route was called"
        assert all(status == 200 for _, status, _ in before[case.name]), before[case.name]
        assert after[case.name] == before[case.name], case.name


def _timed(port: int) -> tuple[float, bytes]:
    best = float("inf")
    body = b""
    for _ in range(3):  # bounded: three requests, the fastest counts
        started = time.perf_counter()
        status, body, _ = get(port, "/three", timeout=30)
        assert status == 200
        best = min(best, time.perf_counter() - started)
    return best, body


def test_three_independent_requests_take_one_latency(tmp_path: Path) -> None:
    source = FIXTURES / "apps" / "stall"
    before_dir = tmp_path / "before"
    before_dir.mkdir()
    shutil.copyfile(source / "gather_app.py", before_dir / "gather_app.py")
    changed = rewritten_copy(source, tmp_path / "after", (GatherAwaits,))
    assert "gather_app.py" in changed
    with upstream() as url:
        with uvicorn("gather_app:app", before_dir, env={"UPSTREAM": url}) as port:
            before, before_body = _timed(port)
        with uvicorn("gather_app:app", tmp_path / "after", env={"UPSTREAM": url}) as port:
            after, after_body = _timed(port)
    assert after_body == before_body
    assert before > 3 * SLOW_SECONDS * 0.95, before
    assert after < 2 * SLOW_SECONDS, (before, after)
