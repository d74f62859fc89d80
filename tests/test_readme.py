"""The README's examples are what unjam prints: a user who runs them sees the same."""

from __future__ import annotations

import difflib
import re
import subprocess
import sys
from pathlib import Path

import pytest
from unjam.codemods import PASSES
from unjam.codemods.requests_to_httpx import RequestsToHttpx

from unjam.pipeline.runner import run_source

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


def _command_block(command: str) -> str:
    """The fenced block that starts with ``command`` (a shell prompt line)."""
    found = re.search(r"```\n(" + re.escape(command) + r".*?)\n```", README, re.S)
    assert found is not None, command
    return found.group(1)


def _shown(block: str) -> list[str]:
    """The lines a block shows, without the elisions (``...``)."""
    return [line for line in block.splitlines() if line.strip() != "..."]


@pytest.mark.parametrize("command", ["diff", "routes"])
def test_a_command_s_sample_is_what_it_prints_for_the_demo(command: str) -> None:
    """Each line the README shows (elisions aside) is a line the command prints."""
    prompt, *lines = _shown(_command_block(f"$ unjam {command}"))
    assert prompt == f"$ unjam {command} fixtures/apps/demo"
    printed = subprocess.run(
        [sys.executable, "-m", "unjam", command, "fixtures/apps/demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()
    assert len(lines) >= 6
    assert [line for line in lines if line not in printed] == []


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


def example_diffs() -> str:
    """The README's "one example per codemod": each codemod's first documented rewrite
    (its ``EXAMPLES``, run as tests by ``test_examples``) as a diff."""
    parts = []
    for codemod in PASSES:
        example = next(e for e in codemod.EXAMPLES if e.after is not None)
        lines = difflib.unified_diff(
            example.before.splitlines(), example.after.splitlines(), lineterm="", n=1
        )
        body = "\n".join(list(lines)[2:])  # no file names
        parts.append(f"`{codemod.NAME}`:\n\n```diff\n{body}\n```")
    return "\n\n".join(parts)


def test_each_codemod_s_example_is_its_real_rewrite() -> None:
    start = README.index("### One example per codemod\n\n") + len("### One example per codemod\n\n")
    assert README[start:].startswith(example_diffs() + "\n")
