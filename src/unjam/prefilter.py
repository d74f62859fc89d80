"""Which files can matter, decided before anything is parsed with libcst.

libcst parsing plus scope and position metadata costs about eight times a bare libcst
parse, and most files of a large code base cannot hold a finding. Each file is first
summarised with CPython's own parser (many times cheaper; it also reports syntax errors)
and only files that could change a conclusion are analysed.

The filter is sound with respect to the analysis, which recognises a blocking call only
through a catalog name imported in the file (so the name's last segment, or the alias it
was imported as, appears in the function), through a value whose type came from such a
name (a parameter annotation, a local or module-level binding), or through a project
name (a helper, a value defined in another module). A file is analysed when:

- it mentions FastAPI or Starlette (apps, routers, registrations);
- an ``async def`` in it uses catalog vocabulary;
- it binds a module-level name to catalog vocabulary (``engine = create_engine()``);
- a sync function in it uses catalog vocabulary and its name is called, directly or
  through other sync functions, from some ``async def`` in the project;
- (later rounds) it mentions a name the linker found to matter, see ``Runner.analyse``.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from unjam.analysis.catalog import BLOCKING_CATEGORIES, Catalog
from unjam.source import python_ast

ALWAYS = (b"fastapi", b"starlette")
BUILTIN_CALLS = frozenset({"open", "input"})


def _alternation(words: Iterable[str]) -> re.Pattern[bytes] | None:
    ordered = sorted({w for w in words if w}, key=len, reverse=True)
    if not ordered:
        return None
    body = b"|".join(re.escape(word.encode()) for word in ordered)
    return re.compile(rb"\b(?:" + body + rb")\b")


def matcher(names: Iterable[str]) -> re.Pattern[bytes] | None:
    return _alternation(names)


def vocabulary(catalog: Catalog) -> dict[str, frozenset[str]]:
    """Catalog root module -> last segments of its names that can start a detection.

    Effects that are not blocking (loop-bound calls, context variables) are left out:
    they only matter inside functions that are analysed for another reason.
    """

    def leads_to_blocking(type_name: str | None) -> bool:
        rule = catalog.type(type_name) if type_name else None
        if rule is None:
            return False
        return rule.category in BLOCKING_CATEGORIES or bool(
            rule.returns or rule.called or rule.attribute
        )

    leaves: dict[str, set[str]] = defaultdict(set)
    for name, rule in catalog.calls.items():
        if rule.category in BLOCKING_CATEGORIES or leads_to_blocking(rule.returns):
            _add(leaves, name)
    for name in catalog.types:
        if leads_to_blocking(name):
            _add(leaves, name)
    return {root: frozenset(words) for root, words in leaves.items()}


def _add(leaves: dict[str, set[str]], name: str) -> None:
    root, _, rest = name.partition(".")
    if root != "builtins" and rest:
        leaves[root].add(rest.rsplit(".", 1)[-1])


@dataclass(frozen=True, slots=True)
class Summary:
    """What one file's text says, as far as the pre-filter needs."""

    always: bool = False
    has_async: bool = False
    async_uses_vocabulary: bool = False
    binds_vocabulary: bool = False
    sync_with_vocabulary: frozenset[str] = frozenset()
    called_from_async: frozenset[str] = frozenset()
    sync_calls: Mapping[str, frozenset[str]] = field(default_factory=dict)


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A called name, and whether ``await`` stands right before it. ``await c.get()`` counts
# ``get`` as not awaited: the summary may over-approximate calls, never miss one.
_CALL = re.compile(r"(\bawait\s+)?\b([A-Za-z_][A-Za-z0-9_]*)\s*\(")


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement, nested ones included, without visiting expressions."""
    for statement in body:
        yield statement
        for name in ("body", "orelse", "finalbody"):
            inner = getattr(statement, name, None)
            if isinstance(inner, list):
                yield from _statements(inner)
        for handler in getattr(statement, "handlers", ()):
            yield from _statements(handler.body)
        for case in getattr(statement, "cases", ()):
            yield from _statements(case.body)


def _segment(lines: list[str], node: ast.stmt) -> str:
    """The statement's source lines (signature and body; decorators are not included)."""
    return "".join(lines[node.lineno - 1 : node.end_lineno or node.lineno])


