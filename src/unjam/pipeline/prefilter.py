"""Which files can matter, decided before anything is parsed with libcst.

libcst parsing plus scope and position metadata costs about eight times a bare libcst
parse, and most files of a large code base cannot hold a finding. Each file is first
summarised with CPython's own parser (many times cheaper; it also reports syntax errors)
and only files that could change a conclusion are analysed.

The filter is sound with respect to the analysis, which recognises a blocking call only
through a catalog name as the file imports it (``alias.leaf`` through ``import alias``, or
a name from ``from root import name``), through a value whose type came from such a name
(a parameter annotation, a local or module-level binding), or through a project name (a
helper, a value defined in another module), and follows calls into project code only
through names the file defines or imports. A file is analysed when:

- an ``async def`` in it uses catalog vocabulary;
- it binds a module-level name to catalog vocabulary (``engine = create_engine()``);
- a sync function in it uses catalog vocabulary and is called, directly or through other
  sync functions, from some ``async def`` in the project (calls resolved to modules);
- a sync method of one of its classes uses catalog vocabulary (calls through receivers
  of a class are resolved by the linker, not here);
- it mentions FastAPI or Starlette, for ``unjam routes`` only;
- (later rounds) it mentions a project name the linker found to matter together with
  that name's module, or it is the module of a router a finding is registered on; see
  ``Runner.analyse``. A test compares findings with and without the filter.
"""

from __future__ import annotations

import ast
import itertools
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from unjam._speed.fastwalk import fast_walks
from unjam.analysis.catalog import BLOCKING_CATEGORIES, Catalog
from unjam.analysis.light import appended_awaits, awaited_statement
from unjam.analysis.names import OWN_NAMES, Namespace
from unjam.analysis.positions import blocks_of, ordered_statements
from unjam.analysis.project import MAX_CHAIN
from unjam.pipeline.source import python_ast, source_lines

ALWAYS = (b"fastapi", b"starlette")
BUILTIN_CALLS = frozenset({"open", "input"})


class Mentions:
    """Does a file mention one of these project names together with its module?

    Code in another module can reach ``pkg.tasks.run`` only by importing it, and every
    import spells the module's last segment (``from pkg.tasks import run``, ``from pkg
    import tasks``, ``from .tasks import run``) except one from a package the file is
    in (``from . import run``, ``from .. import run``): a name such an import lists
    needs no module word. Requiring both words keeps a generic name such as ``run`` from
    pulling in every file that says "run".
    """

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.segments_of: dict[str, set[str]] = defaultdict(set)
        for module, name in pairs:
            self.segments_of[name].add(module.rpartition(".")[2])
        self.named = frozenset(self.segments_of)

    def __bool__(self) -> bool:
        return bool(self.named)

    def found_in(self, data: bytes) -> bool:
        return self.found_among(Words.of(data))

    def found_among(self, words: Words) -> bool:
        present = self.named.intersection(words.every)
        if not present:
            return False
        if not present.isdisjoint(words.from_own_package):
            return True
        return any(not self.segments_of[name].isdisjoint(words.every) for name in present)


#: ``from . import name`` (the module it names is a package the file is in): the names,
#: in parentheses over several lines or up to the end of the (continued) line.
_FROM_OWN_PACKAGE = re.compile(
    rb"\bfrom\s+\.+\s*import\s*(\((?:[^)#]|#[^\n]*)*\)|(?:\\\r?\n|[^\n;])*)"
)
_NAME = re.compile(rb"[A-Za-z_]\w*")
#: Word characters stay, every other byte becomes a space: the words are then what
#: ``split()`` returns, each a run as ``\bword\b`` finds it (five times faster than
#: ``re.findall``).
_WORD_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_ONLY_WORDS = bytes(byte if byte in _WORD_BYTES else ord(" ") for byte in range(256))


