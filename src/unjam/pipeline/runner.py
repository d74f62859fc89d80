"""The pipeline: discover → read → pre-filter → analyse (parallel) → link → passes → verify.

Analysis runs in rounds. Every file is summarised with CPython's parser and the first
round analyses those that can hold a fact (see ``prefilter``); the linker then knows
which project helpers block, which async functions are candidates and which routers they
hang on, and the next round analyses the files that mention those names (or define those
routers), until nothing new turns up. A file the first round takes whatever the other
files say is analysed in its summary's task already (``Analysed``). Each file is parsed
by libcst at most once for analysis.

Every stage asks the cache first (``_Stored``, ``_Checks``; see ``unjam.cache``): a
file's summary, facts and findings are computed only where the cache does not hold them
for its bytes and the run's settings, and worker processes start only when a stage has
files enough left for them (``_Pool``).
"""

from __future__ import annotations

import ast
import functools
import multiprocessing
import multiprocessing.context
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import libcst as cst
from libcst.codemod import CodemodContext, SkipFile

from unjam._speed.collector import collector_tuned
from unjam._speed.fastwalk import fast_walks, prepare_fast_walks
from unjam._speed.workers import Workers
from unjam.analysis.catalog import Catalog, default_catalog
from unjam.analysis.light import light_facts
from unjam.analysis.model import ModuleFacts
from unjam.analysis.module import analyse_and_index
from unjam.analysis.node_index import NodeIndex
from unjam.analysis.positions import AstPositions
from unjam.analysis.project import ModuleView, Project
from unjam.analysis.qualnames import ModuleName
from unjam.cache import Cache, stable_digest, tuple_of
from unjam.cache.keys import FileIdentity, StageKeys, view_digest
from unjam.codemods import Codemod, Options, Site
from unjam.pipeline.codegen import StatementText
from unjam.pipeline.discovery import SourceFile
from unjam.pipeline.jobs import (
    DEFAULT_PROFILE,
    Job,
    Profile,
    Read,
    identity,
    read_files,
)
from unjam.pipeline.lines import LineMap
from unjam.pipeline.prefilter import (
    Mentions,
    Summary,
    reexported,
    select,
    selects_alone,
    summarise,
    summarise_newer,
    vocabulary,
)
from unjam.pipeline.source import (
    SourceError,
    parse_source,
    python_ast,
    too_deep_for_libcst,
)
from unjam.pipeline.verify import VerificationError, compiles, reparse

R = TypeVar("R")

#: Below this many files a process pool costs more than it saves.
POOL_THRESHOLD = 8
#: Rounds of "files that mention a newly found name"; chains deeper than this are rare.
MAX_ROUNDS = 10


@dataclass(frozen=True, slots=True)
class FileResult:
    """What happened to one file: ``after`` is None when it is unchanged or failed."""

    shown: str
    path: str
    before: bytes
    after: bytes | None = None
    sites: tuple[Site, ...] = ()
    error: str | None = None
    #: (codemod, bytes after it) for each pass that changed the file, in run order.
    stages: tuple[tuple[str, bytes], ...] = ()
    profile: str = DEFAULT_PROFILE
    #: The passes analysed the file again mid-way: each time, the module's new facts
    #: and the digest of the view the project gave them then (the cache replays these
    #: to tell whether a kept answer still holds; see ``_Checks``).
    relinks: tuple[tuple[ModuleFacts, bytes], ...] = ()

    @property
    def changed(self) -> bool:
        return self.after is not None and self.after != self.before


@dataclass
class Analysis:
    project: Project
    jobs: dict[str, Job]
    errors: list[str] = field(default_factory=list)
    files_seen: int = 0
    #: Files this Python cannot parse but libcst can: they take libcst's slower paths.
    newer_syntax: int = 0
    #: The processes that analysed the files, which kept their libcst trees for the
    #: passes (``Runner.transform`` uses and stops them); None when analysed in-process.
    workers: Workers[_WorkerState] | None = field(default=None, repr=False, compare=False)
    #: Each analysed module's facts' cache key, by path (see ``cache.keys``).
    fact_keys: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)
    identities: dict[str, FileIdentity] = field(default_factory=dict, repr=False, compare=False)
    keys: StageKeys | None = field(default=None, repr=False, compare=False)

    def close(self) -> None:
        """Let go of the trees kept for the passes (a run that only analyses)."""
        if self.workers is not None:
            self.workers.close()
            self.workers = None
        _KEPT.clear()


@dataclass(frozen=True, slots=True)
class _WorkerState:
    catalog: Catalog
    roots: frozenset[str]
    vocabulary: Mapping[str, frozenset[str]] = field(default_factory=dict)
    project: Project | None = None
    profiles: Mapping[str, Profile] = field(default_factory=dict)
    #: ``check``: a pass that can tell its sites and the view after them without
    #: running (demote-sync) is not run, since nothing will be written.
    report_only: bool = False
    #: A pass that reads runs of awaits (gather-awaits) is selected somewhere.
    await_runs: bool = True
    #: ``unjam routes``: every file that mentions FastAPI is analysed (``select``).
    every_route: bool = False
    #: The cache keeps ``check``'s answers: say what each relink saw (``relinks``).
    record_relinks: bool = False


