"""Add the imports a rewrite needs where the project's import sorter would put them.

libcst's ``AddImportsVisitor`` appends new imports after the module's last import, so a
project whose CI runs ruff's isort rules (``I001``) or isort fails on every file unjam
changed. Here an import goes into its section's group (``__future__``, standard library,
third party, first party, local), in the position ruff and isort sort it to with their
default settings: within a group, ``import x`` statements first, then ``from x import
y`` ones, each by module name regardless of case; names inside a ``from`` import
constants first, then classes, then the rest. A ``from x import`` of a module already
imported that way gains the name. A section with no group yet gets its own, between the
sections around it. A module without imports gets them after its docstring and
``from __future__`` imports.

Sections are told by the module's first name: ``sys.stdlib_module_names`` for the
standard library, the project's own top-level packages for first party.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import libcst as cst
from libcst.helpers import get_full_name_for_node
from unjam.codemods._nodes import blank_lines_above, with_blank_lines_above
from unjam.codemods._spelling import Spelling

SECTIONS = ("future", "stdlib", "third-party", "first-party", "local")


@dataclass(frozen=True, slots=True)
class Needed:
    """``import module`` (``name`` None) or ``from module import name``."""

    module: str
    name: str | None = None


def section_of(module: str, first_party: Iterable[str], relative: bool = False) -> int:
    if relative:
        return SECTIONS.index("local")
    root = module.split(".", 1)[0]
    if root == "__future__":
        return SECTIONS.index("future")
    if root in first_party:
        return SECTIONS.index("first-party")
    if root in sys.stdlib_module_names:
        return SECTIONS.index("stdlib")
    return SECTIONS.index("third-party")


def place_imports(
    module: cst.Module, needed: Sequence[Needed], first_party: frozenset[str]
) -> cst.Module:
    """``module`` with every ``needed`` import it lacks, each where a sorter puts it."""
    spelling = Spelling.of(module)
    body: list[cst.BaseStatement] = list(module.body)
    for item in dict.fromkeys(needed):  # once each, in the order asked
        if item.name is None and spelling.modules.get(item.module) == item.module:
            continue  # ``import x`` is there
        if item.name is not None and spelling.objects.get((item.module, item.name)) == item.name:
            continue  # ``from x import y`` is there
        body = _Block(body, first_party).insert(item)
    return module.with_changes(body=body)


def imports_of(statement: cst.BaseStatement) -> list[cst.Import | cst.ImportFrom]:
    """The imports of a top-level line made of imports only, else []."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return []
    found = [small for small in statement.body if isinstance(small, cst.Import | cst.ImportFrom)]
    return found if len(found) == len(statement.body) else []


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, cst.SimpleString | cst.ConcatenatedString)
    )


def _is_future(statement: cst.BaseStatement) -> bool:
    return any(
        isinstance(small, cst.ImportFrom)
        and small.module is not None
        and get_full_name_for_node(small.module) == "__future__"
        for small in imports_of(statement)
    )


@dataclass
class _Line:
    index: int  # in the module body
    section: int
    straight: bool  # ``import x`` (else ``from x import y``)
    key: str  # the module name as sorted
    group: int


