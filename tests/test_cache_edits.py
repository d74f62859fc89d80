"""A cache kept over a sequence of random edits says what a run without it says, at every
step: edits to helpers that routes in other modules call, functions made async or sync,
lines moved, blocking calls added, files put back as they were. New seeds every run; a
failure prints its seed (``UNJAM_CACHE_SEED=<seed>`` replays it)."""

from __future__ import annotations

import ast
import os
import random
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers import FIXTURES, inside, with_lines_at_top
from unjam.cli import app

STEPS = 25
PROJECTS = [FIXTURES / "apps" / "demo", FIXTURES / "apps" / "routers"]


def _seed() -> int:
    given = os.environ.get("UNJAM_CACHE_SEED")
    return int(given) if given else random.randrange(2**32)


def _functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body[0].lineno != node.lineno
    ]


def _edit(source: str, rng: random.Random) -> str:
    """One random edit that still parses (or the source as it was)."""
    lines = source.splitlines(keepends=True)
    functions = _functions(ast.parse(source))
    choice = rng.randrange(4)
    if choice == 0 or not functions:  # every later line moves
        lines.insert(rng.randrange(len(lines) + 1), "\n")
    else:
        function = rng.choice(functions)
        first = function.body[0]
        indent = " " * first.col_offset
        if choice == 1:  # a blocking call
            added = with_lines_at_top(source.encode(), function, "open('edited.txt').read()")
            return source if added is None else added.decode()
        if choice == 2:  # async <-> sync
            number = function.lineno - 1
            line = lines[number]
            lines[number] = (
                line.replace("async def ", "def ", 1)
                if "async def " in line
                else line.replace("def ", "async def ", 1)
            )
        else:  # the function's first statement goes (a pass keeps the body)
            end = first.end_lineno or first.lineno
            lines[first.lineno - 1 : end] = [f"{indent}pass\n"]
    edited = "".join(lines)
    try:
        ast.parse(edited)
    except SyntaxError:
        return source
    return edited


def _check(project: Path, *extra: str) -> tuple[int, str]:
    with inside(project):
        result = CliRunner().invoke(app, ["check", ".", "--jobs", "1", "--format", "json", *extra])
    return result.exit_code, result.stdout


@pytest.mark.parametrize("round_", range(3))
@pytest.mark.parametrize("origin", PROJECTS, ids=lambda p: p.name)
def test_every_step_of_random_edits_gives_what_a_run_without_the_cache_gives(
    origin: Path, round_: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UNJAM_NO_CACHE", raising=False)
    seed = _seed()
    project = tmp_path / "project"
    shutil.copytree(origin, project)
    cache = ["--cache-dir", str(tmp_path / "cache")]
    rng = random.Random(seed)
    files = sorted(project.rglob("*.py"))
    originals = {path: path.read_text() for path in files}
    for step in range(STEPS):
        path = rng.choice(files)
        if rng.random() < 0.2:
            path.write_text(originals[path])  # put back: a state the cache has seen
        else:
            path.write_text(_edit(path.read_text(), rng))
        cached = _check(project, *cache)
        assert cached == _check(project, "--no-cache"), (
            f"UNJAM_CACHE_SEED={seed}: step {step}, {path.relative_to(project)}"
        )
