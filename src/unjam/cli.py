"""The ``unjam`` command line: parse options, call the engine, render with rich.

stdout carries only the report or the diff (so ``unjam diff . | git apply`` works);
summaries, progress and errors go to stderr.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from unjam import __version__
from unjam._speed.collector import collector_tuned
from unjam._speed.workers import WorkerError
from unjam.analysis.catalog import is_blocking
from unjam.analysis.model import Effect
from unjam.analysis.names import short_name, shown_qualname
from unjam.analysis.suppression import ALL, added_suppressions
from unjam.cache import CACHE_DIR_NAME, Cache, default_cache_dir, stable_digest, tuple_of
from unjam.cache.store import CACHE_DIR_VARIABLE, NO_CACHE_VARIABLE, remove_cache
from unjam.codemods import CONTRACT_ORDER, REGISTRY, Options, by_name, is_default, load
from unjam.config import HTTP_CLIENTS, ConfigError, find_pyproject, load_config
from unjam.entry import EXIT_INTERRUPTED
from unjam.git.commits import Change, SplitBy
from unjam.git.gitflow import (
    GitRefusal,
    Interrupted,
    Repository,
    UndoIncomplete,
    check_branch_names,
    check_ready,
    open_repository,
)
from unjam.git.recovery import records_near, recover
from unjam.pipeline.discovery import PROJECT_MARKERS, discover, git_root, is_test_file
from unjam.pipeline.jobs import Profile, Read, identity, read_files, shown_path
from unjam.pipeline.packages import (
    Layout,
    UnknownCodemod,
    choose_passes,
    codes,
    layout,
    nearest,
    parse_shard,
)
from unjam.report.batch import ReportError, RunReport, merge, package_report, read_report, table
from unjam.report.diff import unified_diff
from unjam.report.findings import (
    UNHANDLED,
    UNHANDLED_DOC,
    Finding,
    Format,
    findings_from,
    render,
    unhandled_blocking,
)
from unjam.report.review import Key, ask, key_of, suppressions_for

if TYPE_CHECKING:
    from unjam.analysis.project import FunctionPlan, Project
    from unjam.git.migrate import Prepared
    from unjam.pipeline.runner import Analysis, FileResult, Runner
    from unjam.probe.static import Known
    from unjam.probe.watchdog import Stall

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
#: Below this many columns the routes table is printed as wrapped lines instead.
NARROW = 120
#: Above this many files a progress bar is worth its noise (on a TTY only).
PROGRESS_MIN_FILES = 48

app = typer.Typer(
    name="unjam",
    help="Find FastAPI code that stalls the event loop, and rewrite it safely.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
err = Console(stderr=True, highlight=False)

Paths = Annotated[list[Path] | None, typer.Argument(help="Files or folders (default: .)")]
Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="Only the report and errors: no summary, no progress.")
]
Select = Annotated[
    str | None,
    typer.Option("--select", help="Comma-separated codes to run (replaces the defaults)."),
]
ExtendSelect = Annotated[
    str | None,
    typer.Option("--extend-select", help="Comma-separated codes to add to the selection."),
]
Ignore = Annotated[str | None, typer.Option("--ignore", help="Comma-separated codemods to skip.")]
Unsafe = Annotated[
    bool | None, typer.Option("--unsafe-fixes/--no-unsafe-fixes", help="Also apply unsafe fixes.")
]
Jobs = Annotated[
    int | None, typer.Option("--jobs", "-j", min=1, help="Worker processes (default: CPUs).")
]
Exclude = Annotated[
    list[str] | None,
    typer.Option("--exclude", help="Gitignore-style pattern to skip (repeatable)."),
]
ConfigPath = Annotated[
    Path | None, typer.Option("--config", help="pyproject.toml (or TOML file) to read instead.")
]
HttpClient = Annotated[
    str | None,
    typer.Option(
        "--http-client",
        help="Target of requests-to-httpx: httpx or httpx2 (default: httpx2 where the "
        "project already uses it, else httpx).",
    ),
]
DefaultTimeout = Annotated[
    bool | None,
    typer.Option(
        "--httpx-default-timeout/--no-httpx-default-timeout",
        help="Let converted clients keep httpx's 5 s timeout instead of requests' none.",
    ),
]
Shard = Annotated[
    str | None,
    typer.Option(
        "--shard",
        metavar="I/N",
        help="Only the packages of slice I of N (stable across runs), for a CI matrix; "
        "the whole tree still informs the analysis.",
    ),
]
IncludeTests = Annotated[
    bool | None,
    typer.Option(
        "--include-tests/--no-include-tests",
        help="Also report and rewrite test files (tests/, test_*.py, *_test.py, "
        "conftest.py); they always inform the analysis.",
    ),
]
NoCache = Annotated[
    bool,
    typer.Option(
        "--no-cache",
        help=f"Neither read nor write the cache (also ${NO_CACHE_VARIABLE}=1); results "
        "are the same either way.",
    ),
]
CacheDir = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        help=f"Where the cache is kept (default: ${CACHE_DIR_VARIABLE}, else "
        f"{CACHE_DIR_NAME}/ in the project's root).",
    ),
]
NoPrefilter = Annotated[
    bool, typer.Option("--no-prefilter", hidden=True, help="Analyse every file (debugging).")
]


def _say(line: str) -> None:
    """One line on stderr, never wrapped: errors must stay greppable."""
    sys.stderr.write(line + "\n")


@dataclass
class _Chatter:
    """Whether summaries, notes, tables on stderr and progress bars are shown
    (``--quiet`` turns them off; the report and errors always show)."""

    quiet: bool = False


_chatter = _Chatter()


def _note(line: str) -> None:
    """A summary or a note: one line on stderr, unless ``--quiet``."""
    if not _chatter.quiet:
        _say(line)


class Usage(Exception):
    """A usage problem: printed as one line, exit code 2."""


@dataclass(frozen=True)
class Session:
    """Everything one command needs, built from its options and the configuration."""

    paths: list[Path]
    layout: Layout  # every package: the analysis sees them all
    focus: Layout  # the packages this run reports on and rewrites (a shard, or all)
    passes: tuple[str, ...]  # every pass some package runs, in run order
    settings: RunSettings
    shard: tuple[int, int] | None = None
    problems: tuple[str, ...] = ()  # paths given that cannot be read, one line each

    @functools.cached_property
    def runner(self) -> Runner:
        """The engine, made on first use: a run the cache answers never needs it (nor
        the passes and libcst it imports)."""
        return self.settings.runner(self.passes)

    def only(self) -> set[str] | None:
        """Shown paths of the files this run reports on and rewrites: the focus's files
        (a shard, or all), test files only where the package sets ``include-tests``;
        None when that is every file."""
        base = self.settings.base
        chosen: set[str] = set()
        # a shard, or paths that name part of the project
        left_out = sum(map(len, self.focus.files.values())) != sum(
            map(len, self.layout.files.values())
        )
        # Tests named on the command line are what the user asked about (as ruff
        # checks an excluded file passed to it by name).
        named = [path for path in map(Path.resolve, self.paths) if self._names_tests(path)]
        for name, files in self.focus.files.items():
            package = self.focus.packages.get(name)
            tests_too = package is not None and package.config.include_tests
            for file in files:
                shown = shown_path(file.path, base)
                # Where the project sits (``~/tests/service``) says nothing: its own paths do.
                inside = shown_path(file.path, package.root) if package is not None else shown
                asked = any(file.path.resolve().is_relative_to(path) for path in named)
                if tests_too or asked or not is_test_file(inside):
                    chosen.add(shown)
                else:
                    left_out = True
        return chosen if left_out else None

    def _names_tests(self, target: Path) -> bool:
        """Whether a path given on the command line is test code: a test file, or a
        folder that is (or is inside) a test folder of its package."""
        roots = [p.root for p in self.layout.packages.values() if target.is_relative_to(p.root)]
        root = max(roots, key=lambda r: len(r.parts), default=target.parent)
        inside = shown_path(target, root)
        if target.is_dir():  # the folder itself counts: ``unjam check tests/``
            inside = f"{target.name}/_.py" if inside == "." else f"{inside}/_.py"
        return is_test_file(inside)


def _names(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(name.strip() for name in value.split(",") if name.strip())


@dataclass(frozen=True)
class RunOptions:
    """The options the analysing commands share, by the names typer hands them over."""

    paths: list[Path] | None = None
    select: str | None = None
    extend_select: str | None = None
    ignore: str | None = None
    unsafe_fixes: bool | None = None
    jobs: int | None = None
    exclude: list[str] | None = None
    config: Path | None = None
    http_client: str | None = None
    httpx_default_timeout: bool | None = None
    shard: str | None = None
    include_tests: bool | None = None
    no_prefilter: bool = False
    quiet: bool = False
    no_cache: bool = False
    cache_dir: Path | None = None

    @classmethod
    def of(cls, parameters: Mapping[str, Any]) -> RunOptions:
        """From a command's ``locals()``: its other parameters are its own business."""
        names = {option.name for option in fields(cls)}
        return cls(**{name: value for name, value in parameters.items() if name in names})


