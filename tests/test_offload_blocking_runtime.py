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


@pytest.mark.parametrize(
    ("app_file", "rewritten_lines", "stall_before"),
    [
        (
            "offload_app.py",
            # the module uses asyncio, not anyio
            ["await asyncio.sleep(0.15)", "await anyio.to_thread.run_sync(build_report)"],
            1.0,
        ),
        (
            "method_app.py",  # a method on an attribute set in __init__ of a singleton
            ["return await anyio.to_thread.run_sync(self.builder.build, rows)"],
            0.5,
        ),
    ],
)
def test_health_stays_fast_while_offloaded_route_blocks(
    tmp_path: Path, app_file: str, rewritten_lines: list[str], stall_before: float
) -> None:
    before_dir, after_dir = before_and_after(app_file, tmp_path, (OffloadBlocking,))
    rewritten = (after_dir / app_file).read_text()
    for line in rewritten_lines:
        assert line in rewritten

    module = f"{app_file[:-3]}:app"
    with uvicorn(module, before_dir) as port:
        before = measure_stall(port, "/slow", concurrent=8)
    with uvicorn(module, after_dir) as port:
        after = measure_stall(port, "/slow", concurrent=8)

    assert before.slow_statuses == after.slow_statuses == (200,) * 8
    assert before.worst_health > stall_before, before
    assert after.worst_health < 0.1, after
    assert after.slow_total < before.slow_total / 2, (before, after)