class _Block:
    """The module's leading import block, in groups separated by blank lines."""

    def __init__(self, body: list[cst.BaseStatement], first_party: frozenset[str]) -> None:
        self.body = body
        self.first_party = first_party
        start = 0
        if body and _is_docstring(body[0]):
            start = 1
        while start < len(body) and _is_future(body[start]):
            start += 1
        self.start = start
        self.lines: list[_Line] = []
        group = 0
        index = start
        while index < len(body):
            imports = imports_of(body[index])
            if not imports:
                break
            if index > start and blank_lines_above(body[index]):
                group += 1
            first = imports[0]
            if isinstance(first, cst.Import):
                name = get_full_name_for_node(first.names[0].name) or ""
                relative = False
            else:
                name = (get_full_name_for_node(first.module) if first.module else None) or ""
                relative = bool(first.relative)
            self.lines.append(
                _Line(
                    index,
                    section_of(name, first_party, relative),
                    isinstance(first, cst.Import),
                    name.lower(),
                    group,
                )
            )
            index += 1
        self.end = index  # first statement after the block

    def insert(self, item: Needed) -> list[cst.BaseStatement]:
        section = section_of(item.module, self.first_party)
        if item.name is not None:
            merged = self._merge(item)
            if merged is not None:
                return merged
        statement = _statement(item)
        rank = (item.name is not None, item.module.lower())
        groups = self._groups()
        same = [lines for lines in groups if _section(lines) == section]
        if same:
            lines = same[0]
            after = [line for line in lines if (not line.straight, line.key) > rank]
            if after:
                return self._put(after[0].index, statement, first_of_group=after[0] is lines[0])
            return self._put(lines[-1].index + 1, statement, first_of_group=False)
        if not groups:
            return self._first_import(statement)
        later = [lines for lines in groups if _section(lines) > section]
        if later:
            # a new group before the first later one: it takes the blank lines above
            # that group, which is then one blank line below it
            at = later[0][0].index
            body = list(self.body)
            above = blank_lines_above(body[at])
            body[at] = with_blank_lines_above(body[at], 1)
            body.insert(at, with_blank_lines_above(statement, above))
            return body
        body = list(self.body)
        body.insert(self.end, with_blank_lines_above(statement, 1))
        return body

    def _groups(self) -> list[list[_Line]]:
        groups: dict[int, list[_Line]] = {}
        for line in self.lines:
            groups.setdefault(line.group, []).append(line)
        return list(groups.values())

    def _put(
        self, at: int, statement: cst.BaseStatement, first_of_group: bool
    ) -> list[cst.BaseStatement]:
        body = list(self.body)
        if first_of_group:
            # the group's blank lines now stand above the new first import
            blank = blank_lines_above(body[at])
            body[at] = with_blank_lines_above(body[at], 0)
            statement = with_blank_lines_above(statement, blank)
        body.insert(at, statement)
        return body

    def _first_import(self, statement: cst.BaseStatement) -> list[cst.BaseStatement]:
        """No import block: after the docstring and ``__future__`` imports."""
        body = list(self.body)
        at = self.start
        statement = with_blank_lines_above(statement, 1 if at > 0 else 0)
        if at < len(body):
            following = body[at]
            wanted = 2 if isinstance(following, cst.FunctionDef | cst.ClassDef) else 1
            if isinstance(following, cst.SimpleStatementLine | cst.BaseCompoundStatement):
                body[at] = with_blank_lines_above(
                    following, max(wanted, blank_lines_above(following))
                )
        body.insert(at, statement)
        return body

    def _merge(self, item: Needed) -> list[cst.BaseStatement] | None:
        """``from x import a`` gains ``b`` when the block has one for ``x``."""
        for line in self.lines:
            statement = self.body[line.index]
            assert isinstance(statement, cst.SimpleStatementLine)
            small = statement.body[0]
            if not isinstance(small, cst.ImportFrom) or small.relative or small.module is None:
                continue
            if get_full_name_for_node(small.module) != item.module:
                continue
            if isinstance(small.names, cst.ImportStar) or len(statement.body) != 1:
                continue
            assert item.name is not None
            names = _with_name(list(small.names), item.name)
            body = list(self.body)
            body[line.index] = statement.with_changes(body=[small.with_changes(names=names)])
            return body
        return None


def _section(lines: list[_Line]) -> int:
    """A group's section: that of most of its imports (the first on a tie)."""
    counts = [sum(1 for line in lines if line.section == s) for s in range(len(SECTIONS))]
    best = max(counts)
    return next(line.section for line in lines if counts[line.section] == best)


def _member_key(name: str) -> tuple[int, str]:
    """isort's order by type: CONSTANTS, Classes, then everything else."""
    if name.isupper() and len(name) > 1:
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


def _with_name(aliases: list[cst.ImportAlias], name: str) -> list[cst.ImportAlias]:
    """``aliases`` with ``name`` in sorted position, commas laid out as the others."""
    new = cst.ImportAlias(cst.Name(name))
    names = [get_full_name_for_node(alias.name) or "" for alias in aliases]
    at = next(
        (i for i, known in enumerate(names) if _member_key(known) > _member_key(name)),
        len(aliases),
    )
    between = next(
        (alias.comma for alias in aliases[:-1] if isinstance(alias.comma, cst.Comma)),
        cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
    )
    last_comma = aliases[-1].comma  # a trailing comma (or none) stays last
    result = [alias.with_changes(comma=between) for alias in aliases[:-1]]
    result.append(aliases[-1].with_changes(comma=between))
    result.insert(at, new.with_changes(comma=between))
    result[-1] = result[-1].with_changes(comma=last_comma)
    return result


def _statement(item: Needed) -> cst.SimpleStatementLine:
    module = cst.parse_expression(item.module)
    assert isinstance(module, cst.Name | cst.Attribute)
    if item.name is None:
        return cst.SimpleStatementLine([cst.Import(names=[cst.ImportAlias(module)])])
    return cst.SimpleStatementLine(
        [cst.ImportFrom(module=module, names=[cst.ImportAlias(cst.Name(item.name))])]
    )