_STATE: _WorkerState | None = None


class _KeptTrees:
    """libcst trees the analysis parsed in this process, kept for the passes: a route
    module's parse is about a fifth of rewriting it in ``check``. Bounded by an estimate
    of their memory; a file whose tree was not kept is parsed again."""

    #: A libcst tree takes about 40 times its source's size (0.2 MB for a 5 kB module).
    SIZE_PER_BYTE = 40
    #: Per process. The bench tree's 240 analysed modules take about 25 MB in each of two
    #: workers; a monorepo's thousands would take gigabytes, so past this they are
    #: parsed again instead.
    BUDGET = 64 * 2**20

    def __init__(self) -> None:
        self._trees: dict[str, tuple[bytes, NodeIndex]] = {}
        self._size = 0

    def keep(self, job: Job, index: NodeIndex) -> None:
        """Keep the tree ``index`` describes (with the index)."""
        self.take(job)
        size = len(job.data) * self.SIZE_PER_BYTE
        if self._size + size <= self.BUDGET:
            self._trees[job.shown] = (job.data, index)
            self._size += size

    def take(self, job: Job) -> NodeIndex | None:
        """The kept tree of ``job``'s file (with its index), once, if it was parsed from
        the same bytes."""
        kept = self._trees.pop(job.shown, None)
        if kept is None:
            return None
        data, index = kept
        self._size -= len(data) * self.SIZE_PER_BYTE
        return index if data == job.data else None

    def clear(self) -> None:
        self._trees.clear()
        self._size = 0

    def __len__(self) -> int:
        return len(self._trees)


_KEPT = _KeptTrees()


def _init_worker(state: _WorkerState) -> None:
    global _STATE
    _STATE = state


def _state() -> _WorkerState:
    assert _STATE is not None, "worker used before initialisation"
    return _STATE


@dataclass(frozen=True, slots=True)
class Analysed:
    """The summary of a file ``select`` takes whatever the other files say, and the
    file's analysis (``scan_job``), done in the same task.

    Analysing it there starts on CPython's parse the summary made (the bench tree's
    5.7 kB route modules took 1.7 ms each to parse again) and while other files are
    still being summarised: 220 of the 240 files analysed on that tree no longer wait
    for the first round.
    """

    summary: Summary
    facts: ModuleFacts | SourceError


#: Why a file whose tree is too deep for unjam's walks is skipped (Python's recursion
#: limit; the rest of the run goes on).
TOO_DEEP = "too deeply nested to analyse (Python's recursion limit)"


def summary_job(job: Job) -> Summary | Analysed | SourceError:
    """Summarise one file with CPython's parser, and analyse it when the summary alone
    selects it; never raises for bad input."""
    state = _state()
    words = state.vocabulary
    try:
        tree, text = python_ast(job.data, job.shown)
    except SourceError as error:
        if error.final:
            return error
        if too_deep_for_libcst(job.data):
            return SourceError(job.shown, "too deeply nested to parse safely", final=True)
        try:  # the project may target a newer Python than the one running unjam
            newer = parse_source(job.data, job.shown)
            return summarise_newer(newer, job.data, words, job.module, job.package, job.namespace)
        except SourceError:
            return error
        except RecursionError:
            return SourceError(job.shown, TOO_DEEP)
    summary = summarise(
        job.data,
        job.shown,
        words,
        job.module,
        job.package,
        job.namespace,
        await_runs=state.await_runs,
        parsed=(tree, text),
    )
    if not selects_alone(summary, state.every_route):
        return summary
    return Analysed(summary, _scan(job, AstPositions(tree, text)))


def scan_job(job: Job) -> ModuleFacts | SourceError:
    """Analyse one module; never raises for bad input."""
    return _scan(job, _cpython_positions(job))


def _scan(job: Job, positions: AstPositions | None) -> ModuleFacts | SourceError:
    """``positions``: CPython's, None where this Python cannot parse the file."""
    state = _state()
    try:
        module = parse_source(job.data, job.shown)
        with fast_walks():
            facts, index = analyse_and_index(
                module,
                job.shown,
                ModuleName(job.module, job.package, job.namespace),
                state.catalog,
                state.roots,
                positions,
            )
        _KEPT.keep(job, index)
        return facts
    except SourceError as error:
        return error
    except RecursionError:
        return SourceError(job.shown, "too deeply nested to analyse")


def light_job(job: Job) -> ModuleFacts | SourceError:
    """Light facts for a module only gather-awaits needs (see ``analysis.light``)."""
    try:
        tree, text = python_ast(job.data, job.shown)
    except SourceError as error:
        return error
    return light_facts(tree, text, job.shown, job.module)


def _cpython_positions(job: Job) -> AstPositions | None:
    """Positions from CPython's parse, or None where this Python cannot parse the file."""
    try:
        return AstPositions(*python_ast(job.data, job.shown))
    except SourceError:
        return None


def transform_job(job: Job) -> FileResult:
    """Run the passes on one module; never raises for bad input."""
    state = _state()
    assert state.project is not None
    try:
        with fast_walks():
            return _transform(job, state, state.project)
    except SourceError as error:
        return _failed(job, str(error))
    except RecursionError:
        return _failed(job, f"{job.shown}: too deeply nested")


