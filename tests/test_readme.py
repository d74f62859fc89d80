"""The README's examples are what unjam prints: a user who runs them sees the same."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from unjam.codemods import RequestsToHttpx

from unjam.runner import run_source

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
#: What the README's requests example leaves out: the imports and the names it uses.
PRELUDE = (
    "import requests\nfrom fastapi import APIRouter\n\n"
    'router = APIRouter()\nPRICES = "http://prices.internal"\n\n\n'
)


def _block_after(marker: str) -> str:
    """The fenced block that follows the first line holding ``marker``."""
    found = re.search(re.escape(marker) + r".*?\n```[a-z]*\n(.*?)\n```", README, re.S)
    assert found is not None, marker
    return found.group(1)


def _shown(block: str) -> list[str]:
    """The lines a block shows, without the elisions (``...``)."""
    return [line for line in block.splitlines() if line.strip() != "..."]


def test_the_diff_shown_is_what_unjam_diff_prints_for_the_demo() -> None:
    block = _block_after("## Codemods")
    command, *lines = _shown(block[block.index("$ unjam diff") :])
    assert command == "$ unjam diff fixtures/apps/demo"
    printed = subprocess.run(
        [sys.executable, "-m", "unjam", "diff", "fixtures/apps/demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()
    assert len(lines) >= 6
    missing = [line for line in lines if line not in printed]
    assert missing == []


def test_the_requests_example_is_what_the_pass_writes() -> None:
    before = _block_after("`requests-to-httpx` turns")
    after = _block_after("\ninto\n")
    result = run_source(PRELUDE + before + "\n", (RequestsToHttpx,))
    assert result.error is None and result.after is not None
    produced = result.after.decode().splitlines()
    # the lines shown appear in this order in what the pass writes
    position = 0
    for line in _shown(after):
        assert line in produced[position:], line
        position = produced.index(line, position) + 1


def test_the_routes_shown_are_what_unjam_routes_prints_for_the_demo() -> None:
    block = _block_after("## What it finds")
    command, *lines = _shown(block)
    assert command == "$ unjam routes fixtures/apps/demo"
    printed = subprocess.run(
        [sys.executable, "-m", "unjam", "routes", "fixtures/apps/demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()
    assert len(lines) >= 6
    assert [line for line in lines if line not in printed] == []
