"""Run fixture apps before and after a pass and collect what every route answers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from unjam.codemods import Codemod

from tests.helpers import FIXTURES, rewritten_copy

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


def rewrite_cases(folder: Path) -> list[Path]:
    """Cases of a pass's fixture folder that have an expected (rewritten) file."""
    cases = []
    for entry in sorted(folder.iterdir()):
        rewritten = entry.with_name(entry.name[: -len(INPUT)] + EXPECTED)
        folder_case = entry.is_dir() and any(entry.rglob("*" + EXPECTED))
        if folder_case or (entry.name.endswith(INPUT) and rewritten.exists()):
            cases.append(entry)
    return cases


def materialise(case: Path, target: Path, after: bool) -> tuple[str, str, str]:
    """Write the case's before or after files as a runnable project:
    (label, folder, module to import)."""
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
    return case.name, str(folder), module


def answers(
    apps: list[tuple[str, str, str]], env: dict[str, str] | None = None
) -> dict[str, list[list[object]]]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(apps)],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def assert_rewritten_apps_answer_the_same(
    folder: Path, tmp_path: Path, minimum: int, env: dict[str, str] | None = None
) -> None:
    """Every rewrite case of a pass's fixtures, run before and after: each must call at
    least one route, answer it without error, and answer the same afterwards."""
    cases = rewrite_cases(folder)
    assert len(cases) >= minimum
    before = answers([materialise(case, tmp_path, after=False) for case in cases], env)
    after = answers([materialise(case, tmp_path, after=True) for case in cases], env)
    for case in cases:
        assert before[case.name], f"{case.name}: no route was called"
        statuses = [status for _, status, _ in before[case.name]]
        assert all(status in (101, 200) for status in statuses), (case.name, before[case.name])
        assert after[case.name] == before[case.name], case.name


def before_and_after(
    app_file: str, tmp_path: Path, passes: tuple[type[Codemod], ...]
) -> tuple[Path, Path]:
    """``fixtures/apps/stall/<app_file>`` as written (first folder) and rewritten by
    ``passes`` (second folder)."""
    source = FIXTURES / "apps" / "stall"
    before = tmp_path / "before"
    before.mkdir()
    shutil.copyfile(source / app_file, before / app_file)
    changed = rewritten_copy(source, tmp_path / "after", passes)
    assert app_file in changed
    return before, tmp_path / "after"