def _session(options: RunOptions, every_route: bool = False) -> Session:
    paths, select, ignore = options.paths, options.select, options.ignore
    http_client, config_path, shard = options.http_client, options.config, options.shard
    _chatter.quiet = options.quiet
    given = paths or [Path(".")]
    _recover([*given, Path(".")])
    loops = tuple(target for target in given if _is_loop(target))
    targets = [target for target in given if target not in loops]
    if http_client is not None and http_client not in HTTP_CLIENTS:
        raise Usage(f"--http-client must be one of {', '.join(HTTP_CLIENTS)}")
    overrides = {
        "select": _names(select),
        "extend_select": _names(options.extend_select),
        "ignore": _names(ignore),
        "unsafe_fixes": options.unsafe_fixes,
        "http_client": http_client,
        "httpx_default_timeout": options.httpx_default_timeout,
        "include_tests": options.include_tests,
    }
    try:
        # The configuration the run starts from must be usable; a broken one deeper in a
        # monorepo only skips its own package.
        load_config(config_path or find_pyproject(targets[0] if targets else Path(".")))
        choose_passes(_names(select), _names(ignore) or (), _names(options.extend_select) or ())
        sharding = parse_shard(shard) if shard is not None else None
    except (ConfigError, UnknownCodemod, ValueError) as error:
        raise Usage(str(error)) from None
    # The analysis sees the whole project the paths are in; the paths only choose what
    # is reported and rewritten (a caller out of view would change a decision).
    roots = analysis_roots(targets)
    # Named files, and folders reached through a link, are not met walking the roots.
    named = [
        t
        for t in targets
        if not Path(os.path.abspath(t)).is_dir() or os.path.realpath(t) != os.path.abspath(t)
    ]
    found = discover([*roots, *named], tuple(options.exclude or ()))
    missing = [t for t in targets if not os.path.lexists(t)]
    base = Path.cwd()
    whole = layout(found.files, roots, base, overrides, config_path)
    focus = whole.within([Path(os.path.abspath(t)) for t in targets])
    focus = focus.sharded(*sharding) if sharding else focus
    usable = [p for p in whole.packages.values() if p.error is None]
    passes = tuple(name for name in CONTRACT_ORDER if any(name in p.passes for p in usable))
    extra: dict[str, str] = {}
    for package in usable:
        extra.update(package.config.extra_blocking)
    settings = RunSettings(
        jobs=options.jobs,
        extra_blocking=extra,
        use_prefilter=not options.no_prefilter,
        every_route=every_route,
        base=base.resolve(),
        profiles={p.name: (p.passes, p.options) for p in usable},
        cache=_cache(options, roots),
    )
    problems = tuple(f"{m}: no such file or directory" for m in missing)
    problems += tuple(
        f"{shown_path(folder, Path.cwd())}: cannot list the folder ({why.lower()})"
        for folder, why in found.unreadable
    )
    problems += tuple(f"{loop}: symlink loop" for loop in loops)
    return Session(targets, whole, focus, passes, settings, sharding, problems)


@dataclass(frozen=True)
class RunSettings:
    """What the engine is made with; what a run's findings depend on besides its files."""

    jobs: int | None
    extra_blocking: dict[str, str]
    use_prefilter: bool
    every_route: bool
    base: Path
    profiles: dict[str, tuple[tuple[str, ...], Options]]  # pass names and options
    cache: Cache

    def runner(self, passes: tuple[str, ...]) -> Runner:
        from unjam.pipeline.runner import Runner

        return Runner(
            load(passes),
            jobs=self.jobs,
            extra_blocking=self.extra_blocking,
            use_prefilter=self.use_prefilter,
            every_route=self.every_route,
            base=self.base,
            progress=_progress if err.is_terminal else None,
            profiles={
                name: Profile(load(names), options)
                for name, (names, options) in self.profiles.items()
            },
            cache=self.cache,
        )


