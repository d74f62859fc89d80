"""Statements a rewrite produced are wrapped the way black and ruff format wrap them;
the user's own lines are left as they are."""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst
import pytest
from unjam.codemods._wrap import relayout, wrap, wrap_changed

from tests.helpers import assert_formatted_in_a_function

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
    assert_formatted_in_a_function("\n".join(lines), tmp_path)


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
    wrapped = wrap_changed(before, after, 80).code
    assert users in wrapped
    assert (
        "    value = await anyio.to_thread.run_sync(\n"
        "        blocking, first_argument, second_argument\n"
        "    )\n"
    ) in wrapped


#: A statement as a pass leaves it (the user's layout kept around the changed call)
#: and as the formatters lay it out; every expected layout is checked against ruff.
RELAYOUTS = {
    "a user's hugging layout is joined and split again": (
        """\
        result = await anyio.to_thread.run_sync(functools.partial(
            subprocess.run,
            [sys.executable, "-c", "print(6 * 7)"], capture_output=True, text=True
        ))""",
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
    "a magic trailing comma explodes, a comment stays with its element": (
        """\
        result = await anyio.to_thread.run_sync(functools.partial(
            subprocess.run,
            [sys.executable, "-c", "print('multi')"],
            text=True,  # decode for us
        ))""",
        """\
        result = await anyio.to_thread.run_sync(
            functools.partial(
                subprocess.run,
                [sys.executable, "-c", "print('multi')"],
                text=True,  # decode for us
            )
        )""",
    ),
    "a comment on its own line stays before its element": (
        """\
        first, second = await asyncio.gather(
            # the listing first
            client.get(UPSTREAM + "/json"), client.get(UPSTREAM + "/echo?other=1"),
        )""",
        """\
        first, second = await asyncio.gather(
            # the listing first
            client.get(UPSTREAM + "/json"),
            client.get(UPSTREAM + "/echo?other=1"),
        )""",
    ),
    "a statement that now fits is joined": (
        """\
        response = await client.get(
            url, timeout=5
        )""",
        "response = await client.get(url, timeout=5)",
    ),
    "trailers after a parenthesised await stay on the closing line": (
        'echoed = (await http.get(UPSTREAM + "/echo", params={"n": "2", "m": "34567"}))'
        '.json()["query"]',
        """\
        echoed = (
            await http.get(UPSTREAM + "/echo", params={"n": "2", "m": "34567"})
        ).json()["query"]""",
    ),
    "a split display puts each element on its own line": (
        'return {"settings": loaded, "summary": await anyio.to_thread.run_sync(settings_summary)}',
        """\
        return {
            "settings": loaded,
            "summary": await anyio.to_thread.run_sync(settings_summary),
        }""",
    ),
    "comprehension clauses before commas": (
        "fixed = await client.get(UPSTREAM, params={key: value for key, value in "
        '{"term": term, "page": page, "size": size}.items() if value is not None})',
        """\
        fixed = await client.get(
            UPSTREAM,
            params={
                key: value
                for key, value in {"term": term, "page": page, "size": size}.items()
                if value is not None
            },
        )""",
    ),
    "a one-element tuple's comma is not magic": (
        "found = lookup((key,))",
        "found = lookup((key,))",
    ),
}


@pytest.mark.parametrize("name", list(RELAYOUTS))
def test_changed_statements_are_laid_out_as_the_formatters_would(name: str, tmp_path: Path) -> None:
    written, expected = (textwrap.dedent(text) for text in RELAYOUTS[name])
    lines = relayout(written, 84)
    assert lines is not None
    assert "\n".join(lines) == expected
    assert_formatted_in_a_function(expected, tmp_path)


@pytest.mark.parametrize(
    "written",
    [
        'text = """one\ntwo""" + suffix(\n    a\n)',  # a string over several lines
        "total = first + \\\n    second(a)",  # a backslash
        "value = call(  # why\n    a, b\n)",  # a comment after an opening bracket
        "value = (first +  # why\n    second)",  # a comment inside an expression
        "a = f(\n    x\n); b = g(y)",  # two statements on a line
    ],
)
def test_layouts_that_are_not_the_formatters_to_redo_are_left(written: str) -> None:
    assert relayout(written, 84) is None


def test_a_changed_except_header_is_laid_out() -> None:
    before = cst.parse_module(
        "async def f():\n    try:\n        pass\n    except (OSError, ValueError):\n        pass\n"
    )
    function = before.body[0]
    assert isinstance(function, cst.FunctionDef)
    old_try = function.body.body[0]
    assert isinstance(old_try, cst.Try)
    wide = cst.parse_expression(
        "(httpx.NetworkError, httpx.ConnectTimeout, httpx.RemoteProtocolError, httpx.ProxyError)"
    )
    new_try = old_try.with_changes(handlers=[old_try.handlers[0].with_changes(type=wide)])
    after = before.with_changes(
        body=[function.with_changes(body=function.body.with_changes(body=[new_try]))]
    )
    assert wrap_changed(before, after, 88).code == (
        "async def f():\n    try:\n        pass\n    except (\n"
        "        httpx.NetworkError,\n        httpx.ConnectTimeout,\n"
        "        httpx.RemoteProtocolError,\n        httpx.ProxyError,\n    ):\n"
        "        pass\n"
    )


def test_a_statement_the_pass_did_not_change_keeps_the_user_s_layout() -> None:
    """Joined and split again is only what a pass changed: the user's own hugging
    call, which the formatters would lay out otherwise, stays as written."""
    users = (
        "    kept = run(functools.partial(\n"
        "        job, first_argument,\n"
        "        second_argument,\n"
        "    ))\n"
    )
    before = cst.parse_module("async def f():\n" + users + "    value = blocking(a)\n")
    function = before.body[0]
    assert isinstance(function, cst.FunctionDef)
    kept_line = function.body.body[0]
    new_line = cst.parse_statement("value = await anyio.to_thread.run_sync(blocking, a)\n")
    after = before.with_changes(
        body=[function.with_changes(body=function.body.with_changes(body=[kept_line, new_line]))]
    )
    assert users in wrap_changed(before, after, 88).code
    assert relayout(users.strip(), 84) != tuple(users.strip().splitlines())  # would change
