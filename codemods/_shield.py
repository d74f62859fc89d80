"""Awaits a rewrite adds to cleanup code run in a shielded cancel scope.

A ``finally`` block (or an ``except`` that cleans up and re-raises) runs when the
request is cancelled too: a client disconnect, a timeout, server shutdown. Under anyio,
which Starlette and FastAPI use, a cancelled scope stays cancelled, so the first ``await``
in that cleanup raises at once and the rest of it never runs: ``shutil.rmtree(tmp)``
turned into ``await anyio.to_thread.run_sync(shutil.rmtree, tmp)`` leaves the directory
on disk. Inside ``with anyio.CancelScope(shield=True):`` the await runs to its end and
the cancellation is delivered after the scope.

Only the statements that hold a new await are shielded (consecutive ones share one
scope): an await the user wrote keeps the behaviour they chose for it.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst
import libcst.matchers as m
from libcst.helpers import get_full_name_for_node
from unjam.codemods._nodes import find_all
from unjam.codemods._spelling import Spelled

#: Exception types whose handler also runs on cancellation.
CANCELLATION_TYPES = frozenset(
    {
        "BaseException",
        "CancelledError",
        "asyncio.CancelledError",
        "asyncio.exceptions.CancelledError",
        "trio.Cancelled",
    }
)


def is_cleanup(handler: cst.ExceptHandler) -> bool:
    """Whether an ``except`` handler runs as cleanup on the way out: it re-raises (a bare
    ``raise`` directly in it), or it catches cancellation itself."""
    if handler.type is None:
        return True
    caught = handler.type.elements if isinstance(handler.type, cst.Tuple) else None
    types = [element.value for element in caught] if caught is not None else [handler.type]
    if any(get_full_name_for_node(kind) in CANCELLATION_TYPES for kind in types):
        return True
    body = handler.body.body if isinstance(handler.body, cst.IndentedBlock) else ()
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine) and any(
            isinstance(small, cst.Raise) and small.exc is None for small in statement.body
        ):
            return True
    return False


def yields(body: cst.BaseSuite) -> bool:
    """A ``yield`` cannot sit inside a cancel scope (the scope would span the consumer's
    code): such cleanup is left alone."""
    return bool(find_all(body, m.Yield()))


def shield(
    body: cst.BaseSuite, is_new: Callable[[cst.Await], bool], cancel_scope: Spelled
) -> cst.BaseSuite:
    """``body`` with each run of consecutive statements holding a new await wrapped in
    ``with <cancel_scope>(shield=True):``; unchanged when there is none."""
    if isinstance(body, cst.SimpleStatementSuite):
        line = cst.SimpleStatementLine(body.body)
        if not _holds_new(line, is_new):
            return body
        return cst.IndentedBlock([_shielded([line], cancel_scope)])
    assert isinstance(body, cst.IndentedBlock)
    if not any(_holds_new(statement, is_new) for statement in body.body):
        return body
    result: list[cst.BaseStatement] = []
    run: list[cst.BaseStatement] = []
    for statement in [*body.body, None]:
        if statement is not None and _holds_new(statement, is_new):
            run.append(statement)
            continue
        if run:
            result.append(_shielded(run, cancel_scope))
            run = []
        if statement is not None:
            result.append(statement)
    return body.with_changes(body=result)


def _holds_new(statement: cst.BaseStatement, is_new: Callable[[cst.Await], bool]) -> bool:
    return any(
        isinstance(found, cst.Await) and is_new(found) for found in find_all(statement, m.Await())
    )


def _shielded(run: list[cst.BaseStatement], cancel_scope: Spelled) -> cst.With:
    """The statements under one shielded scope; comments above the first stay above."""
    first = run[0]
    leading = getattr(first, "leading_lines", ())
    inner = [first.with_changes(leading_lines=()) if leading else first, *run[1:]]
    scope = cst.Call(
        cancel_scope.expression(),
        args=[
            cst.Arg(
                cst.Name("True"),
                keyword=cst.Name("shield"),
                equal=cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""),
                    whitespace_after=cst.SimpleWhitespace(""),
                ),
            )
        ],
    )
    return cst.With(
        items=[cst.WithItem(scope)], body=cst.IndentedBlock(inner), leading_lines=leading
    )
