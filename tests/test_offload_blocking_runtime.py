"""offload-blocking, run for real: every rewritten fixture answers the same, and the
loop keeps serving /health while an offloaded route is busy."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import anyio
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


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cleanup_in_finally_still_runs_when_the_request_is_cancelled(tmp_path: Path) -> None:
    """The offloaded ``shutil.rmtree`` of a ``finally`` runs shielded: cancelled while
    it waits, the coroutine still removes its directory, as the original did."""
    before_dir, after_dir = before_and_after("cleanup_app.py", tmp_path, (OffloadBlocking,))
    rewritten = (after_dir / "cleanup_app.py").read_text()
    assert "with anyio.CancelScope(shield=True):" in rewritten
    assert "await anyio.to_thread.run_sync(shutil.rmtree, scratch)" in rewritten

    for label, folder in (("before", before_dir), ("after", after_dir)):
        module = _load(folder / "cleanup_app.py", f"cleanup_app_{label}")
        scratch = tmp_path / f"scratch-{label}"
        scratch.mkdir()

        async def cancelled(module: ModuleType = module, scratch: Path = scratch) -> None:
            with anyio.move_on_after(0.05) as scope:
                await module.build_in_scratch(scratch, 5)
            assert scope.cancelled_caught

        anyio.run(cancelled)
        assert not scratch.exists(), f"{label}: the cleanup did not run"


def test_lazy_scan_moves_to_the_thread_with_its_iteration(tmp_path: Path) -> None:
    """``for p in root.rglob(...)`` scans while the loop iterates: the rewrite lists the
    scan in the thread, so /health is answered between scans. Offloading the
    ``rglob`` call alone would have left the whole scan on the loop."""
    before_dir, after_dir = before_and_after("scan_app.py", tmp_path, (OffloadBlocking,))
    rewritten = (after_dir / "scan_app.py").read_text()
    assert "await anyio.to_thread.run_sync(lambda: list(SCAN_ROOT.rglob(" in rewritten
    tree = tmp_path / "tree"
    for folder in range(100):
        (tree / f"d{folder}").mkdir(parents=True)
        for file in range(200):
            (tree / f"d{folder}" / f"f{file}.txt").touch()
    env = {"SCAN_ROOT": str(tree)}

    with uvicorn("scan_app:app", before_dir, env=env) as port:
        before = measure_stall(port, "/slow", concurrent=8)
    with uvicorn("scan_app:app", after_dir, env=env) as port:
        after = measure_stall(port, "/slow", concurrent=8)

    assert before.slow_statuses == after.slow_statuses == (200,) * 8
    assert before.worst_health > 0.04, before
    assert after.worst_health < before.worst_health / 2, (before, after)