def _cache(options: RunOptions, roots: Sequence[Path]) -> Cache:
    """The run's cache: ``--cache-dir``, ``$UNJAM_CACHE_DIR``, or ``.unjam_cache`` in
    the (first) project's root; none with ``--no-cache``."""
    if options.no_cache or os.environ.get(NO_CACHE_VARIABLE, "") not in ("", "0"):
        return Cache(None)
    folder = options.cache_dir or default_cache_dir(roots[0] if roots else Path.cwd())
    return Cache(folder, warn=_say)


def analysis_roots(targets: Sequence[Path]) -> list[Path]:
    """The projects the targets are in, each analysed whole: the nearest folder at or
    above a target that holds a project marker (its package), looking no higher than
    its git repository (outside git: than the folder unjam runs in, or the target's own
    folder); else that ceiling. None is kept inside another."""
    found: set[Path] = set()
    for target in targets:
        absolute = Path(os.path.abspath(target))
        folder = absolute if absolute.is_dir() else absolute.parent
        # Outside git, no higher than the folder unjam runs in: a pyproject.toml in
        # the home folder must not make the run read everything below it.
        cwd = Path.cwd()
        ceiling = git_root(folder) or (cwd if folder.is_relative_to(cwd) else folder)
        root = ceiling
        for candidate in (folder, *folder.parents):
            if any((candidate / marker).exists() for marker in PROJECT_MARKERS):
                root = candidate
                break
            if candidate == ceiling:
                break
        found.add(root)
    return sorted(
        root
        for root in found
        if not any(root != other and root.is_relative_to(other) for other in found)
    )


def _recover(paths: list[Path]) -> int:
    """Before anything else: put back what an `unjam apply` killed while landing
    changed (see ``unjam.git.recovery``), and say so. How many landings were put back."""
    done = 0
    for folder in records_near(paths):
        said = recover(folder)
        if said is not None:
            _say(f"unjam: {said}")
            done += 1
    return done


def _is_loop(path: Path) -> bool:
    try:
        os.path.realpath(path, strict=True)
    except OSError as error:
        return error.errno == errno.ELOOP
    return False


_active_progress: list[Progress] = []


def _progress(label: str, total: int) -> Callable[[], None]:
    if total < PROGRESS_MIN_FILES or not _active_progress:
        return lambda: None
    progress = _active_progress[-1]
    task = progress.add_task(label, total=total)
    return lambda: progress.advance(task)


@contextmanager
def _progress_bar() -> Iterator[None]:
    if not err.is_terminal or _chatter.quiet:
        yield
        return
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    _active_progress.append(progress)
    try:
        with progress:
            yield
    finally:
        _active_progress.pop()


def _read(session: Session) -> Read:
    """The files of the usable packages, read (in path order)."""
    whole = session.layout
    usable = {name for name, package in whole.packages.items() if package.error is None}
    files = [f for name in sorted(usable) for f in whole.files.get(name, ())]
    files = sorted(files, key=lambda f: f.path)
    return read_files(files, whole.package_of(), session.settings.base)


def _analyse(session: Session, read: Read | None = None) -> Analysis:
    with _progress_bar():
        analysis = session.runner.analyse((), read=read or _read(session))
    analysis.errors[:0] = session.focus.errors()
    analysis.errors.extend(session.problems)
    _tell(_analysis_notes(analysis))
    session.settings.cache.prune()
    return analysis


@dataclass(frozen=True)
class Note:
    """A line on stderr; ``quiet``: one ``--quiet`` leaves out (else a warning)."""

    line: str
    quiet: bool


def _tell(notes: Sequence[Note]) -> None:
    for note in notes:
        (_note if note.quiet else _say)(note.line)


def _analysis_notes(analysis: Analysis) -> list[Note]:
    """What the analysis has to say besides findings: files of a newer Python, and
    ``# unjam: ignore[...]`` codes that suppress nothing."""
    notes: list[Note] = []
    if analysis.newer_syntax:
        python = f"{sys.version_info.major}.{sys.version_info.minor}"
        notes.append(
            Note(
                f"note: {analysis.newer_syntax} file(s) use syntax newer than Python "
                f"{python}, which runs unjam; they are read with libcst, which is slower: "
                "run unjam with the project's own Python",
                quiet=True,
            )
        )
    return notes + _unknown_codes(analysis)


def _unknown_codes(analysis: Analysis) -> list[Note]:
    """A code no finding has in a ``# unjam: ignore[...]`` comment suppresses nothing:
    said once per code, where it first appears, with the nearest code."""
    known = {*codes(), ALL}
    warned: set[str] = set()
    notes: list[Note] = []
    for path, module in sorted(analysis.project.modules.items()):
        for line, suppressed in sorted(dict(module.suppressed_lines).items()):
            for code in sorted(suppressed - known - warned):
                warned.add(code)
                notes.append(
                    Note(
                        f"unjam: warning: {path}:{line}: unknown code {code!r} in "
                        f"`# unjam: ignore[...]`{nearest(code)}; it suppresses nothing",
                        quiet=False,
                    )
                )
    return notes


def _report_errors(errors: list[str]) -> None:
    for line in errors:
        _say(line)


def _run(
    session: Session, check_only: bool = False
) -> tuple[Analysis, list[FileResult], list[str]]:
    analysis = _analyse(session)
    with _progress_bar():
        if check_only:
            results = session.runner.check(analysis, only=session.only())
        else:
            results = session.runner.transform(analysis, only=session.only())
    errors = [*analysis.errors, *(r.error for r in results if r.error)]
    return analysis, results, errors


def _findings(session: Session, analysis: Analysis, results: list[FileResult]) -> list[Finding]:
    """What ``check`` reports: every pass's sites, and blocking calls none of them covers
    (in the files this run is about)."""
    findings = findings_from((r.shown, r.sites) for r in results)
    reported = {site.function for r in results for site in r.sites if site.function}
    unhandled = unhandled_blocking(analysis.project, findings, reported)
    only = session.only()
    if only is not None:
        unhandled = [f for f in unhandled if f.path in only]
    ignoring = _ignoring_unhandled(session)
    unhandled = [f for f in unhandled if f.path not in ignoring]
    return sorted(findings + unhandled)