def _failed(job: Job, reason: str, sites: Sequence[Site] = ()) -> FileResult:
    return FileResult(
        job.shown, job.path, job.data, sites=tuple(sites), error=reason, profile=job.profile
    )


class _Rewrites:
    """A file's tree and text as the passes leave it, and the rewrites that counted.

    A rewrite counts once Python compiles it and libcst parses it again (the next pass
    walks that parse). ``check`` (``report_only``) writes nothing, so there a rewrite is
    only compiled and the next pass walks the tree the pass returned: the re-parse would
    cost a parse per rewritten file, and libcst writes both trees out as the same code.
    """

    def __init__(self, job: Job, tree: cst.Module, report_only: bool = False) -> None:
        self.job = job
        self.report_only = report_only
        self.tree = tree
        self.data = job.data
        # libcst writes a module out again on every ``.code``: each state's text is
        # kept (the file's own text until a pass changes it; libcst round-trips it).
        self.code = job.data.decode(tree.encoding)
        self.stages: list[tuple[str, bytes]] = []
        self.lines = LineMap()
        self.unsettled: tuple[str, cst.Module] | None = None
        self.text = StatementText()
        #: What the analysis learnt about the nodes of the tree it last analysed.
        self.index: NodeIndex | None = None
        #: CPython's parse of ``data``, when a rewrite was compiled from it.
        self.cpython: ast.Module | None = None

    @functools.cached_property
    def compiles(self) -> bool:
        """Did the file compile before the passes? Code written for a newer Python than
        this one cannot be compiled here (asked only when a rewrite does not compile);
        its rewrites are still re-parsed by libcst, which knows the newer syntax."""
        return _cpython_positions(self.job) is not None

    def propose(self, name: str, updated: cst.Module) -> None:
        self.unsettled = (name, updated)

    def settle(self, last: bool = False) -> bool:
        """Make the proposed rewrite count; False when it changed nothing.
        ``VerificationError`` (naming the pass) when it does not compile or re-parse.
        ``last``: no pass runs after this one."""
        if self.unsettled is None:
            return False
        name, updated = self.unsettled
        self.unsettled = None
        code = self.text.module(updated)
        if code == self.code:
            return False
        data = code.encode(updated.encoding)
        try:
            tree = self._verified(
                data, walked_next=not last and not self.report_only, analysed_next=not last
            )
        except VerificationError as problem:
            raise VerificationError(f"{name} produced invalid code ({problem})") from None
        self.tree = tree or updated
        if not last:  # no pass reports on this text: its lines need no way back
            self.lines.rewritten(self.code, code)
        self.code, self.data = code, data
        self.stages.append((name, data))
        return True

    def _verified(self, data: bytes, walked_next: bool, analysed_next: bool) -> cst.Module | None:
        """libcst's parse of ``data`` once Python compiles it; None when no pass walks
        it next and compiling was check enough. Keeps CPython's parse (``cpython``)
        when the code may be analysed next (``analysed_next``)."""
        self.cpython = None
        try:
            cpython = compiles(data, self.job.shown, parse=analysed_next)
        except VerificationError:
            if self.compiles:  # the file compiled before this rewrite
                raise
            return reparse(data)  # newer syntax: libcst's parse is the check
        tree = reparse(data) if walked_next else None
        self.cpython = cpython
        return tree

    def positions(self) -> AstPositions | None:
        """CPython's positions in the latest text (None where this Python cannot parse
        it), from the parse that compiled it when there was one."""
        if self.cpython is not None:
            return AstPositions(self.cpython, self.code.removeprefix("\ufeff"))
        return _cpython_positions(replace(self.job, data=self.data))


