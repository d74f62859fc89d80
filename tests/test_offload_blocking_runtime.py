"""offload-blocking, run for real: every rewritten fixture answers the same, and the
loop keeps serving /health while an offloaded route is busy."""

from __future__ import annotations

from pathlib import Path

import pytest
from unjam.codemods.offload_blocking import OffloadBlocking

from tests.apps import assert_rewritten_apps_answer_the_same, before_and_after
from tests.helpers import FIXTURES
from tests.servers import measure_stall, uvicorn

pytestmark = pytest.mark.server


def test_every_rewritten_fixture_answers_the_same(tmp_path: Path) -> None:
    assert_rewritten_apps_answer_the_same(FIXTURES / "offload_blocking", tmp_path, minimum=15)


def test_health_stays_fast_while_offloaded_route_blocks(tmp_path: Path) -> None:
    before_dir, after_dir = before_and_after("offload_app.py", tmp_path, (OffloadBlocking,))
    rewritten = (after_dir / "offload_app.py").read_text()
    assert "await asyncio.sleep(0.15)" in rewritten  # the module uses asyncio, not anyio
    assert "await anyio.to_thread.run_sync(build_report)" in rewritten

    with uvicorn("offload_app:app", before_dir) as port:
        before = measure_stall(port, "/slow", concurrent=8)
    with uvicorn("offload_app:app", after_dir) as port:
        after = measure_stall(port, "/slow", concurrent=8)

    assert before.slow_statuses == after.slow_statuses == (200,) * 8
    assert before.worst_health > 1.0, before
    assert after.worst_health < 0.1, after
    assert after.slow_total < before.slow_total / 2, (before, after)


def test_health_stays_fast_while_a_method_chain_is_offloaded(tmp_path: Path) -> None:
    before_dir, after_dir = before_and_after("method_app.py", tmp_path, (OffloadBlocking,))
    rewritten = (after_dir / "method_app.py").read_text()
    assert "return await anyio.to_thread.run_sync(self.builder.build, rows)" in rewritten

    with uvicorn("method_app:app", before_dir) as port:
        before = measure_stall(port, "/slow", concurrent=8)
    with uvicorn("method_app:app", after_dir) as port:
        after = measure_stall(port, "/slow", concurrent=8)

    assert before.slow_statuses == after.slow_statuses == (200,) * 8
    assert before.worst_health > 0.5, before
    assert after.worst_health < 0.1, after
    assert after.slow_total < before.slow_total / 2, (before, after)
