"""requests-to-httpx, run for real against a local upstream: every fixture app answers
the same before and after (error paths included), and converted routes run concurrently."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
from unjam.codemods.requests_to_httpx import RequestsToHttpx

from tests.apps import answers, materialise, rewrite_cases
from tests.helpers import FIXTURES, rewritten_copy
from tests.servers import get, uvicorn
from tests.upstream import SLOW_SECONDS, upstream

pytestmark = pytest.mark.server

CASES = FIXTURES / "requests_to_httpx"


def test_every_rewritten_fixture_answers_the_same(tmp_path: Path) -> None:
    cases = rewrite_cases(CASES)
    assert len(cases) >= 15
    with upstream() as url:
        env = {"UPSTREAM": url}
        before = answers([materialise(c, tmp_path, after=False) for c in cases], env)
        after = answers([materialise(c, tmp_path, after=True) for c in cases], env)
    for case in cases:
        assert before[case.name], f"{case.name}: no route was called"
        assert all(status == 200 for _, status, _ in before[case.name]), before[case.name]
        assert after[case.name] == before[case.name], case.name


def _concurrent(port: int, path: str, count: int) -> tuple[float, list[int]]:
    statuses: list[int] = []
    lock = threading.Lock()

    def call() -> None:
        status, _, _ = get(port, path, timeout=30)
        with lock:
            statuses.append(status)

    started = time.perf_counter()
    workers = [threading.Thread(target=call) for _ in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    return time.perf_counter() - started, statuses


def test_converted_route_serves_concurrent_requests(tmp_path: Path) -> None:
    source = FIXTURES / "apps" / "stall"
    before_dir = tmp_path / "before"
    before_dir.mkdir()
    shutil.copyfile(source / "httpx_app.py", before_dir / "httpx_app.py")
    changed = rewritten_copy(source, tmp_path / "after", (RequestsToHttpx,))
    assert changed == ["httpx_app.py"]
    count = 20
    with upstream() as url:
        with uvicorn("httpx_app:app", before_dir, env={"UPSTREAM": url}) as port:
            before, before_statuses = _concurrent(port, "/slow", count)
        with uvicorn("httpx_app:app", tmp_path / "after", env={"UPSTREAM": url}) as port:
            after, after_statuses = _concurrent(port, "/slow", count)
    assert before_statuses == after_statuses == [200] * count
    sequential = count * SLOW_SECONDS
    assert before > sequential * 0.9, before  # requests serialises on the loop
    assert after < sequential / 4, (before, after)