def _transform(job: Job, state: _WorkerState, project: Project) -> FileResult:
    kept = _KEPT.take(job)
    tree = kept.tree if kept is not None else parse_source(job.data, job.shown)
    file = _Rewrites(job, tree, state.report_only)
    file.index = kept
    if kept is not None:
        file.text.seed(tree, file.code, kept.first_lines)
    view = project.view(job.shown)
    profile = state.profiles[job.profile]
    sites: list[Site] = []
    stale = False
    relinks: list[tuple[ModuleFacts, bytes]] = []
    pending_view: ModuleView | None = None
    try:
        for codemod_class in profile.passes:
            if file.unsettled is not None:
                stale = file.settle()
            if stale and pending_view is not None:  # the last pass said what it changed
                view, stale = pending_view, False
            if stale:  # the next pass sees the analysis of the rewritten code
                facts, file.index = analyse_and_index(
                    file.tree,
                    job.shown,
                    ModuleName(job.module, job.package, job.namespace),
                    state.catalog,
                    state.roots,
                    file.positions(),
                    previous=file.index,
                    text=file.text.known,
                )
                project = project.relinked(facts)
                view = project.view(job.shown)
                stale = False
                if state.record_relinks:
                    relinks.append((facts, view_digest(view)))
            if not codemod_class.applies_to(view):
                continue
            known = codemod_class.sites_from_view(view, profile.options)
            if known is not None:  # the pass can tell its sites without running
                if not any(site.fixed for site in known):
                    unrun: ModuleView | None = view  # it would only report
                elif state.report_only:  # check: later passes see its rewrite in the view
                    unrun = codemod_class.view_after(view, known)
                else:
                    unrun = None
                if unrun is not None:
                    sites.extend(_on_user_lines(known, file.lines))
                    view = unrun
                    continue
            context = CodemodContext(
                filename=job.path, full_module_name=job.module, full_package_name=job.package
            )
            codemod = codemod_class(context, view, profile.options)
            codemod.first_party = state.roots | frozenset(profile.options.known_first_party)
            codemod.known_code = file.code
            codemod.known_index = file.index
            codemod.statement_text = file.text
            try:
                updated = codemod.transform_module(file.tree)
            except SkipFile:
                continue
            except Exception as error:  # a bug in a pass must not take the run down
                reason = (
                    f"{job.shown}: {codemod_class.NAME} failed: {type(error).__name__}: {error}"
                )
                return _failed(job, reason)
            sites.extend(_on_user_lines(codemod.sites, file.lines))
            if updated is file.tree:
                continue
            file.propose(codemod_class.NAME, updated)
            if not state.report_only:
                stale = file.settle()
            pending_view = codemod_class.view_after(view, codemod.sites)
        file.settle(last=True)
    except VerificationError as problem:
        return _failed(job, f"{job.shown}: {problem}; file left unchanged", sites)
    after = file.data if file.stages else None
    return FileResult(
        job.shown,
        job.path,
        job.data,
        after,
        tuple(sites),
        stages=tuple(file.stages),
        profile=job.profile,
        relinks=tuple(relinks),
    )


def _sites_from_view(
    passes: Sequence[type[Codemod]], view: ModuleView, options: Options
) -> tuple[Site, ...] | None:
    """What ``passes`` report from the view alone, or None as soon as one can tell only
    by running (the module is then rewritten, and the passes after it are not asked)."""
    found: list[Site] = []
    for codemod in passes:
        sites = codemod.sites_from_view(view, options)
        if sites is None:
            return None
        found += sites
    return tuple(found)


def _on_user_lines(sites: Iterable[Site], lines: LineMap) -> list[Site]:
    """Sites of a pass that ran on rewritten code, placed on the user's own lines."""
    if not lines.steps:
        return list(sites)
    return [
        replace(
            site,
            location=replace(site.location, line=lines.original(site.location.line)),
            message=_LINE_MENTION.sub(lambda found: _mention(found, lines), site.message),
        )
        for site in sites
    ]


#: "line 12" or "lines 12-14" inside a message: lines of the same module, to be carried
#: back too.
_LINE_MENTION = re.compile(r"\b(lines?) (\d+)(?:-(\d+))?\b")


def _mention(found: re.Match[str], lines: LineMap) -> str:
    first = lines.original(int(found.group(2)))
    if found.group(3) is None:
        return f"{found.group(1)} {first}"
    return f"{found.group(1)} {first}-{lines.original(int(found.group(3)))}"


