"""Remove the module-level imports a rewrite left unused.

``nap(0.05)`` through ``from time import sleep as nap`` becomes ``await anyio.sleep(0.05)``;
``requests.get(...)`` becomes ``await client.get(...)``: the import stays behind unused,
which fails a project's lint (``F401``). An import is removed when the code used the
name before the rewrite and uses it nowhere after: a name the module never used (kept
for re-export, listed in ``__all__``) stays as it was. Use is read from the code's
names, never from its text: a mention in a comment or a string is no use. Attribute
names (``x.requests``) are not uses of a module-level name. A removed line's blank
lines go to the statement after it, so import groups stay apart.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence

import libcst as cst
from libcst.helpers import get_full_name_for_node
from unjam.codemods._import_block import imports_of
from unjam.codemods._nodes import blank_lines_above, names_in, with_blank_lines_above

#: How a caller writes out one top-level statement of a module (it may remember them).
TextOf = Callable[[cst.Module, cst.BaseStatement], str]


def drop_unused_imports(before: cst.Module, after: cst.Module, text_of: TextOf) -> cst.Module:
    """``after`` without the top-level import names it no longer uses but ``before`` did.

    Every top-level statement the pass did not change is the very same node on both
    sides, with the same uses: only the changed ones are read to learn which names lost
    uses, and the others only when one of those names is written in them at all (a
    name that is not written there is not used there; one that is, maybe in a comment,
    is looked up in their code)."""
    imported = {
        name for statement in after.body for name in _bound_by(statement) if name is not None
    }
    if not imported:
        return after
    old_ids = {id(statement) for statement in before.body}
    new_ids = {id(statement) for statement in after.body}
    code = [s for s in after.body if not _is_import_line(s)]
    lost = imported & _used_in(before, [s for s in before.body if id(s) not in new_ids], text_of)
    if lost:
        lost -= _used_in(after, [s for s in code if id(s) not in old_ids], text_of)
    if lost:
        unchanged = [s for s in code if id(s) in old_ids]
        text = "".join(text_of(after, s) for s in unchanged)
        if any(re.search(rf"\b{re.escape(name)}\b", text) for name in lost):
            lost -= _used_in(after, unchanged, text_of)
    if not lost:
        return after
    body: list[cst.BaseStatement] = []
    # The blank lines above a run of removed lines that began a group (the first line
    # of the module, or one after a blank line): the next line takes them.
    carried: int | None = None
    for statement in after.body:
        kept = _without(statement, lost) if _is_import_line(statement) else statement
        if kept is None:
            if carried is None and (not body or blank_lines_above(statement)):
                carried = blank_lines_above(statement)
            continue
        if carried is not None:
            kept = with_blank_lines_above(kept, carried)
            carried = None
        body.append(kept)
    return after.with_changes(body=body)


def _used_in(
    module: cst.Module, statements: Sequence[cst.BaseStatement], text_of: TextOf
) -> set[str]:
    """Names ``statements`` read or bind, imports and attribute names aside, from
    CPython's parse of their text; libcst's walk where CPython cannot parse it (newer
    syntax than this Python's)."""
    code = "".join(text_of(module, s) for s in statements if not _is_import_line(s))
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return names_in(*(s for s in statements if not _is_import_line(s)))
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def _is_import_line(statement: cst.BaseStatement) -> bool:
    return bool(imports_of(statement))


def _local(alias: cst.ImportAlias, plain_import: bool) -> str | None:
    """The name an alias binds (``import a.b`` binds ``a``)."""
    if alias.asname is not None:
        return alias.asname.name.value if isinstance(alias.asname.name, cst.Name) else None
    dotted = get_full_name_for_node(alias.name)
    if dotted is None:
        return None
    return dotted.split(".", 1)[0] if plain_import else dotted


def _bound_by(statement: cst.BaseStatement) -> list[str | None]:
    if not _is_import_line(statement):
        return []
    assert isinstance(statement, cst.SimpleStatementLine)
    found: list[str | None] = []
    for small in statement.body:
        if isinstance(small, cst.Import):
            found += [_local(alias, True) for alias in small.names]
        elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
            if small.module is not None and get_full_name_for_node(small.module) == "__future__":
                continue
            found += [_local(alias, False) for alias in small.names]
    return found


def _without(statement: cst.BaseStatement, lost: set[str]) -> cst.BaseStatement | None:
    """The import line without the aliases binding ``lost`` names; None if none remain."""
    assert isinstance(statement, cst.SimpleStatementLine)
    smalls: list[cst.BaseSmallStatement] = []
    for small in statement.body:
        if isinstance(small, cst.Import):
            names = [a for a in small.names if _local(a, True) not in lost]
        elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
            names = [a for a in small.names if _local(a, False) not in lost]
        else:
            smalls.append(small)
            continue
        if len(names) == len(small.names):  # type: ignore[arg-type]
            smalls.append(small)
        elif names:
            aliases = small.names
            assert not isinstance(aliases, cst.ImportStar)
            last = aliases[-1].comma  # a trailing comma (or none) stays last
            names[-1] = names[-1].with_changes(comma=last)
            smalls.append(small.with_changes(names=names))
    if not smalls:
        return None
    if all(new is old for new, old in zip(smalls, statement.body, strict=False)) and len(
        smalls
    ) == len(statement.body):
        return statement  # the same node: the analysis carries its facts over
    last_small = statement.body[-1]
    if smalls[-1] is not last_small and isinstance(smalls[-1], cst.Import | cst.ImportFrom):
        smalls[-1] = smalls[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
    return statement.with_changes(body=smalls)