@dataclass(frozen=True, slots=True)
class Words:
    """Every word of a file and the names its ``from . import`` statements list: what
    ``Mentions`` asks. Workers collect them in the summary, so that each round of the
    analysis looks words up in the parent instead of scanning every file's text again
    (a second per round on the 2,000-module bench tree, with the workers idle).

    Words are interned, also as they arrive from a worker: a project spells the same
    few thousand words in every file, and a set per file would cost tens of MB.
    """

    every: tuple[str, ...] = ()
    from_own_package: tuple[str, ...] = ()

    @classmethod
    def of(cls, data: bytes) -> Words:
        own = {name for names in _FROM_OWN_PACKAGE.findall(data) for name in _NAME.findall(names)}
        return _interned(tuple(set(data.translate(_ONLY_WORDS).split())), tuple(own))

    def __reduce__(self) -> tuple[Callable[..., Words], tuple[tuple[str, ...], ...]]:
        return _interned, (self.every, self.from_own_package)


def _interned(every: Iterable[str | bytes], own: Iterable[str | bytes]) -> Words:
    def text(word: str | bytes) -> str:  # word characters are ASCII in a bytes pattern
        return sys.intern(word.decode("ascii") if isinstance(word, bytes) else word)

    return Words(tuple(map(text, every)), tuple(map(text, own)))


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


Call = tuple[str, str]  # (module, function name)


@dataclass(frozen=True, slots=True)
class Summary:
    """What one file's text says, as far as the pre-filter needs.

    Calls are resolved through the file's imports to ``(module, name)`` pairs, the way
    the analysis resolves them, so that ``service.get()`` in one file reaches only the
    ``get`` of the module ``service`` names, not every function called ``get``.
    """

    module: str = ""
    always: bool = False
    has_async: bool = False
    awaits_twice: bool = False  # awaited statements follow each other (gather-awaits)
    read_runs: bool = False  # ... and one of them calls an HTTP client (``x.get(...)``)
    async_uses_vocabulary: bool = False
    binds_vocabulary: bool = False
    called_from_async: frozenset[Call] = frozenset()
    sync_vocabulary: frozenset[str] = frozenset()  # sync functions that use it
    sync_calls: Mapping[str, frozenset[Call]] = field(default_factory=dict)
    #: Classes defined at the module's top level (``Service.stat()`` reaches into one;
    #: their sync methods are in ``sync_vocabulary`` and ``sync_calls`` as
    #: ``Class.method`` too).
    classes: frozenset[str] = frozenset()

    @property
    def method_uses_vocabulary(self) -> bool:
        """A class's sync method uses catalog vocabulary (``self.client =
        boto3.client()``, ``bcrypt.hashpw``): async code anywhere may reach it through
        a receiver of that class, which the summary cannot resolve."""
        return any("." in name for name in self.sync_vocabulary)

    #: Written for a newer Python than the one running unjam: read through libcst.
    newer_syntax: bool = False
    #: Module-level ``from x import name [as local]``: local -> (x, name).
    imported: Mapping[str, Call] = field(default_factory=dict)
    #: Modules imported with ``from x import *``.
    star_imports: tuple[str, ...] = ()
    #: What later rounds look for (see ``Mentions``).
    words: Words = field(default_factory=Words)


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Possessive quantifiers where Python has them (3.11 on). Each run below, cut short,
# is followed by a character the run could hold (a name character, a dot, a space),
# which is never what the pattern wants next (a dot, ``(``): giving characters back
# only retried each one in turn. Without them the patterns match the same, slower.
_ONCE = "+" if sys.version_info >= (3, 11) else ""
# ``alias.name.leaf``, as code writes it (no spaces around the dots: that would join a
# sentence's last word to the next line's name in a comment).
_DOTTED = re.compile(rf"(?<![\w.])[A-Za-z_]\w*{_ONCE}(?:\.[A-Za-z_]\w*{_ONCE})+")
# A called dotted name (``f(``, ``svc.get(``) and whether ``await`` stands right before it.
# The look-behind comes first, so that most places in a text fail at once; with the
# possessive name and spaces, half the time of ``(\bawait\s+)?(?<![\w.])...`` (0.97 s
# to 0.54 s over the bench tree's 2,000 files).
_CALL = re.compile(rf"(?<![\w.])(await\s+)?([A-Za-z_][\w.]*{_ONCE})\s*{_ONCE}\(")
#: Receivers through which the analysis can reach a method of the project's own.
_SELF = frozenset({"self", "cls"})


