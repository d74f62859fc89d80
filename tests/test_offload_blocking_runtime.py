"""offload-blocking, run for real: every rewritten fixture answers the same, and the
loop keeps serving /health while an offloaded route is busy."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from unjam.codemods.offload_blocking import OffloadBlocking

from tests.helpers import FIXTURES, rewritten_copy
from tests.servers import measure_stall, uvicorn

pytestmark = pytest.mark.server

CASES = FIXTURES / "offload_blocking"
INPUT, EXPECTED = ".input.py", ".expected.py"

#: Imports each app, calls every GET route without path parameters and every websocket
#: route through Starlette's TestClient, and prints what came back.
PROBE = r"""
import importlib, json, sys
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.testclient import TestClient

out = {}
for label, folder, module in json.loads(sys.argv[1]):
    sys.path.insert(0, folder)
    try:
        app = importlib.import_module(module).app
        answers = []
        with TestClient(app, raise_server_exceptions=False) as client:
            for route in app.routes:
                if isinstance(route, APIRoute) and "GET" in route.methods:
                    if route.param_convertors:
                        continue
                    response = client.get(route.path)
                    answers.append([route.path, response.status_code, response.json()])
                elif isinstance(route, APIWebSocketRoute):
                    with client.websocket_connect(route.path) as ws:
                        ws.send_text("ping")
                        answers.append([route.path, 101, ws.receive_text()])
        out[label] = answers
    finally:
        sys.path.remove(folder)
        root = module.split(".")[0]
        for name in [n for n in sys.modules if n == root or n.startswith(root + ".")]:
            del sys.modules[name]
print(json.dumps(out))
"""


def _rewrite_cases() -> list[Path]:
    cases = []
    for entry in sorted(CASES.iterdir()):
        if (entry.is_dir() and any(entry.rglob("*" + EXPECTED))) or (
            entry.name.endswith(INPUT)
            and entry.with_name(entry.name[: -len(INPUT)] + EXPECTED).exists()
        ):
            cases.append(entry)
    return cases


def _materialise(case: Path, target: Path, after: bool) -> tuple[str, str]:
    """Write the case's before or after files as a runnable project; (folder, module)."""
    name = case.name[: -len(INPUT)] if case.is_file() else case.name
    folder = target / ("after" if after else "before") / name
    sources = (
        {case.name: case}
        if case.is_file()
        else {p.relative_to(case).as_posix(): p for p in case.rglob("*" + INPUT)}
    )
    for relative, source in sources.items():
        chosen = source.with_name(source.name[: -len(INPUT)] + EXPECTED)
        if not after or not chosen.exists():
            chosen = source
        destination = folder / (relative[: -len(INPUT)] + ".py")
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(chosen, destination)
    main = [p for p in sources if p.endswith("main" + INPUT)]
    module = main[0][: -len(INPUT)].replace("/", ".") if main else name
    return str(folder), module


def _answers(apps: list[tuple[str, str, str]]) -> dict[str, list[list[object]]]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(apps)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_every_rewritten_fixture_answers_the_same(tmp_path: Path) -> None:
    cases = _rewrite_cases()
    assert len(cases) >= 15
    before = [(c.name, *_materialise(c, tmp_path, after=False)) for c in cases]
    after = [(c.name, *_materialise(c, tmp_path, after=True)) for c in cases]
    answers_before, answers_after = _answers(before), _answers(after)
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