def _map(
    workers: Workers[_WorkerState] | None,
    function: Callable[[Job], R],
    items: Sequence[Job],
    heavy: bool = False,
) -> Iterator[R]:
    """In order. A file goes back to the worker that handled it before (its tree).
    ``heavy``: libcst work, tens of milliseconds a file: sent one at a time, larger files
    first (a chunk of sixteen route modules took two seconds, with the other worker idle
    at the end); CPython summaries go sixteen at a time."""
    if workers is None:
        return map(function, items)
    if heavy:
        return workers.map(function, items, key=_shown, size=_size)
    chunk = max(1, min(16, len(items) // (4 * workers.count)))
    return workers.map(function, items, key=_shown, chunk=chunk)


class _Pool:
    """The analysis' worker processes, started when a stage first has files enough to
    hand them: a run the cache answers for the most part starts none (the analysis of
    a one-edit run on the bench tree took 0.49 s with two workers, 0.43 s without)."""

    def __init__(self, runner: Runner, state: _WorkerState) -> None:
        self.runner = runner
        self.state = state
        self.workers: Workers[_WorkerState] | None = None
        _init_worker(state)  # tasks run here until there are workers

    def for_tasks(self, count: int) -> Workers[_WorkerState] | None:
        """The workers to hand ``count`` tasks to, or None: run them here."""
        if self.workers is None and count >= POOL_THRESHOLD:
            self.workers = self.runner._workers(self.state, count)
        return self.workers


def _finish(results: Iterator[object]) -> None:
    """Run a map over the workers to its end once its last result is taken: a map
    left suspended counts as abandoned and stops the workers."""
    for _ in results:
        raise AssertionError("more results than tasks")


class _Stored:
    """The stages' work on each file, through the cache: what was kept is read back,
    the rest runs (in the workers) and is kept. Errors are kept too (a file that does
    not parse is reported the same way without parsing it again)."""

    def __init__(
        self,
        cache: Cache,
        keys: StageKeys,
        identities: dict[str, FileIdentity],
        await_runs: bool,
        base: Path,
    ) -> None:
        self.cache = cache
        #: Where the summaries of runs from ``base`` are kept.
        self.pack = stable_digest("summaries", str(base))
        self.keys = keys
        self.identities = identities
        self.await_runs = await_runs
        #: Where each module's facts are kept: full analysis, or light facts.
        self.fact_keys: dict[str, bytes] = {}

    def summaries(
        self, pool: _Pool, jobs: Sequence[Job]
    ) -> Iterator[Summary | Analysed | SourceError]:
        """Every file's summary. They are kept together, one pack per folder unjam runs
        from, holding the last run's: a run reads all of them, and 2,000 entries of their
        own took 0.12 s to read and 0.5 s to write, one pack 0.08 s and 0.06 s."""
        keys = [self.keys.summary(self.identities[job.shown], self.await_runs) for job in jobs]
        kept = self.cache.get("summaries", self.pack)
        pack: dict[bytes, Summary | SourceError] = kept if isinstance(kept, dict) else {}
        found = [_of_type(pack.get(key), (Summary, SourceError)) for key in keys]
        missing = [job for job, value in zip(jobs, found, strict=True) if value is None]
        computed = _map(pool.for_tasks(len(missing)), summary_job, missing)
        now: dict[bytes, Summary | SourceError] = {}
        for job, key, value in zip(jobs, keys, found, strict=True):
            if value is None:
                value = next(computed)
                if isinstance(value, Analysed):
                    self._keep_facts(job, value.facts)
            now[key] = value.summary if isinstance(value, Analysed) else value
            yield value
        _finish(computed)
        if missing or now.keys() != pack.keys():
            self.cache.put("summaries", self.pack, now)

    def facts(self, pool: _Pool, jobs: Sequence[Job]) -> Iterator[ModuleFacts | SourceError]:
        """Each module's analysis (libcst)."""
        return self._each(pool, jobs, "facts", self.keys.facts, scan_job, heavy=True)

    def light(self, pool: _Pool, jobs: Sequence[Job]) -> Iterator[ModuleFacts | SourceError]:
        """Each module's light facts (CPython's parse)."""
        return self._each(pool, jobs, "light", self.keys.light, light_job)

    def _each(
        self,
        pool: _Pool,
        jobs: Sequence[Job],
        kind: str,
        key_of: Callable[[FileIdentity], bytes],
        task: Callable[[Job], ModuleFacts | SourceError],
        heavy: bool = False,
    ) -> Iterator[ModuleFacts | SourceError]:
        keys = [key_of(self.identities[job.shown]) for job in jobs]
        found = [self._get(kind, key, (ModuleFacts, SourceError)) for key in keys]
        missing = [job for job, value in zip(jobs, found, strict=True) if value is None]
        computed = _map(pool.for_tasks(len(missing)), task, missing, heavy=heavy)
        for job, key, value in zip(jobs, keys, found, strict=True):
            if value is None:
                value = next(computed)
                self.cache.put(kind, key, value)
            self.fact_keys[job.shown] = key
            yield value
        _finish(computed)

    def _keep_facts(self, job: Job, facts: ModuleFacts | SourceError) -> None:
        key = self.keys.facts(self.identities[job.shown])
        self.cache.put("facts", key, facts)
        self.fact_keys[job.shown] = key

    def _get(self, kind: str, key: bytes, types: tuple[type, ...]) -> Any:
        """The value kept, if it is one of ``types`` (else it is computed again)."""
        return _of_type(self.cache.get(kind, key), types)


def _of_type(value: object, types: tuple[type, ...]) -> Any:
    return value if isinstance(value, types) else None


#: How a module's check came out: nothing applied, told from the view, or rewritten.
_NOTHING, _STATIC, _REWRITTEN = "nothing", "static", "rewritten"


class _Checks:
    """``check``'s answers per module, through the cache (see ``cache.keys``).

    An answer is keyed by the module's view. Where the passes analysed the rewritten
    module again mid-way, they read the project once more (the view it gives the new
    facts); such an answer is kept with those facts and the digests of the views they
    got, and holds in a later run only if that run's project, given the same facts,
    gives the same views (replayed here: about 1 ms a module on the bench tree, against
    about 20 ms for running the passes)."""

    def __init__(self, cache: Cache, analysis: Analysis, profiles: Mapping[str, Profile]) -> None:
        self.cache = cache
        self.analysis = analysis
        self.profiles = {
            name: (tuple(p.NAME for p in profile.passes), profile.options)
            for name, profile in profiles.items()
        }
        self._keys: dict[str, bytes] = {}

    def get(self, job: Job, view: ModuleView) -> tuple[str, FileResult | None] | None:
        if not self.cache.enabled or self.analysis.keys is None:
            return None
        key = self.analysis.keys.check(
            self.analysis.identities[job.shown],
            self.analysis.fact_keys[job.shown],
            self.profiles[job.profile],
            view,
        )
        self._keys[job.shown] = key
        entry = self.cache.get("check", key)
        if not (isinstance(entry, tuple) and len(entry) == 3):
            return None
        kind, sites, relinks = entry
        if kind == _NOTHING:
            return kind, None
        if kind not in (_STATIC, _REWRITTEN) or not tuple_of(sites, Site):
            return None
        if relinks and not self._replayed(job.shown, relinks):
            return None
        return kind, FileResult(job.shown, job.path, job.data, None, sites, profile=job.profile)

    def _replayed(self, path: str, relinks: object) -> bool:
        """Whether this run's project gives the kept facts the views they got before."""
        if not isinstance(relinks, tuple) or not all(
            isinstance(step, tuple) and len(step) == 2 for step in relinks
        ):
            return False
        project = self.analysis.project
        for facts, digest in relinks:
            if not isinstance(facts, ModuleFacts) or facts.path != path:
                return False
            project = project.relinked(facts)
            if view_digest(project.view(path)) != digest:
                return False
        return True

    def put(self, job: Job, kind: str, result: FileResult | None) -> None:
        key = self._keys.get(job.shown)
        if key is None or (result is not None and result.error is not None):
            return  # a failure is looked at again: it may depend on more than the key
        if result is None:
            self.cache.put("check", key, (kind, (), ()))
        else:
            self.cache.put("check", key, (kind, result.sites, result.relinks))


def _size(job: Job) -> int:
    return len(job.data)


def _shown(job: Job) -> str:
    return job.shown


class Runner:
    """Runs the pipeline for one invocation of the command line (or a test)."""

    def __init__(
        self,
        passes: Sequence[type[Codemod]],
        options: Options | None = None,
        jobs: int | None = None,
        extra_blocking: dict[str, str] | None = None,
        use_prefilter: bool = True,
        every_route: bool = False,
        base: Path | None = None,
        progress: Callable[[str, int], Callable[[], None]] | None = None,
        profiles: Mapping[str, Profile] | None = None,
        cache: Cache | None = None,
    ) -> None:
        """``passes``/``options`` make the default profile; ``profiles`` adds one per
        package (a file's profile is chosen in ``analyse``). ``cache``: where what the
        stages derive from one file is kept between runs (none by default)."""
        self.passes = tuple(passes)
        self.options = options or Options()
        self.profiles = {DEFAULT_PROFILE: Profile(self.passes, self.options), **(profiles or {})}
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self.extra_blocking = dict(extra_blocking or {})
        self.catalog = default_catalog().with_extra(self.extra_blocking)
        self.use_prefilter = use_prefilter
        self.every_route = every_route
        self.base = (base or Path.cwd()).resolve()
        self.progress = progress
        self.cache = cache if cache is not None else Cache(None)

    # -- analysis ------------------------------------------------------------------------
    @collector_tuned()
    def analyse(
        self,
        files: Iterable[SourceFile],
        profile_of: Mapping[Path, str] | None = None,
        read: Read | None = None,
    ) -> Analysis:
        """``profile_of``: see ``read``; ``read``: the files as ``read`` read them
        already (then ``files`` and ``profile_of`` are not looked at)."""
        read = read or read_files(files, profile_of, self.base)
        jobs, errors = dict(read.jobs), list(read.errors)
        roots = frozenset(job.module.split(".", 1)[0] for job in jobs.values() if job.module)
        words = vocabulary(self.catalog)
        state = _WorkerState(
            self.catalog,
            roots,
            words,
            await_runs=bool(self._gathering_profiles()),
            every_route=self.every_route,
        )
        stored = _Stored(
            self.cache,
            StageKeys.of(self.extra_blocking, words, roots),
            {shown: identity(job) for shown, job in jobs.items()},
            state.await_runs,
            self.base,
        )
        _KEPT.clear()  # before forking: the workers start with nothing kept
        pool = _Pool(self, state)
        try:
            analysis = self._analyse(jobs, errors, pool, read.seen, stored)
        except BaseException:
            if pool.workers is not None:
                pool.workers.close()
            raise
        analysis.workers = pool.workers
        return analysis

    def _analyse(
        self,
        jobs: dict[str, Job],
        errors: list[str],
        pool: _Pool,
        seen: int,
        stored: _Stored,
    ) -> Analysis:
        summaries: dict[str, Summary] = {}
        early: dict[str, ModuleFacts | SourceError] = {}  # analysed with their summary
        every = list(jobs.values())
        tick = self.progress("reading", len(every)) if self.progress else None
        for job, summary in zip(every, stored.summaries(pool, every), strict=True):
            if isinstance(summary, SourceError):
                errors.append(str(summary))
                del jobs[job.shown]
            elif isinstance(summary, Analysed):
                summaries[job.shown] = summary.summary
                early[job.shown] = summary.facts
            else:
                summaries[job.shown] = summary
            if tick:
                tick()
        selection = select(summaries, self.every_route)
        chosen = set(selection.first) if self.use_prefilter else set(jobs)
        light: dict[str, ModuleFacts] = {}
        gathering = self._gathering_profiles()
        # With --unsafe-fixes, gather-awaits merges calls into project coroutines, and
        # must know what each awaits (one connection reached by two of them must not
        # be used at once): every module of such a profile gets the full analysis.
        unsafe = {
            key
            for key, profile in self.profiles.items()
            if profile.options.unsafe_fixes
            and any(codemod.EVERY_COROUTINE for codemod in profile.passes)
        }
        if unsafe:
            chosen |= {shown for shown, job in jobs.items() if job.profile in unsafe}
        if gathering:
            # Without --unsafe-fixes only runs with a read request can be gathered; such
            # modules get light facts from CPython's tree unless something else needs
            # them analysed (then a full analysis replaces the light facts).
            gather_only = [
                jobs[shown]
                for shown, summary in summaries.items()
                if jobs[shown].profile in gathering
                and getattr(summary, gathering[jobs[shown].profile])
                and shown not in chosen
            ]
            for job, outcome in zip(gather_only, stored.light(pool, gather_only), strict=True):
                if isinstance(outcome, ModuleFacts):
                    light[job.shown] = outcome
                else:  # newer syntax than this Python's: libcst reads it in full
                    chosen.add(job.shown)
        pending = [job for shown, job in jobs.items() if shown in chosen]
        facts: dict[str, ModuleFacts] = dict(light)  # by path: a full analysis replaces
        analysed: set[str] = set()
        searched: set[tuple[str, str]] = set()
        project = Project.link(self.catalog, facts.values())
        for _ in range(MAX_ROUNDS):
            if not pending:
                break
            todo = [job for job in pending if job.shown not in early]
            tick = self.progress("analysing", len(todo)) if self.progress and todo else None
            outcomes = {job.shown: early.pop(job.shown) for job in pending if job.shown in early}
            for job, outcome in zip(todo, stored.facts(pool, todo), strict=True):
                outcomes[job.shown] = outcome
                if tick:
                    tick()
            for job in pending:  # in the order of the files, whichever task analysed them
                outcome = outcomes[job.shown]
                analysed.add(job.shown)
                if isinstance(outcome, SourceError):
                    errors.append(str(outcome))
                    facts.pop(job.shown, None)
                else:
                    facts[job.shown] = outcome
            project = Project.link(self.catalog, facts.values())
            pending = self._next_round(
                project, jobs, summaries, selection.relays, analysed, searched
            )
        newer = sum(1 for summary in summaries.values() if summary.newer_syntax)
        return Analysis(
            project,
            jobs,
            errors,
            files_seen=seen,
            newer_syntax=newer,
            fact_keys={path: stored.fact_keys[path] for path in project.modules},
            identities=stored.identities,
            keys=stored.keys,
        )

    def _gathering_profiles(self) -> dict[str, str]:
        """Profiles running a pass that looks at every coroutine, with the ``Summary``
        flag that makes a module worth its light facts."""
        wanted: dict[str, str] = {}
        for key, profile in self.profiles.items():
            if any(codemod.EVERY_COROUTINE for codemod in profile.passes):
                wide = profile.options.unsafe_fixes or bool(profile.options.gather_safe)
                wanted[key] = "awaits_twice" if wide else "read_runs"
        return wanted

    @staticmethod
    def _next_round(
        project: Project,
        jobs: dict[str, Job],
        summaries: dict[str, Summary],
        relays: frozenset[str],
        analysed: set[str],
        searched: set[tuple[str, str]],
    ) -> list[Job]:
        """Files not analysed yet that mention a name the last round found to matter,
        and modules that may define a router a finding is registered on."""
        owners = project.missing_owner_modules()
        found_everywhere, found_in_async = project.interesting_names()
        # A package may re-export a name (``from .deps import get_settings`` in its
        # ``__init__``): code importing it from there spells the package, not ``deps``,
        # and the linker needs the re-exporting module's facts to see it is one thing.
        everywhere = reexported(found_everywhere, summaries)
        in_async = reexported(found_in_async, summaries)
        aliases = (everywhere - found_everywhere) | (in_async - found_in_async)
        owners |= {module for module, _ in aliases}
        everywhere -= searched
        in_async -= searched | everywhere
        searched |= everywhere | in_async
        anywhere = Mentions(everywhere)
        async_only = Mentions(in_async)

        def wanted(shown: str, job: Job) -> bool:
            summary = summaries[shown]
            if job.module in owners or anywhere.found_among(summary.words):
                return True
            return (
                bool(async_only)
                and (summary.has_async or shown in relays)
                and async_only.found_among(summary.words)
            )

        return [job for shown, job in jobs.items() if shown not in analysed and wanted(shown, job)]

    # -- passes --------------------------------------------------------------------------
    def check(self, analysis: Analysis, only: Set[str] | None = None) -> list[FileResult]:
        """What the passes would report. Where every applicable pass can tell from the
        project's view alone (``Codemod.sites_from_view``) nothing is parsed again; other
        files are rewritten in memory. Nothing is written. ``only``: these files (shown
        paths), the others still informing the analysis. A module whose view, bytes and
        settings are those of a run the cache kept is not looked at again."""
        project = analysis.project
        checks = _Checks(self.cache, analysis, self.profiles)
        static: list[FileResult] = []
        rewrite: list[Job] = []
        kept: dict[str, FileResult] = {}
        for path in sorted(project.modules):
            if path not in analysis.jobs or (only is not None and path not in only):
                continue
            job = analysis.jobs[path]
            profile = self.profiles[job.profile]
            view = project.view(path)
            found_before = checks.get(job, view)
            if found_before is not None:
                kind, before = found_before
                if before is not None and kind == _STATIC:
                    static.append(before)
                elif before is not None:
                    kept[path] = before
                continue
            applicable = [p for p in profile.passes if p.applies_to(view)]
            if not applicable:
                checks.put(job, _NOTHING, None)
                continue
            found = _sites_from_view(applicable, view, profile.options)
            if found is None:
                rewrite.append(job)
            else:
                result = FileResult(job.shown, job.path, job.data, None, found, profile=job.profile)
                checks.put(job, _STATIC, result)
                static.append(result)
        rewritten = {
            result.shown: result
            for result in self._rewrite(
                analysis,
                rewrite,
                report_only=True,
                each=lambda done: checks.put(analysis.jobs[done.shown], _REWRITTEN, done),
            )
        }
        merged = {**kept, **rewritten}
        return static + [merged[path] for path in sorted(merged)]

    def transform(self, analysis: Analysis, only: Set[str] | None = None) -> list[FileResult]:
        """The passes' rewrites of every file (``only``: of these shown paths) where one
        applies."""
        project = analysis.project
        todo = [
            job
            for path in sorted(project.modules)
            if (job := analysis.jobs.get(path)) is not None
            and (only is None or path in only)
            and any(p.applies_to(project.view(path)) for p in self.profiles[job.profile].passes)
        ]
        return self._rewrite(analysis, todo)

    @collector_tuned()
    def _rewrite(
        self,
        analysis: Analysis,
        todo: Sequence[Job],
        report_only: bool = False,
        each: Callable[[FileResult], None] | None = None,
    ) -> list[FileResult]:
        """Run the passes on ``todo``, files some pass applies to (in path order), in the
        analysis' workers. ``report_only``: only the sites count (``check``), not the
        rewritten code. ``each``: told of each result as it comes."""
        project = analysis.project
        roots = frozenset(j.module.split(".", 1)[0] for j in analysis.jobs.values() if j.module)
        state = _WorkerState(
            self.catalog,
            roots,
            project=project,
            profiles=self.profiles,
            report_only=report_only,
            record_relinks=report_only and self.cache.enabled,
        )
        workers = self._rewriting_workers(analysis, state, todo)
        results: list[FileResult] = []
        tick = self.progress("rewriting", len(todo)) if self.progress and todo else None
        try:
            for result in _map(workers, transform_job, todo, heavy=True):
                results.append(result)
                if each is not None:  # while the workers go on with the rest
                    each(result)
                if tick:
                    tick()
        finally:
            if workers is not None:
                workers.close()
            analysis.close()
        return results

    def _rewriting_workers(
        self, analysis: Analysis, state: _WorkerState, todo: Sequence[Job]
    ) -> Workers[_WorkerState] | None:
        """The analysis' workers, which kept the trees they parsed, when sending them the
        project costs less than parsing the files again; else fresh ones (a fork
        inherits the project) or none."""
        kept, analysis.workers = analysis.workers, None
        if kept is not None:
            if kept.open and worth_sharing(len(analysis.project.modules), todo, kept):
                kept.share(state)
                return kept
            kept.close()
        return self._workers(state, len(todo))  # in-process: the trees kept here serve

    def _workers(self, state: _WorkerState, count: int) -> Workers[_WorkerState] | None:
        if self.jobs == 1 or count < POOL_THRESHOLD:
            _init_worker(state)
            return None
        prepare_fast_walks()  # forked workers inherit the checked field order
        return Workers(min(self.jobs, count), _init_worker, state, _context())


#: Measured on the bench tree (240 modules analysed, 5 kB route modules): pickling the
#: project and unpickling it in a worker takes about 3 ms per analysed module; libcst
#: parses about 5.5 µs per byte.
SHARE_SECONDS_PER_MODULE = 0.003
PARSE_SECONDS_PER_BYTE = 5.5e-6


def worth_sharing(modules: int, todo: Sequence[Job], workers: Workers[_WorkerState]) -> bool:
    """Does handing the project to the analysis' workers (its pickle, then each worker
    unpickling it, side by side) take less time than they save by not parsing again?"""
    if len(todo) < POOL_THRESHOLD:
        return False
    parsing = sum(len(job.data) for job in todo) * PARSE_SECONDS_PER_BYTE / workers.count
    return parsing > modules * SHARE_SECONDS_PER_MODULE


def _context() -> multiprocessing.context.ForkContext | multiprocessing.context.SpawnContext:
    # fork is cheapest where it is safe; elsewhere spawn (the initializer carries state).
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def run_source(
    code: str,
    passes: Sequence[type[Codemod]],
    options: Options | None = None,
    module: str = "example",
) -> FileResult:
    """Run passes on one in-memory module, as if it were a one-file project (tests, docs)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{module}.py"
        path.write_text(code, encoding="utf-8")
        runner = Runner(passes, options, jobs=1, base=Path(folder))
        analysis = runner.analyse([SourceFile(path, module, "")])
        if analysis.errors:
            return FileResult(path.name, str(path), code.encode(), error=analysis.errors[0])
        results = runner.transform(analysis)
        if not results:
            return FileResult(path.name, str(path), code.encode())
        return results[0]