def _segment(lines: list[str], node: ast.stmt) -> str:
    """The statement's source lines (signature and body; decorators are not included)."""
    return "".join(lines[node.lineno - 1 : node.end_lineno or node.lineno])


class _Imports:
    """What each imported name stands for: a module, or a name inside a module."""

    def __init__(self, module: str, package: str, namespace: Namespace) -> None:
        self.module = module
        self.package = package
        self.namespace = namespace
        self.modules: dict[str, str] = {}  # local name -> module it is bound to
        self.names: dict[str, Call] = {}  # local name -> (module, name) it is bound to
        self.stars: list[str] = []  # modules imported with ``from x import *``

    def absolute(self, node: ast.ImportFrom) -> str:
        base = node.module or ""
        if not node.level:
            return self.namespace.scoped(base)
        parts = self.package.split(".") if self.package else []
        parts = parts[: len(parts) - (node.level - 1)] if node.level - 1 <= len(parts) else []
        return ".".join([*parts, base] if base else parts)

    def add(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.modules[alias.asname] = self.namespace.scoped(alias.name)
                else:
                    root = alias.name.split(".", 1)[0]
                    self.modules[root] = self.namespace.scoped(root)
            return
        source = self.absolute(node)
        for alias in node.names:
            if alias.name == "*":
                self.stars.append(source)
                continue
            local = alias.asname or alias.name
            # ``from pkg import service`` may bind a module or a function: keep both.
            self.names[local] = (source, alias.name)
            self.modules[local] = f"{source}.{alias.name}" if source else alias.name

    def resolve(self, dotted: str, defined: set[str]) -> Call | None:
        root, _, rest = dotted.partition(".")
        if not rest:
            if root in self.names:
                return self.names[root]
            # A name from ``from x import *`` is looked for in x by ``select``.
            return (self.module, root) if root in defined or self.stars else None
        if root in _SELF:
            return self.module, rest.rsplit(".", 1)[-1]
        if root in self.modules:
            middle, _, name = rest.rpartition(".")
            module = self.modules[root] + (f".{middle}" if middle else "")
            return module, name
        return None


def _calls(called: list[tuple[str, str]], imports: _Imports, defined: set[str]) -> set[Call]:
    """Project functions the analysis could see called here (not awaited), resolved
    the way the analysis resolves them: a bare name defined or imported in the file, a
    dotted name whose root is an import, or ``self``/``cls``. ``session.get()`` on a local
    value reaches no project function, and is left out."""
    found: set[Call] = set()
    for awaited, dotted in called:
        if not awaited and (call := imports.resolve(dotted, defined)) is not None:
            found.add(call)
    return found


class _Words:
    """The file's imports, and which of its words stand for catalog things."""

    def __init__(
        self, roots: Mapping[str, frozenset[str]], module: str, package: str, namespace: Namespace
    ) -> None:
        self.roots = roots
        self.imports = _Imports(module, package, namespace)
        self.vocab: set[str] = set()  # bare names that stand for catalog things
        self.aliases: dict[str, str] = {}  # local module alias -> catalog root

    def add_import(self, node: ast.Import | ast.ImportFrom) -> None:
        self.imports.add(node)
        roots = self.roots
        if isinstance(node, ast.Import):
            for alias in node.names:
                root = alias.name.split(".", 1)[0]
                if root in roots:
                    self.aliases[(alias.asname or alias.name).split(".", 1)[0]] = root
        elif node.module and node.level == 0:
            root = node.module.split(".", 1)[0]
            if root in roots:
                for alias in node.names:
                    local = alias.asname or alias.name
                    if alias.name in roots[root]:
                        self.vocab.add(local)
                    self.aliases[local] = root  # ``from os import path``: a module, maybe

    def used_in(self, segment: str) -> bool:
        """A catalog name as the analysis could resolve it: a name imported from a
        catalog module, or ``alias.….leaf`` through a module imported as ``alias``."""
        if self.vocab and self.vocab.intersection(_WORD.findall(segment)):
            return True
        if not self.aliases:
            return False
        for spelled in _DOTTED.findall(segment):
            head, _, tail = spelled.partition(".")
            root = self.aliases.get(head)
            if root is not None and tail.rsplit(".", 1)[-1] in self.roots[root]:
                return True
        return False


def _calls_builtin(called: list[tuple[str, str]]) -> bool:
    return any(name in BUILTIN_CALLS and not awaited for awaited, name in called)


def summarise(
    data: bytes,
    shown: str,
    roots: Mapping[str, frozenset[str]],
    module: str = "",
    package: str = "",
    namespace: Namespace = OWN_NAMES,
    await_runs: bool = True,
    parsed: tuple[ast.Module, str] | None = None,
) -> Summary:
    """Summarise one file; ``SourceError`` if CPython cannot decode or parse it.

    Words are read from each function's source lines, strings and comments included:
    that can only make the summary mention more, never less. ``await_runs``: look for
    runs of awaits (``awaits_twice``, ``read_runs``), which only gather-awaits reads.
    ``parsed``: what ``python_ast`` returned for ``data``, when the caller parsed it; the
    tree is only read, so the caller may analyse it further.
    """
    tree, text = parsed if parsed is not None else python_ast(data, shown)
    lines = source_lines(text)
    statements = list(ordered_statements(tree.body))
    words = _Words(roots, module, package, namespace)
    for node in statements:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            words.add_import(node)

    binds = False
    for statement in tree.body:
        if isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is not None:
            if words.used_in(_segment(lines, statement)):
                binds = True
                targets = (
                    statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                )
                words.vocab.update(t.id for t in targets if isinstance(t, ast.Name))

    functions = [n for n in statements if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    defined = {function.name for function in functions}
    # Methods are also listed as ``Class.method`` (classes at the top level), which is
    # how a call through the imported class (``Service.stat()``) reaches them.
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    class_of = {id(item): c.name for c in classes for item in c.body}
    has_async = False
    awaits_twice = False
    read_runs = False
    async_vocab = False
    called_from_async: set[Call] = set()
    sync_vocab: set[str] = set()
    sync_calls: dict[str, set[Call]] = defaultdict(set)
    for node in functions:
        segment = _segment(lines, node)
        called = _CALL.findall(segment)
        calls = _calls(called, words.imports, defined)
        uses_vocab = _calls_builtin(called) or words.used_in(segment)
        if isinstance(node, ast.AsyncFunctionDef):
            has_async = True
            async_vocab = async_vocab or uses_vocab
            if await_runs and not read_runs and "await" in segment:  # all known once "read"
                found = _await_runs(node)
                awaits_twice = awaits_twice or found is not None
                read_runs = read_runs or found == "read"
            called_from_async |= calls
        else:
            names = [node.name]
            if id(node) in class_of:
                names.append(f"{class_of[id(node)]}.{node.name}")
            for name in names:
                if uses_vocab:
                    sync_vocab.add(name)
                sync_calls[name] |= calls
    return Summary(
        module=module,
        always=any(word in data for word in ALWAYS),
        has_async=has_async,
        awaits_twice=awaits_twice,
        read_runs=read_runs,
        async_uses_vocabulary=async_vocab,
        binds_vocabulary=binds,
        called_from_async=frozenset(called_from_async),
        sync_vocabulary=frozenset(sync_vocab),
        sync_calls={name: frozenset(calls) for name, calls in sync_calls.items()},
        classes=frozenset(c.name for c in classes),
        imported=_module_level_imports(tree, words.imports),
        star_imports=tuple(words.imports.stars),
        words=Words.of(data),
    )


def summarise_newer(
    tree: cst.Module,
    data: bytes,
    roots: Mapping[str, frozenset[str]],
    module: str = "",
    package: str = "",
    namespace: Namespace = OWN_NAMES,
) -> Summary:
    """A summary that can only say more than ``summarise`` would, for a file written for
    a newer Python than the one running unjam (``type X = ...``, ``def f[T]()``): libcst
    parses it, CPython here cannot.

    The whole file stands for every one of its functions: each may call what any of them
    calls and use the catalog if any of them does, and each coroutine may await in runs.
    Import statements use no new syntax, so CPython reads them one by one.
    """
    text = data.decode(tree.encoding).removeprefix("\ufeff")
    found = _Definitions()
    with fast_walks():
        tree.visit(found)
    words = _Words(roots, module, package, namespace)
    for statement in found.imports:
        parsed = ast.parse(tree.code_for_node(statement)).body[0]
        assert isinstance(parsed, (ast.Import, ast.ImportFrom))
        words.add_import(parsed)
    defined = found.functions
    has_async = found.has_async
    called = _CALL.findall(text)
    calls = frozenset(_calls(called, words.imports, defined))
    uses_vocab = _calls_builtin(called) or words.used_in(text)
    awaits = has_async and _AWAIT.search(text) is not None
    return Summary(
        module=module,
        always=any(word in data for word in ALWAYS),
        has_async=has_async,
        awaits_twice=awaits,
        read_runs=awaits,
        async_uses_vocabulary=has_async and uses_vocab,
        binds_vocabulary=uses_vocab,
        called_from_async=calls if has_async else frozenset(),
        sync_vocabulary=frozenset(defined) if uses_vocab else frozenset(),
        sync_calls={name: calls for name in defined},
        classes=frozenset(found.classes),
        newer_syntax=True,
        imported=dict(words.imports.names),  # nested ones too: it can only say more
        star_imports=tuple(words.imports.stars),
        words=Words.of(data),
    )


_AWAIT = re.compile(r"\bawait\b")


def _module_level_imports(tree: ast.Module, imports: _Imports) -> dict[str, Call]:
    """What the module's own ``from x import name`` statements bind, those under a
    module-level ``if`` or ``try`` included (not those in functions or classes, which
    no other module can import)."""
    found: dict[str, Call] = {}
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        statement = pending.pop()
        if isinstance(statement, ast.ImportFrom):
            for alias in statement.names:
                local = alias.asname or alias.name
                if local != "*" and local in imports.names:
                    found[local] = imports.names[local]
        elif not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            blocks = blocks_of(statement)
            if blocks is not None:
                pending.extend(blocks)
    return found


def reexported(pairs: set[Call], summaries: Mapping[str, Summary]) -> set[Call]:
    """``pairs`` with every name a module re-exports one of them under: ``pkg``'s
    ``get_settings`` for ``pkg.deps``'s, when ``pkg/__init__.py`` imports it by name or
    with ``from .deps import *``."""
    exporters: dict[Call, set[Call]] = defaultdict(set)
    star_importers: dict[str, set[str]] = defaultdict(set)
    for summary in summaries.values():
        for local, target in summary.imported.items():
            exporters[target].add((summary.module, local))
        for star in summary.star_imports:
            star_importers[star].add(summary.module)
    found = set(pairs)
    frontier = list(pairs)
    while frontier:
        module, name = pair = frontier.pop()
        aliases = exporters.get(pair, set()) | {
            (importer, name) for importer in star_importers.get(module, ())
        }
        for alias in aliases - found:
            found.add(alias)
            frontier.append(alias)
    return found


class _Definitions(cst.CSTVisitor):
    """The import statements and the function and class names of a module, nested ones
    included. One visitor walk that skips import statements' insides: one
    ``m.findall`` for the four node types took 2.6x as long on Polar's 73 such files."""

    def __init__(self) -> None:
        self.imports: list[cst.Import | cst.ImportFrom] = []
        self.functions: set[str] = set()
        self.classes: set[str] = set()
        self.has_async = False

    def visit_Import(self, node: cst.Import) -> bool:
        self.imports.append(node)
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        self.imports.append(node)
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.add(node.name.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.add(node.name.value)
        self.has_async = self.has_async or node.asynchronous is not None


@dataclass(frozen=True, slots=True)
class Selection:
    """``first``: files the first analysis round must read. ``relays``: files defining a
    sync function that async code may call, directly or through other sync functions;
    a later round reads them if they mention a helper found to block."""

    first: frozenset[str]
    relays: frozenset[str]


def selects_alone(summary: Summary, every_route: bool = True) -> bool:
    """Does ``select`` put the file in the first round whatever the other files say?
    Such a file can be analysed as soon as it is summarised (``Runner.analyse``)."""
    return (
        (summary.always and every_route)
        or summary.async_uses_vocabulary
        or summary.binds_vocabulary
        or summary.method_uses_vocabulary
    )


def select(summaries: Mapping[str, Summary], every_route: bool = True) -> Selection:
    """``every_route``: also every file that mentions FastAPI (``unjam routes`` lists
    them all); otherwise such files are read only when a finding needs their facts."""
    by_module = {summary.module: path for path, summary in summaries.items()}

    def function_of(module: str, name: str) -> tuple[str, str] | None:
        """The file and function name a call resolved to ``(module, name)`` reaches:
        a function of the module, or a method of a class the module defines
        (``Service.stat()`` with ``Service`` imported: ``pkg.service.Service``)."""
        path = by_module.get(module)
        for _ in range(MAX_CHAIN):  # a package may re-export it from elsewhere
            if path is None:
                break
            summary = summaries[path]
            if name in summary.sync_calls:
                return path, name
            if name in summary.imported:
                module, name = summary.imported[name]
            else:  # ``from x import *``: the first x that defines it
                stars = [by_module.get(star) for star in summary.star_imports]
                defining = [p for p in stars if p is not None and name in summaries[p].sync_calls]
                if not defining:
                    return path, name
                module = summaries[defining[0]].module
            path = by_module.get(module)
        if path is not None:
            return path, name
        parent, _, owner = module.rpartition(".")
        path = by_module.get(parent)
        if path is None or owner not in summaries[path].classes:
            return None
        # A newer-syntax summary lists bare names only, each standing for everything.
        return path, name if summaries[path].newer_syntax else f"{owner}.{name}"

    reachable: set[Call] = set()
    for summary in summaries.values():
        reachable |= summary.called_from_async
    # Every reachable call is resolved once, while the serial step keeps the workers
    # waiting: the walk below and the grouping after it both need the answer.
    resolved: dict[Call, tuple[str, str] | None] = {}
    frontier = list(reachable)
    while frontier:
        call = frontier.pop()
        found = resolved[call] = function_of(*call)
        if found is None:
            continue
        path, name = found
        for callee in summaries[path].sync_calls.get(name, ()):
            if callee not in reachable:
                reachable.add(callee)
                frontier.append(callee)
    reached: dict[str, set[str]] = defaultdict(set)
    for found in resolved.values():
        if found is not None:
            reached[found[0]].add(found[1])
    first = {
        path
        for path, summary in summaries.items()
        if selects_alone(summary, every_route) or summary.sync_vocabulary & reached.get(path, set())
    }
    relays = {path for path, names in reached.items() if names & set(summaries[path].sync_calls)}
    return Selection(frozenset(first), frozenset(relays))


#: Methods of an HTTP client: gather-awaits gathers the reads and reports the writes
#: without --unsafe-fixes; other runs are reported where a module is analysed anyway.
HTTP_METHODS = frozenset(
    {"get", "head", "options", "post", "put", "patch", "delete", "request", "stream"}
)


def _await_runs(function: ast.AsyncFunctionDef) -> str | None:
    """ "read" when awaited statements follow each other and one calls an HTTP client
    (``client.get(...)``), "any" for other such runs or for a loop appending awaited
    results, None when there is none (``analysis.light`` counts the same runs). Only
    statements are visited: expressions hold no blocks."""
    found = None
    for node in [function, *_block_owners(function.body)]:
        body = node.body
        for first, second in itertools.pairwise(body):
            if awaited_statement(first) and awaited_statement(second):
                if _reads(first) or _reads(second):
                    return "read"
                found = "any"
        appended = appended_awaits(node)
        if any(_reads_call(awaited.value) for awaited in appended):
            return "read"
        if appended:
            found = "any"
    return found


def _block_owners(body: list[ast.stmt]) -> Iterator[Any]:
    """Every statement, ``except`` clause and ``case`` with a ``body`` block, nested ones
    included."""
    for statement in ordered_statements(body):
        if isinstance(getattr(statement, "body", None), list):
            yield statement
        yield from getattr(statement, "handlers", None) or ()
        if isinstance(statement, ast.Match):
            yield from statement.cases


def _reads(statement: ast.stmt) -> bool:
    value = getattr(statement, "value", None)
    return isinstance(value, ast.Await) and _reads_call(value.value)


def _reads_call(call: ast.expr) -> bool:
    return (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr in HTTP_METHODS
    )