def _calls(segment: str) -> set[str]:
    return {name for awaited, name in _CALL.findall(segment) if not awaited}


def summarise(data: bytes, shown: str, roots: Mapping[str, frozenset[str]]) -> Summary:
    """Summarise one file; ``SourceError`` if CPython cannot decode or parse it.

    Words are read from each function's source lines, strings and comments included:
    that can only make the summary mention more, never less.
    """
    tree, text = python_ast(data, shown)
    lines = text.splitlines(keepends=True)
    statements = list(_statements(tree.body))
    vocab: set[str] = set()
    for node in statements:
        if isinstance(node, ast.Import):
            for alias in node.names:
                root = alias.name.split(".", 1)[0]
                if root in roots:
                    vocab |= roots[root]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            root = node.module.split(".", 1)[0]
            if root in roots:
                vocab |= roots[root]
                # ``from time import sleep as nap``: the alias is what the code says.
                vocab.update(a.asname for a in node.names if a.asname and a.name in roots[root])

    binds = False
    for statement in tree.body:
        if isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is not None:
            if vocab.intersection(_WORD.findall(_segment(lines, statement))):
                binds = True
                targets = (
                    statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                )
                vocab.update(t.id for t in targets if isinstance(t, ast.Name))

    has_async = False
    async_vocab = False
    called_from_async: set[str] = set()
    sync_vocab: set[str] = set()
    sync_calls: dict[str, set[str]] = defaultdict(set)
    for node in statements:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        segment = _segment(lines, node)
        calls = _calls(segment)
        uses_vocab = bool(calls & BUILTIN_CALLS or vocab.intersection(_WORD.findall(segment)))
        if isinstance(node, ast.AsyncFunctionDef):
            has_async = True
            async_vocab = async_vocab or uses_vocab
            called_from_async |= calls
        else:
            if uses_vocab:
                sync_vocab.add(node.name)
            sync_calls[node.name] |= calls
    return Summary(
        always=any(word in data for word in ALWAYS),
        has_async=has_async,
        async_uses_vocabulary=async_vocab,
        binds_vocabulary=binds,
        sync_with_vocabulary=frozenset(sync_vocab),
        called_from_async=frozenset(called_from_async),
        sync_calls={name: frozenset(calls) for name, calls in sync_calls.items()},
    )


@dataclass(frozen=True, slots=True)
class Selection:
    """``first``: files the first analysis round must read. ``relays``: files defining a
    sync function that async code may call, directly or through other sync functions;
    a later round reads them if they mention a helper found to block."""

    first: frozenset[str]
    relays: frozenset[str]


def select(summaries: Mapping[str, Summary]) -> Selection:
    reachable: set[str] = set()
    for summary in summaries.values():
        reachable |= summary.called_from_async
    # Sync functions called from async code call others in turn: follow by name.
    calls_by_name: dict[str, set[str]] = defaultdict(set)
    for summary in summaries.values():
        for name, calls in summary.sync_calls.items():
            calls_by_name[name] |= calls
    frontier = set(reachable)
    while frontier:
        name = frontier.pop()
        for callee in calls_by_name.get(name, ()):
            if callee not in reachable:
                reachable.add(callee)
                frontier.add(callee)
    first = {
        path
        for path, summary in summaries.items()
        if summary.always
        or summary.async_uses_vocabulary
        or summary.binds_vocabulary
        or summary.sync_with_vocabulary & reachable
    }
    relays = {
        path for path, summary in summaries.items() if reachable.intersection(summary.sync_calls)
    }
    return Selection(frozenset(first), frozenset(relays))
