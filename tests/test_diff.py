"""``unjam diff`` output must be something ``git apply`` accepts, byte for byte."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from unjam.codemods.demote_sync import DemoteSync

from unjam.pipeline.runner import run_source
from unjam.report.diff import unified_diff

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
    "cr only (one line to git)": (b"a\rb\rc\r", b"a\rB\rc\r"),
    "cr only, no final break": (b"a\rb\rc", b"a\rB\rc"),
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


@pytest.mark.parametrize(
    "name",
    ["tab\tname.py", "new\nline.py", 'quote"d.py', "back\\slash.py", "ünïcode.py", "sp ace.py"],
)
def test_names_git_quotes_are_quoted_as_git_does(tmp_path: Path, name: str) -> None:
    """``git apply`` reads the header's names: quoted the way git writes them."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / name).write_bytes(b"x = 1\n")
    patch = unified_diff(name, b"x = 1\n", b"x = 2\n")
    (tmp_path / "change.patch").write_bytes(patch)
    subprocess.run(["git", "-C", str(tmp_path), "apply", "change.patch"], check=True)
    assert (tmp_path / name).read_bytes() == b"x = 2\n"
    subprocess.run(["git", "-C", str(tmp_path), "add", "--", name], check=True)
    shown = subprocess.run(
        ["git", "-C", str(tmp_path), "diff", "--cached", "--", name],
        capture_output=True,
        check=True,
    ).stdout.splitlines()[0]
    assert patch.splitlines()[0] == shown.replace(
        b"/dev/null", b"a/" + name.encode()
    )  # same header


def test_a_cr_only_file_keeps_its_last_line_break(tmp_path: Path) -> None:
    code = "\r".join(
        [
            "import time",
            "from fastapi import FastAPI",
            "app = FastAPI()",
            "",
            "",
            '@app.get("/")',
            "async def f():",
            "    time.sleep(1)",
            "",
        ]
    )
    result = run_source(code, (DemoteSync,))
    assert result.after is not None
    assert result.after == code.replace("async def", "def").encode()
