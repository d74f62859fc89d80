"""Swap a module's ``requests`` imports for ``httpx`` in place.

libcst's ``RemoveImportsVisitor`` drops an unused import together with the blank line
before it, which merges import groups, and ``AddImportsVisitor`` appends new imports
after the last one. Replacing ``import requests`` by ``import httpx`` where it stood keeps
the module's grouping; a ``from requests... import`` left with no user disappears and
hands its blank lines to the next statement.
"""

from __future__ import annotations

import re

import libcst as cst
from libcst.helpers import get_full_name_for_node

from unjam.codegen import StatementText


def _requests_names(statement: cst.BaseStatement) -> list[str] | None:
    """Local names a top-level ``import requests...`` statement binds, or None."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if isinstance(small, cst.Import):
        names = []
        for alias in small.names:
            dotted = get_full_name_for_node(alias.name) or ""
            if dotted.split(".")[0] != "requests":
                return None
            asname = alias.asname.name if alias.asname else None
            names.append(asname.value if isinstance(asname, cst.Name) else dotted.split(".")[0])
        return names
    if isinstance(small, cst.ImportFrom) and small.module is not None and not small.relative:
        module = get_full_name_for_node(small.module) or ""
        if module.split(".")[0] != "requests" or isinstance(small.names, cst.ImportStar):
            return None
        names = []
        for alias in small.names:
            asname = alias.asname.name if alias.asname else None
            local = (
                asname.value if isinstance(asname, cst.Name) else get_full_name_for_node(alias.name)
            )
            names.append(local or "")
        return names
    return None


def swap_imports(
    module: cst.Module, target: str, text: StatementText | None = None
) -> tuple[cst.Module, bool]:
    """The module with unused requests imports gone (the first plain one becomes
    ``import <target>``), and whether ``<target>`` is now imported. ``text``: the
    file's statements as written out so far (the caller writes the module out next)."""
    text = text or StatementText()
    rest = "\n".join(
        text.of(module, statement)
        for statement in module.body
        if _requests_names(statement) is None
    )

    def unused(name: str) -> bool:
        return re.search(rf"(?<![\w.]){re.escape(name)}\b", rest) is None

    body: list[cst.BaseStatement] = []
    carried: tuple[cst.EmptyLine, ...] = ()
    # Every line that can read ``import <target>`` is in ``rest``: the module's header
    # and footer hold only comments and blank lines.
    placed = re.search(rf"^import {re.escape(target)}$", rest, re.MULTILINE) is not None
    for statement in module.body:
        names = _requests_names(statement)
        if names is None or not all(unused(name) for name in names):
            if carried and isinstance(
                statement, cst.SimpleStatementLine | cst.BaseCompoundStatement
            ):
                if not statement.leading_lines:
                    statement = statement.with_changes(leading_lines=carried)
                carried = ()
            body.append(statement)
            continue
        assert isinstance(statement, cst.SimpleStatementLine)
        if isinstance(statement.body[0], cst.Import) and not placed:
            body.append(
                statement.with_changes(body=[cst.Import([cst.ImportAlias(cst.Name(target))])])
            )
            placed = True
        else:
            carried = carried or tuple(statement.leading_lines)
    return module.with_changes(body=body), placed
