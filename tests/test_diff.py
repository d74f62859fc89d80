"""``unjam diff`` output must be something ``git apply`` accepts, byte for byte."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from unjam.diff import unified_diff

CASES = {
    "lf": (b"a\nb\nc\nd\ne\nf\ng\n", b"a\nb\nC\nd\ne\nf\nG\n"),
    "crlf": (b"a\r\nb\r\nc\r\n", b"a\r\nB\r\nc\r\n"),
    "no final newline": (b"a\nb\nc", b"a\nb\nC"),
    "newline added at end": (b"a\nb", b"a\nb\n"),
    "latin-1": (
        "# coding: latin-1\nx = 'café'\ny = 1\n".encode("latin-1"),
        "# coding: latin-1\nx = 'café'\ny = 2\n".encode("latin-1"),
    ),
    "insert at top": (b"x = 1\n", b"import anyio\n\nx = 1\n"),
    "far apart hunks": (
        b"".join(b"l%d\n" % i for i in range(40)),
        b"".join(b"L%d\n" % i if i in (2, 30) else b"l%d\n" % i for i in range(40)),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_git_apply_reproduces_the_rewrite(tmp_path: Path, name: str) -> None:
    before, after = CASES[name]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "config", "core.autocrlf", "false"], check=True)
    target = tmp_path / "pkg" / "mod.py"
    target.parent.mkdir()
    target.write_bytes(before)
    patch = unified_diff("pkg/mod.py", before, after)
    assert patch.startswith(
        b"diff --git a/pkg/mod.py b/pkg/mod.py\n--- a/pkg/mod.py\n+++ b/pkg/mod.py\n"
    )
    (tmp_path / "change.patch").write_bytes(patch)
    subprocess.run(["git", "-C", str(tmp_path), "apply", "change.patch"], check=True)
    assert target.read_bytes() == after


def test_identical_input_gives_empty_diff() -> None:
    assert unified_diff("m.py", b"a\n", b"a\n") == b""