def _ignoring_unhandled(session: Session) -> set[str]:
    """Files whose package ignores ``blocking-call`` findings."""
    return {
        shown_path(file.path, session.settings.base)
        for name, files in session.focus.files.items()
        if UNHANDLED in session.focus.packages[name].config.ignore
        for file in files
    }


@dataclass(frozen=True)
class Checked:
    """What ``check`` found, as the cache keeps a whole run of it (see ``_checked``)."""

    findings: tuple[Finding, ...]
    analysis_errors: tuple[str, ...]
    pass_errors: tuple[str, ...]
    notes: tuple[Note, ...]
    files_seen: int

    def well_formed(self) -> bool:
        """Each field holds what it says (see ``tuple_of``)."""
        return (
            tuple_of(self.findings, Finding)
            and tuple_of(self.analysis_errors, str)
            and tuple_of(self.pass_errors, str)
            and tuple_of(self.notes, Note)
            and isinstance(self.files_seen, int)
        )


def _checked(session: Session) -> Checked:
    """``check``'s findings. A run of the same files (bytes, paths, modules), settings
    and build as one the cache kept is answered from it without any analysis; else
    every stage goes through the per-file cache."""
    cache = session.settings.cache
    read = _read(session)
    key = _run_key(session, read) if cache.enabled else None
    if key is not None:
        kept = cache.get("run", key)
        if isinstance(kept, Checked) and kept.well_formed():
            _tell(kept.notes)
            return kept
    runner = session.runner
    with _progress_bar():
        analysis = runner.analyse((), read=read)
    notes = _analysis_notes(analysis)
    _tell(notes)
    with _progress_bar():
        results = runner.check(analysis, only=session.only())
    checked = Checked(
        tuple(_findings(session, analysis, results)),
        tuple(analysis.errors),
        tuple(r.error for r in results if r.error),
        tuple(notes),
        analysis.files_seen,
    )
    if key is not None:
        cache.put("run", key, checked)
    cache.prune()
    return checked


def _run_key(session: Session, read: Read) -> bytes:
    """Everything a ``check`` run's findings depend on besides the build (the folder
    the entry is in): the files, the settings, and which files are reported on."""
    settings = session.settings
    only = session.only()
    return stable_digest(
        "check-run",
        str(settings.base),
        [(identity(job), job.profile) for job in read.jobs.values()],
        read.errors,
        read.seen,
        session.passes,  # the profile of files no package claims
        sorted(settings.profiles.items()),
        sorted(settings.extra_blocking.items()),
        settings.use_prefilter,
        settings.every_route,
        sorted(only) if only is not None else None,
        sorted(_ignoring_unhandled(session)),
    )


def _package_report(
    command: str, session: Session, analysis: Analysis, results: list[FileResult], errors: list[str]
) -> RunReport:
    base = session.settings.base
    files = {
        name: [shown_path(f.path, base) for f in found]
        for name, found in session.focus.files.items()
    }
    for name in session.focus.packages:
        files.setdefault(name, [])
    changed: dict[str, list[tuple[str, list[str]]]] = {}
    for result in results:
        if result.changed:
            fixed = [site.codemod for site in result.sites if site.fixed]
            changed.setdefault(result.profile, []).append((result.shown, fixed))
    return package_report(
        command,
        files,
        changed,
        _findings(session, analysis, results),
        errors,
        session.shard,
    )


def _show_packages(report: RunReport, session: Session) -> None:
    """The per-package table on stderr, where a run spans more than one package."""
    if (len(report.packages) > 1 or report.shard is not None) and not _chatter.quiet:
        _console(stderr=True).print(table(report, list(session.passes)))


def _guard(command: Callable[[], int]) -> None:
    try:
        with collector_tuned():  # the report, too, is built among the run's live objects
            code = command()
    except Usage as problem:
        _say(f"unjam: {problem}")
        raise typer.Exit(EXIT_ERROR) from None
    except GitRefusal as refusal:
        _say(f"unjam: {refusal}; nothing was changed")
        raise typer.Exit(EXIT_ERROR) from None
    except UndoIncomplete as problem:
        _say(f"unjam: {problem}")
        raise typer.Exit(EXIT_ERROR) from None
    except WorkerError as problem:  # a bug: the tasks report bad input as values
        _say(f"unjam: internal error, please report it: {problem}")
        raise typer.Exit(EXIT_ERROR) from None
    except (Interrupted, KeyboardInterrupt, typer.Abort):  # Abort: Ctrl-C at a prompt
        _say("unjam: interrupted; nothing was changed")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    raise typer.Exit(code)


# -- commands ----------------------------------------------------------------------------
@app.command()
def check(
    paths: Paths = None,
    select: Select = None,
    extend_select: ExtendSelect = None,
    ignore: Ignore = None,
    unsafe_fixes: Unsafe = None,
    jobs: Jobs = None,
    exclude: Exclude = None,
    config: ConfigPath = None,
    output_format: Annotated[Format, typer.Option("--format", help="Report format.")] = Format.TEXT,
    http_client: HttpClient = None,
    httpx_default_timeout: DefaultTimeout = None,
    shard: Shard = None,
    include_tests: IncludeTests = None,
    no_prefilter: NoPrefilter = False,
    no_cache: NoCache = False,
    cache_dir: CacheDir = None,
    quiet: Quiet = False,
) -> None:
    """Report what the codemods would change, and what they refuse to and why."""

    options = RunOptions.of(locals())

    def command() -> int:
        session = _session(options)
        checked = _checked(session)
        findings = list(checked.findings)
        errors = [
            *session.focus.errors(),
            *checked.analysis_errors,
            *session.problems,
            *checked.pass_errors,
        ]
        sys.stdout.write(render(findings, output_format, lambda: load(session.passes)))
        _report_errors(errors)
        _summary(len(findings), sum(1 for f in findings if f.fixable), checked.files_seen, errors)
        _ending.quick = True
        return _exit_code(bool(findings), errors)

    _guard(command)


