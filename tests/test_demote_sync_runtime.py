"""demote-sync, run for real: the loop stops stalling and every response stays the same."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from unjam.codemods import PASSES, is_default
from unjam.codemods.demote_sync import DemoteSync

from tests.apps import before_and_after
from tests.helpers import FIXTURES, rewritten_copy
from tests.servers import measure_stall, uvicorn

pytestmark = pytest.mark.server


def test_health_stays_fast_while_demoted_route_blocks(tmp_path: Path) -> None:
    before_dir, after_dir = before_and_after("stall_app.py", tmp_path, (DemoteSync,))

    with uvicorn("stall_app:app", before_dir) as port:
        before = measure_stall(port, "/slow", concurrent=8)
    with uvicorn("stall_app:app", after_dir) as port:
        after = measure_stall(port, "/slow", concurrent=8)

    assert before.slow_statuses == after.slow_statuses == (200,) * 8
    assert before.worst_health > 1.0, before
    assert after.worst_health < 0.1, after


PROBE = r"""
import json, sys
from starlette.testclient import TestClient
from demo.main import app

requests = json.loads(sys.argv[1])
out = []
with TestClient(app, raise_server_exceptions=False) as client:
    for method, path, params in requests:
        response = client.request(method, path, params=params)
        is_json = "json" in response.headers.get("content-type", "")
        body = response.json() if is_json else response.text
        if isinstance(body, dict) and "hash" in body:
            body["hash"] = body["hash"].split("$")[1]  # salted: compare the scheme only
        out.append([method, path, response.status_code, body])
    with client.websocket_connect("/ws") as ws:
        ws.send_text("echo")
        out.append(["WS", "/ws", 0, ws.receive_text()])
print(json.dumps(out))
"""

DEMO_REQUESTS = [
    ["GET", "/health", {}],
    ["GET", "/api/items/1", {}],
    ["GET", "/api/items/2", {}],
    ["GET", "/api/items/99", {}],
    ["GET", "/api/items/", {}],
    ["GET", "/api/items/1/price", {}],
    ["POST", "/api/items/1/report", {}],
    ["POST", "/api/items/hash", {"password": "s3cret"}],
    ["GET", "/api/items/count/fast", {}],
    ["GET", "/api/items/count/sync", {}],
    ["GET", "/api/users/1/dashboard", {}],
    ["GET", "/api/nope", {}],
]


def _responses(app_dir: Path) -> list[list[object]]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(DEMO_REQUESTS)],
        cwd=app_dir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_demo_app_answers_the_same_before_and_after(tmp_path: Path) -> None:
    demo = FIXTURES / "apps" / "demo"
    changed = rewritten_copy(demo, tmp_path / "after", (DemoteSync,))
    assert "demo/routers/items.py" in changed and "demo/db.py" in changed
    before = _responses(demo)
    after = _responses(tmp_path / "after")
    assert after == before
    statuses = {(method, path): status for method, path, status, _ in before}
    assert statuses[("GET", "/api/items/1")] == 200
    assert statuses[("GET", "/api/items/99")] == 404


def test_demo_app_answers_the_same_after_every_default_codemod(tmp_path: Path) -> None:
    """The README's demo, rewritten by the passes ``unjam diff`` runs by default."""
    default = tuple(p for p in PASSES if is_default(p.NAME))
    demo = FIXTURES / "apps" / "demo"
    changed = rewritten_copy(demo, tmp_path / "after", default)
    assert {"demo/routers/items.py", "demo/db.py", "demo/main.py"} <= set(changed)
    assert _responses(tmp_path / "after") == _responses(demo)
