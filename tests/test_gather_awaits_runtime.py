"""gather-awaits, run for real against a local upstream: fixture apps answer the same,
and three independent 0.2 s requests take about one upstream latency."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from unjam.codemods.gather_awaits import GatherAwaits

from tests.apps import assert_rewritten_apps_answer_the_same, before_and_after
from tests.helpers import FIXTURES
from tests.servers import get, uvicorn
from tests.upstream import SLOW_SECONDS, upstream

pytestmark = pytest.mark.server


def test_every_rewritten_fixture_answers_the_same(tmp_path: Path) -> None:
    with upstream() as url:
        assert_rewritten_apps_answer_the_same(
            FIXTURES / "gather_awaits", tmp_path, minimum=12, env={"UPSTREAM": url}
        )


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
    before_dir, after_dir = before_and_after("gather_app.py", tmp_path, (GatherAwaits,))
    with upstream() as url:
        with uvicorn("gather_app:app", before_dir, env={"UPSTREAM": url}) as port:
            before, before_body = _timed(port)
        with uvicorn("gather_app:app", after_dir, env={"UPSTREAM": url}) as port:
            after, after_body = _timed(port)
    assert after_body == before_body
    assert before > 3 * SLOW_SECONDS * 0.95, before
    assert after < 2 * SLOW_SECONDS, (before, after)