@app.command()
def diff(
    paths: Paths = None,
    select: Select = None,
    extend_select: ExtendSelect = None,
    ignore: Ignore = None,
    unsafe_fixes: Unsafe = None,
    jobs: Jobs = None,
    exclude: Exclude = None,
    config: ConfigPath = None,
    http_client: HttpClient = None,
    httpx_default_timeout: DefaultTimeout = None,
    shard: Shard = None,
    include_tests: IncludeTests = None,
    output_format: Annotated[
        str, typer.Option("--format", help="diff (the patch) or json (the per-package report).")
    ] = "diff",
    no_prefilter: NoPrefilter = False,
    no_cache: NoCache = False,
    cache_dir: CacheDir = None,
    quiet: Quiet = False,
) -> None:
    """Dry run: print the rewrite as a unified diff (git apply accepts it)."""

    options = RunOptions.of(locals())

    def command() -> int:
        from unjam.git.migrate import link_refusal

        session = _session(options)
        if output_format not in ("diff", "json"):
            raise Usage(f"--format must be diff or json, not {output_format!r}")
        analysis, results, errors = _run(session)
        changed = []
        for result in (r for r in results if r.changed):
            if not Path(result.path).is_symlink():
                changed.append(result)
            elif (refusal := link_refusal(result, results)) is not None:
                errors.append(refusal)
        report = _package_report("diff", session, analysis, results, errors)
        if output_format == "json":
            sys.stdout.write(report.to_json())
        else:
            _write_patch(_patch(changed))
        _report_errors(errors)
        _show_packages(report, session)
        sites = sum(1 for r in changed for s in r.sites if s.fixed)
        _note(
            f"{len(changed)} file(s) would change ({sites} site(s)); "
            f"{analysis.files_seen} file(s) scanned"
        )
        _ending.quick = True
        return _exit_code(bool(changed), errors)

    _guard(command)


