"""Statements a rewrite produced are wrapped the way black and ruff format wrap them;
the user's own lines are left as they are."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import libcst as cst
import pytest
from unjam.codemods._wrap import wrap, wrap_changed

SHAPES = {
    "one argument": (
        "x = await anyio.to_thread.run_sync(functools.partial(requests.get, OWNER_URL, timeout=5))",
        """\
        x = await anyio.to_thread.run_sync(
            functools.partial(requests.get, OWNER_URL, timeout=5)
        )""",
    ),
    "arguments one per line with a trailing comma": (
        "result = await anyio.to_thread.run_sync(functools.partial(subprocess.run, "
        '[sys.executable, "-c", "print(6 * 7)"], capture_output=True, text=True))',
        """\
        result = await anyio.to_thread.run_sync(
            functools.partial(
                subprocess.run,
                [sys.executable, "-c", "print(6 * 7)"],
                capture_output=True,
                text=True,
            )
        )""",
    ),
    "an empty trailer stays on the closing line": (
        "owner = (await anyio.to_thread.run_sync(functools.partial(requests.get, "
        "OWNER_URL, timeout=5))).json()",
        """\
        owner = (
            await anyio.to_thread.run_sync(
                functools.partial(requests.get, OWNER_URL, timeout=5)
            )
        ).json()""",
    ),
    "a lambda's parameters are not cut": (
        "data = await anyio.to_thread.run_sync(lambda p, q: open(p).read() + open(q).read(), "
        "first_report_path_name, second_report_path_name)",
        """\
        data = await anyio.to_thread.run_sync(
            lambda p, q: open(p).read() + open(q).read(),
            first_report_path_name,
            second_report_path_name,
        )""",
    ),
    "comprehension clauses": (
        "entries = [entry.name for entry in await anyio.to_thread.run_sync(lambda: "
        'list(os.scandir("/tmp"))) if entry.name.startswith("unjam-")]',
        """\
        entries = [
            entry.name
            for entry in await anyio.to_thread.run_sync(lambda: list(os.scandir("/tmp")))
            if entry.name.startswith("unjam-")
        ]""",
    ),
    "a with header": (
        "async with httpx.AsyncClient(follow_redirects=True, timeout=None, "
        "verify=_SSL_CONTEXT) as client:",
        """\
        async with httpx.AsyncClient(
            follow_redirects=True, timeout=None, verify=_SSL_CONTEXT
        ) as client:""",
    ),
    "a string that cannot be cut": (
        'message = "' + "x" * 100 + '"',
        'message = "' + "x" * 100 + '"',
    ),
}


@pytest.mark.parametrize("name", list(SHAPES))
def test_shapes_are_wrapped_as_the_formatters_wrap_them(name: str, tmp_path: Path) -> None:
    line, expected = SHAPES[name]
    lines = wrap(line, 84)  # inside one function: 88 columns less its indentation
    assert "\n".join(lines) == textwrap.dedent(expected)
    if line.endswith(":"):
        lines.append("    pass")
    body = textwrap.indent("\n".join(lines), "    ")
    module = f"async def f():\n{body}\n"
    (tmp_path / "m.py").write_text(module)
    checked = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--diff", "--no-cache", "m.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout


def test_only_what_the_pass_changed_is_wrapped() -> None:
    """The user's own long line stays as written; the rewritten one is wrapped, and so
    is a user's line the rewrite moved one level deeper."""
    users = "    kept = some_function_with_a_long_name(first_argument, second_argument, third)\n"
    before = cst.parse_module(
        "async def f():\n" + users + "    value = blocking(first_argument, second_argument)\n"
    )
    function = before.body[0]
    assert isinstance(function, cst.FunctionDef)
    kept_line = function.body.body[0]
    new_line = cst.parse_statement(
        "value = await anyio.to_thread.run_sync(blocking, first_argument, second_argument)\n"
    )
    after = before.with_changes(
        body=[function.with_changes(body=function.body.with_changes(body=[kept_line, new_line]))]
    )
    wrapped = wrap_changed(before, after, 80, after.code).code
    assert users in wrapped
    assert (
        "    value = await anyio.to_thread.run_sync(\n"
        "        blocking, first_argument, second_argument\n"
        "    )\n"
    ) in wrapped
