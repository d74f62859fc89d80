"""offload-blocking, run for real: every rewritten fixture answers the same, and the
loop keeps serving /health while an offloaded route is busy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from unjam.codemods.offload_blocking import OffloadBlocking

from tests.apps import answers, materialise, rewrite_cases
from tests.helpers import FIXTURES, rewritten_copy
from tests.servers import measure_stall, uvicorn

pytestmark = pytest.mark.server

CASES = FIXTURES / "offload_blocking"


def test_every_rewritten_fixture_answers_the_same(tmp_path: Path) -> None:
    cases = rewrite_cases(CASES)
    assert len(cases) >= 15
    answers_before = answers([materialise(c, tmp_path, after=False) for c in cases])
    answers_after = answers([materialise(c, tmp_path, after=True) for c in cases])
    for case in cases:
        assert answers_before[case.name], f"{case.name}: no route was called"
        assert all(status in (101, 200) for _, status, _ in answers_before[case.name]), (
            case.name,
            answers_before[case.name],
        )
        assert answers_after[case.name] == answers_before[case.name], case.name


def test_health_stays_fast_while_offloaded_route_blocks(tmp_path: Path) -> None:
    source = FIXTURES / "apps" / "stall"
    before_dir = tmp_path / "before"
    before_dir.mkdir()
    shutil.copyfile(source / "offload_app.py", before_dir / "offload_app.py")
    changed = rewritten_copy(source, tmp_path / "after", (OffloadBlocking,))
    assert "offload_app.py" in changed
    rewritten = (tmp_path / "after" / "offload_app.py").read_text()
    assert "await asyncio.sleep(0.15)" in rewritten  # the module uses asyncio, not anyio
    assert "await anyio.to_thread.run_sync(build_report)" in rewritten

    with uvicorn("offload_app:app", before_dir) as port:
        before = measure_stall(port, "/slow", concurrent=8)
    with uvicorn("offload_app:app", tmp_path / "after") as port:
        after = measure_stall(port, "/slow", concurrent=8)

    assert before.slow_statuses == after.slow_statuses == (200,) * 8
    assert before.worst_health > 1.0, before
    assert after.worst_health < 0.1, after
    assert after.slow_total < before.slow_total / 2, (before, after)