@app.command()
def apply(
    paths: Paths = None,
    select: Select = None,
    extend_select: ExtendSelect = None,
    ignore: Ignore = None,
    unsafe_fixes: Unsafe = None,
    jobs: Jobs = None,
    exclude: Exclude = None,
    config: ConfigPath = None,
    http_client: HttpClient = None,
    httpx_default_timeout: DefaultTimeout = None,
    shard: Shard = None,
    include_tests: IncludeTests = None,
    branch: Annotated[
        str | None,
        typer.Option("--branch", help="Branch to create (default: unjam/<codemods>-<date>)."),
    ] = None,
    base: Annotated[
        str | None, typer.Option("--base", help="Commit, branch or tag to branch from (HEAD).")
    ] = None,
    split_by: Annotated[
        SplitBy, typer.Option("--split-by", help="One commit per codemod, per package, or one.")
    ] = SplitBy.CODEMOD,
    branch_per_package: Annotated[
        bool,
        typer.Option(
            "--branch-per-package",
            help="One branch per package (each from --base); you stay on your branch.",
        ),
    ] = False,
    no_commit: Annotated[
        bool, typer.Option("--no-commit", help="Write the working tree only; no git.")
    ] = False,
    abort: Annotated[
        bool,
        typer.Option(
            "--abort",
            help="Put back what an apply killed while landing changed (any command does).",
        ),
    ] = False,
    interactive: Annotated[
        bool,
        typer.Option(
            "--interactive", "-i", help="Show each change with its reason; take it or skip it."
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    output_format: Annotated[
        str, typer.Option("--format", help="text, or json (the per-package report on stdout).")
    ] = "text",
    no_prefilter: NoPrefilter = False,
    no_cache: NoCache = False,
    cache_dir: CacheDir = None,
    quiet: Quiet = False,
) -> None:
    """Show the diff, confirm, then write it on a new git branch with one commit per
    codemod (or per package); refuses, changing nothing, where that could lose work."""

    options = RunOptions.of(locals())

    def command() -> int:
        import git  # GitPython: only apply needs it, and it is slow to import

        from unjam.git.migrate import changes_from, execute, prepare, write_only

        if abort:
            if not _recover([*(paths or [Path(".")]), Path(".")]):
                _say("unjam: no landing was cut short here; nothing to put back")
            return EXIT_CLEAN
        if output_format not in ("text", "json"):
            raise Usage(f"--format must be text or json, not {output_format!r}")
        if (interactive or not yes) and not _interactive():
            needs = "--interactive needs a terminal" if interactive else "apply asks before writing"
            raise Usage(f"{needs}: pass --yes when not run from a terminal")
        session = _session(options)
        repository = None if no_commit else open_repository(session.paths)
        start = check_ready(repository, base) if repository else None
        if repository and branch:
            check_branch_names(repository, [branch])
        analysis, results, errors = _run(session)
        changes, skipped = changes_from(results, repository, session.paths)
        declined: list[Key] = []
        if interactive and changes:
            changes, skipped, errors, declined = _reviewed(
                options, session, analysis, changes, skipped, errors, repository
            )
        errors += skipped
        applied = {change.shown for change in changes}
        kept = [r for r in results if not r.changed or r.shown in applied]
        report = _package_report("apply", session, analysis, kept, errors)
        if not changes:
            _finish(report, session, output_format, errors, "nothing to apply")
            return _exit_code(False, errors)
        prepared = None
        if repository is not None and start is not None:
            prepared = prepare(repository, start, changes, branch, split_by, branch_per_package)
        if output_format == "text" and not interactive:
            _preview(changes)
        if (
            not yes
            and not interactive
            and not typer.confirm(_question(changes, prepared), err=True)
        ):
            _say("unjam: nothing was changed")
            return EXIT_FINDINGS
        try:
            if repository is None or prepared is None:
                write_only(changes)
                outcome = _written(changes)
            else:
                report.commits = execute(repository, prepared)
                report.branches = sorted({c.branch for c in report.commits})
                report.base = start
                outcome = _landed(repository, prepared, base, report)
        except (git.GitCommandError, OSError) as error:
            reason = " ".join(str(error).split())
            raise GitRefusal(f"apply failed ({type(error).__name__}: {reason})") from None
        for key in declined:
            _say(f"skipped: {key.shown}:{key.line}: {key.codemod}")
        _finish(report, session, output_format, errors, outcome)
        return _exit_code(False, errors)

    _guard(command)


def _reviewed(
    options: RunOptions,
    session: Session,
    analysis: Analysis,
    changes: list[Change],
    skipped: list[str],
    errors: list[str],
    repository: Repository | None,
) -> tuple[list[Change], list[str], list[str], list[Key]]:
    """Ask about each change; run again without the skipped ones until the run changes
    exactly what was accepted (a change that only appears once others are skipped is
    skipped too; one that a skipped change took with it is said to be dropped)."""
    from unjam.git.migrate import changes_from

    out = Console(highlight=False)

    def show(title: str, hunks: bytes) -> None:
        out.print(title, markup=False)
        _print_patch(out, hunks)

    def prompt(question: str) -> str:
        while True:
            answer = str(typer.prompt(question, err=True)).strip().lower()
            if answer in ("y", "n", "a", "q"):
                return answer
            _say("y: take it, n: skip it, a: take it and all after, q: skip it and all after")

    answers = ask(changes, lambda c: patch_path(c.path, c.shown), show, prompt)
    if not answers.skipped:
        return changes, skipped, errors, []
    functions = {
        key_of(change.shown, site): site.function for change in changes for site in change.sites
    }
    declined = list(answers.skipped)
    lines = {key: _def_line(analysis, function) for key, function in functions.items()}
    for _ in range(5):
        added = suppressions_for(declined, lines.get)
        with added_suppressions(added):
            again = _session(dataclasses.replace(options, jobs=1))
            analysis, results, errors = _run(again)
        changes, skipped = changes_from(results, repository, again.paths)
        made = {key_of(change.shown, site) for change in changes for site in change.sites}
        extra = sorted(made - set(answers.accepted))
        if not extra:
            break
        declined += extra  # appeared only because others were skipped: not reviewed
        for key in extra:
            _say(
                f"not applied: {key.shown}:{key.line}: {key.codemod} appears only once the "
                "skipped changes are left out; run apply -i again to review it"
            )
    for key in sorted(set(answers.accepted) - made):
        _say(f"dropped with a skipped change: {key.shown}:{key.line}: {key.codemod}")
    return changes, skipped, errors, sorted(answers.skipped)


def _def_line(analysis: Analysis, qualname: str | None) -> int | None:
    function = analysis.project.functions.get(qualname) if qualname else None
    return function.location.line if function is not None else None


def _interactive() -> bool:
    """Can apply ask before writing? Only a person at a terminal can answer."""
    return sys.stdin.isatty()


def _preview(changes: list[Change]) -> None:
    """The diff and a per-file summary: paged on a terminal, the patch on stdout else."""
    grid = Table(title="files unjam will rewrite")
    for column in ("file", "sites by codemod"):
        grid.add_column(column)
    for change in changes:
        counts: dict[str, int] = {}
        for site in change.sites:
            counts[site.codemod] = counts.get(site.codemod, 0) + 1
        grid.add_row(change.shown, ", ".join(f"{name} {n}" for name, n in counts.items()))
    patch = b"".join(unified_diff(patch_path(c.path, c.shown), c.before, c.after) for c in changes)
    out = Console(highlight=False)
    if not out.is_terminal or not _interactive():
        _write_patch(patch)
        _console(stderr=True).print(grid)
        return
    with out.pager(styles=True):
        out.print(grid)
        _print_patch(out, patch)


def _question(changes: list[Change], prepared: Prepared | None) -> str:
    files = f"{len(changes)} file(s), {sum(len(c.sites) for c in changes)} site(s)"
    if prepared is None:
        return f"Write {files} to the working tree?"
    if prepared.branch is None:
        branches = len({commit.branch for commit in prepared.planned})
        return f"Commit {files} on {branches} new branch(es)?"
    return f"Commit {files} on new branch {prepared.branch}?"


def _written(changes: list[Change]) -> str:
    return f"wrote {len(changes)} file(s); nothing was committed (--no-commit)"


def _landed(repository: Repository, prepared: Prepared, base: str | None, report: RunReport) -> str:
    """What was made and the command to review it."""
    start = base or repository.head_branch or repository.head_commit[:12]
    lines = [
        f"  {c.sha[:10]} {c.subject}"
        if prepared.branch
        else f"  {c.sha[:10]} {c.branch}: {c.subject}"
        for c in report.commits
    ]
    if prepared.branch is not None:
        head = f"on new branch {prepared.branch} (from {start}), with {len(lines)} commit(s):"
        review = f"review it with: git diff {start}...{prepared.branch}"
    else:
        head = f"{len(report.branches)} branch(es) from {start}; you are still where you were:"
        review = f"review one with: git diff {start}...{report.branches[0]}"
    return "\n".join([head, *lines, review])


def _finish(
    report: RunReport, session: Session, output_format: str, errors: list[str], outcome: str
) -> None:
    if output_format == "json":
        sys.stdout.write(report.to_json())
    _report_errors(errors)
    _show_packages(report, session)
    _say(outcome)


@app.command("merge-reports")
def merge_reports(
    reports: Annotated[list[Path], typer.Argument(help="JSON reports (diff/apply --format json).")],
    output_format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Combine the JSON reports of a sharded run (--shard I/N) into one."""

    def command() -> int:
        if output_format not in ("table", "json"):
            raise Usage(f"--format must be table or json, not {output_format!r}")
        try:
            merged = merge([(path, read_report(path)) for path in reports])
        except ReportError as error:
            raise Usage(str(error)) from None
        if output_format == "json":
            sys.stdout.write(merged.to_json())
        else:
            codemods = list(CONTRACT_ORDER)
            _stdout().print(table(merged, codemods))
        _report_errors(merged.errors)
        return _exit_code(merged.changed, merged.errors)

    _guard(command)


@app.command()
def clean(
    paths: Paths = None,
    cache_dir: CacheDir = None,
) -> None:
    """Delete the cache of the projects the paths are in (as `ruff clean`)."""

    def command() -> int:
        if cache_dir is not None:
            folders = [cache_dir]
        else:
            targets = paths or [Path(".")]
            folders = [default_cache_dir(root) for root in analysis_roots(targets)]
        for folder in dict.fromkeys(folders):
            if remove_cache(folder):
                _note(f"removed {folder}")
            elif folder.exists():
                _say(f"unjam: {folder}: not an unjam cache (no CACHEDIR.TAG); left as it is")
        return EXIT_CLEAN

    _guard(command)


def _patch(changed: list[FileResult]) -> bytes:
    return b"".join(
        unified_diff(patch_path(Path(r.path), r.shown), r.before, r.after or b"") for r in changed
    )


def patch_path(path: Path, shown: str) -> str:
    """A file's path in a patch: relative to its repository's root, whatever folder
    unjam runs in (``git apply`` reads a patch's paths from the root, also in a sub
    folder); outside git, as shown (relative to where unjam runs, as ``patch -p1``
    reads it)."""
    absolute = Path(os.path.abspath(path))
    root = git_root(absolute.parent)
    return Path(os.path.relpath(absolute, root)).as_posix() if root else shown


def _write_patch(patch: bytes) -> None:
    out = Console(highlight=False)
    if not out.is_terminal:
        sys.stdout.buffer.write(patch)
        sys.stdout.flush()
        return
    _print_patch(out, patch)


def _print_patch(out: Console, patch: bytes) -> None:
    for raw in patch.decode("utf-8", errors="replace").splitlines():
        style = None
        if raw.startswith(("+++", "---", "diff --git")):
            style = "bold"
        elif raw.startswith("@@"):
            style = "cyan"
        elif raw.startswith("+"):
            style = "green"
        elif raw.startswith("-"):
            style = "red"
        out.print(raw, style=style, markup=False, soft_wrap=True)


@app.command()
def routes(
    paths: Paths = None,
    select: Select = None,
    extend_select: ExtendSelect = None,
    ignore: Ignore = None,
    unsafe_fixes: Unsafe = None,
    jobs: Jobs = None,
    exclude: Exclude = None,
    config: ConfigPath = None,
    output_format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    no_cache: NoCache = False,
    cache_dir: CacheDir = None,
) -> None:
    """Every function FastAPI calls: kind, path, async or def, awaits, blocking calls, plan."""

    options = RunOptions.of(locals())

    def command() -> int:
        if output_format not in ("table", "json"):
            raise Usage(f"--format must be table or json, not {output_format!r}")
        session = _session(options, every_route=True)
        analysis = _analyse(session)
        analysis.close()  # nothing is rewritten: the trees kept for the passes can go
        profiles = {
            shown: session.runner.profiles[job.profile] for shown, job in analysis.jobs.items()
        }
        focused = {shown_path(f.path, session.settings.base) for f in session.focus.every_file()}
        rows = route_rows(analysis.project, profiles, focused)
        if output_format == "json":
            sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        else:
            _route_table(rows)
        _report_errors(analysis.errors)
        return EXIT_ERROR if analysis.errors else EXIT_CLEAN

    _guard(command)


def route_rows(
    project: Project, profiles: Mapping[str, Profile], files: set[str] | None = None
) -> list[dict[str, object]]:
    """``profiles``: each file's passes and options (by shown path); ``files``: the
    shown paths whose callables are listed (None: all)."""
    kinds = project.kinds()
    rows: list[dict[str, object]] = []
    for route in project.routes():
        function = project.functions[route.function]
        if files is not None and function.path not in files:
            continue
        plan = project.plan(function, frozenset(kinds.get(route.function, ())))
        rows.append(
            {
                "kind": route.kind.value,
                "methods": list(route.methods),
                "path": route.path,
                "function": shown_qualname(route.function),
                "location": f"{function.path}:{function.location.line}",
                "registered_at": route.registered_at,
                "async": function.is_async,
                "awaits": function.awaits,
                "blocking": [
                    _describe(effect) for effect in plan.blocking if is_blocking(effect.category)
                ],
                "action": planned_action(plan, profiles.get(function.path)),
            }
        )
    return rows


def _describe(effect: Effect) -> str:
    """``time.sleep:12``, or ``time.sleep:12 via load_config → read_file`` for helpers."""
    short = short_name(effect.name)
    chain = " → ".join(name.rsplit(".", 1)[-1] for name in effect.via)
    return f"{short}:{effect.location.line}" + (f" via {chain}" if chain else "")


def planned_action(plan: FunctionPlan, profile: Profile | None) -> str | None:
    if profile is None:
        return None
    for codemod in profile.passes:
        decision = codemod.decide(plan, profile.options)
        if decision is not None:
            return f"{codemod.NAME}: {decision.action}"
    return None


def _route_table(rows: list[dict[str, object]]) -> None:
    """A table on a terminal (as wide as it is: rich reads its size and ``COLUMNS``);
    piped, plain lines: one per callable, its blocking calls and plan indented below,
    no box characters, no tabs, nothing cut."""
    out = _stdout()
    if not out.is_terminal:
        sys.stdout.write("".join(line + "\n" for row in rows for line in _route_lines(row)))
        return
    if out.width < NARROW:  # eight columns would cut every name: the lines, wrapped
        for row in rows:
            for line in _route_lines(row):
                out.print(line, markup=False, highlight=False)
        return
    table = Table(title="FastAPI callables", show_lines=False)
    for column, wraps in (
        ("kind", False),
        ("method + path", True),
        ("function", True),
        ("file:line", True),
        ("def", False),
        ("awaits", False),
        ("blocking calls", True),
        ("action", True),
    ):
        table.add_column(column, overflow="fold" if wraps else "ellipsis", no_wrap=not wraps)
    for row in rows:
        blocking = row["blocking"]
        assert isinstance(blocking, list)
        table.add_row(
            str(row["kind"]),
            _route_path(row),
            str(row["function"]).rsplit(".", 1)[-1],
            str(row["location"]),
            "async" if row["async"] else "def",
            str(row["awaits"]),
            "\n".join(blocking),
            str(row["action"] or ""),
        )
    out.print(table)


def _route_path(row: dict[str, object]) -> str:
    methods = ",".join(row["methods"]) if row["methods"] else ""  # type: ignore[arg-type]
    return f"{methods} {row['path'] or ''}".strip()


def _route_lines(row: dict[str, object]) -> list[str]:
    """One callable as plain lines (see ``_route_table``)."""
    kind = "async def" if row["async"] else "def"
    head = [str(row["kind"]), _route_path(row), str(row["function"]).rsplit(".", 1)[-1]]
    lines = [
        "  ".join(part for part in head if part)
        + f"  {row['location']}  {kind}, {row['awaits']} await(s)"
    ]
    blocking = row["blocking"]
    assert isinstance(blocking, list)
    lines += [f"    blocks: {call}" for call in blocking]
    if row["action"]:
        lines.append(f"    plan: {row['action']}")
    return lines


def _stdout() -> Console:
    return _console(stderr=False)


def _console(stderr: bool) -> Console:
    """Tables keep their columns readable when piped (rich would assume 80 columns)."""
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal:
        console = Console(stderr=stderr, highlight=False, width=240)
    return console


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def probe(
    context: typer.Context,
    path: Annotated[
        Path, typer.Argument(help="The project whose tests to run (default: .).")
    ] = Path("."),
    threshold: Annotated[
        float, typer.Option("--threshold", help="Milliseconds a callback may run (20).")
    ] = 20.0,
    output_format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    compare: Annotated[
        str | None,
        typer.Option(
            "--compare", help="Also run the tests at this git ref; stall totals side by side."
        ),
    ] = None,
) -> None:
    """Run the project's tests (arguments after -- go to pytest) and report, per source
    line, how long the event loop was blocked there and what unjam check says of it.
    The one command that runs your code."""

    def command() -> int:
        from unjam.probe.command import TestsDidNotRun, by_route, rows, run_tests, worktree_of
        from unjam.probe.stalls import by_line

        if output_format not in ("table", "json"):
            raise Usage(f"--format must be table or json, not {output_format!r}")
        root = Path(os.path.abspath(path))
        if not root.is_dir():
            raise Usage(f"{path}: not a folder")
        arguments = list(context.args)

        def tests(where: Path) -> list[Stall]:
            try:
                return run_tests(where, arguments, threshold)
            except TestsDidNotRun as problem:
                raise Usage(f"probe: {problem}") from None

        stalls = tests(root)
        found = rows(by_line(stalls, root), _static_of(root))
        if compare is not None:
            try:
                before, there = worktree_of(root, compare, tests)
            except subprocess.CalledProcessError as error:
                raise Usage(f"--compare {compare}: {error.stderr.decode().strip()}") from None
            _print_comparison(by_route(before, there), by_route(stalls, root), compare)
        if output_format == "json":
            sys.stdout.write(json.dumps(found, indent=2) + "\n")
        else:
            _probe_table(found)
        return EXIT_FINDINGS if found else EXIT_CLEAN

    _guard(command)


def _static_of(root: Path) -> Known:
    """``unjam check`` of the project, paths relative to its root."""
    from unjam.probe.static import known_in

    here = Path.cwd()
    os.chdir(root)
    try:
        session = _session(RunOptions(paths=[Path(".")], jobs=1, quiet=True))
        analysis, results, _ = _run(session, check_only=True)
    finally:
        os.chdir(here)
    return known_in(results, analysis.project)


def _probe_table(found: list[dict[str, object]]) -> None:
    if not found:
        _say("unjam probe: no stall longer than the threshold in project code")
        return
    table = Table(title="the event loop was blocked")
    for column in ("line", "call", "stalls", "total ms", "max ms", "static"):
        table.add_column(column, overflow="fold")
    for row in found:
        static = str(row["static"]) + (f"\n{row['proposal']}" if row["proposal"] else "")
        table.add_row(
            f"{row['path']}:{row['line']}",
            str(row["call"]),
            str(row["stalls"]),
            str(row["total_ms"]),
            str(row["max_ms"]),
            static,
        )
    _stdout().print(table)


def _print_comparison(before: dict[str, float], after: dict[str, float], ref: str) -> None:
    for route in sorted(set(before) | set(after)):
        then, now = before.get(route, 0.0), after.get(route, 0.0)
        _say(f"{route}: {then:.0f} ms at {ref}, {now:.0f} ms now")
    _say(f"in all: {sum(before.values()):.0f} ms at {ref}, {sum(after.values()):.0f} ms now")


@app.command()
def codemods() -> None:
    """List the codemods, in the order they run, with their fix safety."""
    table = Table(title="unjam codemods (in run order)")
    for column in ("name", "fix safety", "runs by default", "description"):
        table.add_column(column)
    for codemod in by_name().values():
        default = "yes" if is_default(codemod.NAME) else "with --select"
        table.add_row(codemod.NAME, codemod.SAFETY.value, default, codemod.DESCRIPTION)
    table.add_row(
        UNHANDLED,
        "detection only",
        "yes",
        "a blocking call in async code that no selected codemod handles",
    )
    if not REGISTRY:
        _say("no codemods are registered")
    _stdout().print(table)


@app.command()
def explain(name: Annotated[str, typer.Argument(help="A codemod name, e.g. demote-sync.")]) -> None:
    """Print a codemod's documentation."""

    def command() -> int:
        codemod = by_name().get(name)
        if name == UNHANDLED:
            text = f"# {UNHANDLED}\n\nFix safety: detection only\n\n{UNHANDLED_DOC}"
        elif codemod is None:
            try:
                choose_passes((name,), ())
            except UnknownCodemod as error:
                raise Usage(str(error)) from None
            return EXIT_ERROR
        else:
            text = (
                f"# {codemod.NAME}\n\nFix safety: {codemod.SAFETY.value}\n\n"
                f"{codemod.documentation()}\n"
            )
        out = Console()
        if out.is_terminal:
            from rich.markdown import Markdown  # a tenth of a second: only here

            out.print(Markdown(text))
        else:
            sys.stdout.write(text)
        return EXIT_CLEAN

    _guard(command)


def _summary(total: int, fixable: int, files_seen: int, errors: list[str]) -> None:
    parts = [f"{total} finding(s), {fixable} fixable", f"{files_seen} file(s) scanned"]
    if errors:
        parts.append(f"{len(errors)} error(s)")
    _note("; ".join(parts))


def _exit_code(pending: bool, errors: list[str]) -> int:
    if errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if pending else EXIT_CLEAN


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"unjam {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Find FastAPI code that stalls the event loop, and rewrite it safely."""


@dataclass
class _Ending:
    """Whether the process may end without freeing what it built: a read-only command
    that has written its report and stopped its workers. Freeing a large project's
    analysis object by object at exit took 0.8 s of a 3.7 s ``check`` (as mypy's
    ``--fast-exit``, the report is flushed and the process leaves)."""

    quick: bool = False


_ending = _Ending()


def main() -> None:
    try:
        app()
    except SystemExit as done:
        if not _ending.quick:
            raise
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except OSError:  # a closed pipe: nothing more can be said
            os._exit(code or EXIT_ERROR)
        os._exit(code)


__all__ = ["app", "main"]
