"""The pre-filter may skip a file only if analysing it could not change any conclusion.

Every fixture project is analysed twice, with and without the pre-filter, and what the
codemods consume must be identical: the blocking calls of every async function, what
FastAPI calls, and who uses each async function that blocks.
"""

from __future__ import annotations

import json
import pickle
import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import unjam.pipeline.prefilter
import unjam.pipeline.runner
from tests.helpers import FIXTURES, analyse, write_tree
from unjam.analysis.catalog import default_catalog
from unjam.analysis.project import Project
from unjam.cli import app
from unjam.pipeline.prefilter import Mentions, Words, select, summarise, summarise_newer, vocabulary
from unjam.pipeline.source import SourceError, parse_source

TRICKY = {
    "pkg/__init__.py": "",
    # No catalog word at all: reached only through the helper's name.
    "pkg/routes.py": """
        from fastapi import APIRouter
        from pkg.helpers import load
        router = APIRouter()
        @router.get("/")
        async def endpoint():
            return load()
    """,
    "pkg/helpers.py": """
        from pkg.deeper import read_all
        def load():
            return read_all()
    """,
    "pkg/deeper.py": """
        def read_all():
            with open("x") as fh:
                return fh.read()
    """,
    # The session type comes from an alias in another module.
    "pkg/db.py": """
        from typing import Annotated
        from sqlalchemy.orm import Session
        def get_db(): ...
        DB = Annotated[Session, get_db]
    """,
    "pkg/uses_alias.py": """
        from pkg.db import DB
        async def handler(db: DB):
            db.commit()
    """,
    # Awaits a blocking async function; no catalog word, no fastapi word.
    "pkg/caller.py": """
        from pkg.uses_alias import handler
        async def main():
            await handler(None)
    """,
    # Plain async code that imports os and uses only pure helpers: skippable.
    "pkg/plain.py": """
        import os
        async def f(items):
            async for item in items:
                yield os.path.join("a", item)
    """,
}


def _conclusions(project: Project) -> dict[str, object]:
    kinds = project.kinds()
    out: dict[str, object] = {}
    for qualname, function in project.functions.items():
        blocking = project.blocking(qualname)
        if function.is_async and blocking:
            out[qualname] = (
                sorted((e.name, e.location, e.via) for e in blocking),
                sorted(kinds.get(qualname, ())),
                sorted((r.path, r.location, r.how) for r in project.references.get(qualname, ())),
            )
    out["routes"] = [
        (r.kind, r.function, r.path)
        for r in project.routes()
        if r.function in project.functions and project.blocking(r.function)
    ]
    return out


def _projects() -> list[Path]:
    return sorted(p for p in (FIXTURES / "apps").iterdir() if p.is_dir())


@pytest.mark.parametrize("root", _projects(), ids=lambda p: p.name)
def test_check_reports_the_same_with_and_without_prefilter(root: Path) -> None:
    runner = CliRunner()
    with_filter = runner.invoke(app, ["check", str(root), "--format", "json", "--jobs", "1"])
    without = runner.invoke(
        app, ["check", str(root), "--format", "json", "--jobs", "1", "--no-prefilter"]
    )
    assert with_filter.stdout == without.stdout
    assert json.loads(with_filter.stdout), "the fixture must hold findings"


@pytest.mark.parametrize("root", _projects(), ids=lambda p: p.name)
def test_prefilter_changes_no_conclusion_on_fixture_apps(root: Path) -> None:
    full = analyse(root, use_prefilter=False)
    filtered = analyse(root, use_prefilter=True)
    assert _conclusions(full.project) == _conclusions(filtered.project)
    assert _conclusions(full.project), "the fixture must contain something to find"


def test_prefilter_follows_names_across_modules(tmp_path: Path) -> None:
    root = write_tree(tmp_path, TRICKY)
    full = analyse(root, use_prefilter=False)
    filtered = analyse(root, use_prefilter=True)
    assert _conclusions(full.project) == _conclusions(filtered.project)
    assert "pkg.routes.endpoint" in _conclusions(filtered.project)
    assert "pkg.uses_alias.handler" in _conclusions(filtered.project)
    # ... and it does skip what cannot matter.
    assert "pkg/plain.py" not in filtered.project.modules
    assert "pkg/plain.py" in full.project.modules


def _module(path: str) -> tuple[str, str]:
    parts = path.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
        return ".".join(parts), ".".join(parts)
    return ".".join(parts), ".".join(parts[:-1])


def _chosen(files: dict[str, str]) -> set[str]:
    words = vocabulary(default_catalog())
    summaries = {
        name: summarise(text.encode(), name, words, *_module(name)) for name, text in files.items()
    }
    return set(select(summaries).first)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("import time\nasync def f():\n    time.sleep(1)\n", True),
        ("from time import sleep as nap\nasync def f():\n    nap(1)\n", True),
        ("import time\nasync def f():\n    time.time()\n", False),
        ("async def f():\n    with open('x') as fh: ...\n", True),
        ('async def f():\n    "open the door"\n', False),
        ("from fastapi import APIRouter\n", True),
        ("import redis\nasync def f():\n    r = redis.Redis()\n", True),
        ("import redis\n", False),
        ("import asyncio\nasync def f(q: asyncio.Queue):\n    await q.get()\n", False),
        ("from sqlmodel import Session\nasync def f(db: Session):\n    db.exec(1)\n", True),
        ("import os\nasync def f():\n    os.path.join('a')\n", False),
        ("from sqlalchemy import create_engine\nengine = create_engine('x')\n", True),
        # ``import httpx`` reaches httpx.get only as ``httpx.get``: a client's .get is not it.
        ("import httpx\nasync def f(client):\n    await client.get('u')\n", False),
        ("import httpx\nasync def f():\n    httpx.get('u')\n", True),
        ("import httpx as h\nasync def f():\n    h.get('u')\n", True),
        ("from httpx import get\nasync def f():\n    get('u')\n", True),
        ("import os.path\nasync def f():\n    os.path.exists('p')\n", True),
        ("from os import path\nasync def f():\n    path.exists('p')\n", True),
        # A sentence ending a comment line must not swallow the next line's call.
        ("import time\nasync def f():\n    # done.\n    time.sleep(1)\n", True),
        ("def helper():\n    return open('x').read()\n", False),
    ],
)
def test_single_file_selection(text: str, expected: bool) -> None:
    assert bool(_chosen({"m.py": text})) is expected


def test_sync_helper_is_chosen_only_when_async_code_may_call_it() -> None:
    helper = "def read_manifest():\n    return open('x').read()\n"
    caller = "from h import read_manifest\nasync def handler():\n    return read_manifest()\n"
    indirect = (
        "import h\ndef middle():\n    return h.read_manifest()\n"
        "async def handler():\n    return middle()\n"
    )
    awaited = (
        "from h import read_manifest\nasync def handler():\n    return await read_manifest()\n"
    )
    method_of_a_value = "async def handler(session):\n    return session.read_manifest()\n"
    not_imported = "async def handler():\n    return read_manifest()\n"
    assert _chosen({"h.py": helper}) == set()
    assert _chosen({"h.py": helper, "c.py": caller}) == {"h.py"}
    assert _chosen({"h.py": helper, "c.py": indirect}) == {"h.py"}
    assert _chosen({"h.py": helper, "c.py": awaited}) == set()
    # The analysis cannot reach h.read_manifest through these either.
    assert _chosen({"h.py": helper, "c.py": method_of_a_value}) == set()
    assert _chosen({"h.py": helper, "c.py": not_imported}) == set()


def test_calls_resolve_through_imports_like_the_analysis() -> None:
    services = {
        "pkg/__init__.py": "",
        "pkg/users.py": "def get(db):\n    return open('u').read()\n",
        "pkg/orders.py": "def get(db):\n    return open('o').read()\n",
    }
    caller = "from pkg import users as svc\nasync def handler(db):\n    return svc.get(db)\n"
    chosen = _chosen({**services, "pkg/api.py": caller})
    assert "pkg/users.py" in chosen and "pkg/orders.py" not in chosen


# -- files written for a newer Python than the one running unjam --------------------------


def _python_cannot_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if every file used syntax this Python lacks (``type X = int`` on 3.11): the
    fallback is exercised whatever Python runs the tests."""

    def refuse(data: bytes, shown: str) -> object:
        raise SourceError(shown, "syntax error at 1:1: invalid syntax")

    monkeypatch.setattr(unjam.pipeline.prefilter, "python_ast", refuse)
    monkeypatch.setattr(unjam.pipeline.runner, "python_ast", refuse)


def _fixture_sources() -> list[Path]:
    return sorted(p for p in FIXTURES.rglob("*.py") if "invalid" not in p.parts)


def test_newer_syntax_summary_says_at_least_what_cpythons_does() -> None:
    words = vocabulary(default_catalog())
    compared = 0
    for path in _fixture_sources():
        data = path.read_bytes()
        try:
            exact = summarise(data, path.name, words, "pkg.mod", "pkg")
            tree = parse_source(data, path.name)
        except SourceError:
            continue
        wide = summarise_newer(tree, data, words, "pkg.mod", "pkg")
        for flag in (
            "always",
            "has_async",
            "awaits_twice",
            "read_runs",
            "async_uses_vocabulary",
            "binds_vocabulary",
        ):
            assert getattr(wide, flag) or not getattr(exact, flag), (path, flag)
        assert exact.called_from_async <= wide.called_from_async, path
        # The wide summary names methods bare (``select`` looks them up that way).
        assert {n.rpartition(".")[2] for n in exact.sync_vocabulary} <= wide.sync_vocabulary
        for name, calls in exact.sync_calls.items():
            bare = name.rpartition(".")[2]
            assert calls <= wide.sync_calls.get(bare, frozenset()), (path, name)
        assert exact.classes <= wide.classes, path
        assert exact.imported.items() <= wide.imported.items(), path
        assert set(exact.star_imports) <= set(wide.star_imports), path
        compared += 1
    assert compared > 100


@pytest.mark.parametrize("root", _projects(), ids=lambda p: p.name)
def test_files_only_libcst_can_parse_are_still_analysed(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = analyse(root, use_prefilter=False)
    command = ["check", str(root), "--format", "json", "--jobs", "1"]
    expected = CliRunner().invoke(app, [*command, "--no-prefilter"]).stdout
    _python_cannot_parse(monkeypatch)
    fallback = analyse(root, use_prefilter=True)
    assert fallback.errors == []
    assert fallback.newer_syntax == len(fallback.jobs) > 0  # every file took the fallback
    assert _conclusions(fallback.project) == _conclusions(full.project)
    assert CliRunner().invoke(app, command).stdout == expected


def test_newer_syntax_route_and_the_helper_only_it_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_tree(tmp_path, TRICKY)
    full = analyse(root, use_prefilter=False)
    _python_cannot_parse(monkeypatch)
    fallback = analyse(root, use_prefilter=True)
    assert fallback.newer_syntax == len(TRICKY)
    assert _conclusions(fallback.project) == _conclusions(full.project)
    # The route reaches pkg.deeper only through pkg.helpers: both were followed.
    assert "pkg.routes.endpoint" in _conclusions(fallback.project)
    assert "pkg/deeper.py" in fallback.project.modules


def test_gather_candidates_only_libcst_can_parse_are_analysed_in_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """gather-awaits reads most modules through CPython's tree (light facts); one this
    Python cannot parse is analysed with libcst instead of being dropped."""
    root = FIXTURES / "gather_awaits"
    command = ["check", str(root), "--select", "gather-awaits", "--format", "json", "--jobs", "1"]
    expected = CliRunner().invoke(app, [*command, "--no-prefilter"]).stdout
    assert json.loads(expected), "the fixtures must hold findings"
    _python_cannot_parse(monkeypatch)
    fallback = CliRunner().invoke(app, command)
    assert "use syntax newer than Python" in fallback.stderr  # the fallback was taken
    assert fallback.stdout == expected


def _route_calling(imports: str, call: str) -> str:
    """A router module whose only route awaits something and then calls ``call``."""
    return f"""
        from fastapi import APIRouter
        {imports}
        router = APIRouter()
        @router.post("/")
        async def endpoint(db):
            await something()
            return {call}
        async def something():
            return None
    """


REACHED_ONLY_SO = {
    # ``from . import commit_all`` never spells ``pkg``; the helper is found blocking
    # only in a later round, through a project alias of a SQLAlchemy session.
    "own-package-import": {
        "pkg/__init__.py": """
            from pkg.db import DB
            def commit_all(db: DB):
                db.commit()
        """,
        "pkg/db.py": """
            from typing import Annotated
            from fastapi import Depends
            from sqlalchemy.orm import Session
            def get_db(): ...
            DB = Annotated[Session, Depends(get_db)]
        """,
        "pkg/routes.py": _route_calling("from . import commit_all", "commit_all(db)"),
    },
    # The analysis resolves ``Service.stat()`` to the static method.
    "static-method-through-its-class": {
        "pkg/__init__.py": "",
        "pkg/service.py": """
            class Service:
                @staticmethod
                def stat():
                    return open("y").read()
        """,
        "pkg/routes.py": _route_calling("from pkg.service import Service", "Service.stat()"),
    },
    # The package re-exports the helper: the call resolves to ``pkg.load``.
    "helper-through-a-package-reexport": {
        "pkg/__init__.py": "from .helpers import load\n",
        "pkg/helpers.py": """
            def load():
                return open("x").read()
        """,
        "pkg/routes.py": _route_calling("from pkg import load", "load()"),
    },
}


@pytest.mark.parametrize("files", REACHED_ONLY_SO.values(), ids=list(REACHED_ONLY_SO))
def test_a_route_reached_only_this_way_is_still_analysed(
    tmp_path: Path, files: dict[str, str]
) -> None:
    root = write_tree(tmp_path, files)
    full = analyse(root, use_prefilter=False)
    filtered = analyse(root, use_prefilter=True)
    assert "pkg.routes.endpoint" in _conclusions(full.project)
    assert _conclusions(filtered.project) == _conclusions(full.project)


def test_the_run_says_how_many_files_use_newer_syntax(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_tree(tmp_path, TRICKY)
    _python_cannot_parse(monkeypatch)
    result = CliRunner().invoke(app, ["check", str(root), "--jobs", "1"])
    assert f"note: {len(TRICKY)} file(s) use syntax newer than Python" in result.stderr
    monkeypatch.undo()
    assert "newer than Python" not in CliRunner().invoke(app, ["check", str(root)]).stderr


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("from pkg.tasks import run\n", True),
        ("from . import run\n", True),
        ("from .. import (\n    other,  # (see run)\n    run,\n)\n", True),
        ("from . import other, \\\n    run\n", True),
        ("from . import other\nrun()\n", False),  # a run() of its own, not the helper
        ("from .other import run\n", False),  # module 'other', not pkg.tasks
        ("run()\n", False),
    ],
)
def test_mentions_need_the_module_unless_imported_from_the_files_package(
    text: str, found: bool
) -> None:
    assert Mentions([("pkg.tasks", "run")]).found_in(text.encode()) is found


def test_suppressions_hold_in_files_this_python_cannot_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without CPython's positions the analyser reads ``# unjam: ignore`` from libcst's
    comment nodes, which its walk skips only when CPython has read the comments."""
    root = write_tree(
        tmp_path,
        {
            "app.py": (
                "import time\n\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
                '@app.get("/a")\nasync def a() -> dict:\n    await other()\n'
                "    time.sleep(1)  # unjam: ignore\n    return {}\n\n\n"
                '@app.get("/b")\nasync def b() -> dict:\n    await other()\n'
                "    time.sleep(1)\n    return {}\n\n\n"
                "async def other() -> None:\n    return None\n"
            )
        },
    )
    expected = CliRunner().invoke(app, ["check", str(root), "--jobs", "1"])
    _python_cannot_parse(monkeypatch)
    fallback = CliRunner().invoke(app, ["check", str(root), "--jobs", "1"])
    assert "newer than Python" in fallback.stderr
    assert fallback.stdout == expected.stdout
    assert "app.py:18:5: offload-blocking" in fallback.stdout
    assert fallback.stdout.count("offload-blocking") == 1


def _words_by_regex(data: bytes) -> set[str]:
    """The oracle: every match of ``\\b\\w+\\b``, as a regex alternation finds names."""
    return {word.decode() for word in re.findall(rb"\b\w+\b", data)}


@pytest.mark.parametrize(
    "text",
    [
        "from pkg.tasks import run as _run9\nx=run(1)+2run_3\n",
        "café = run  # naïve_name\tother\r\nrun.tasks[0]\x0cend",
        "'''run'''\"tasks\" 9abc _ __init__ a_b_c",
        "",
    ],
)
def test_a_files_words_are_the_runs_a_word_boundary_pattern_finds(text: str) -> None:
    data = text.encode()
    assert set(Words.of(data).every) == _words_by_regex(data)


def test_words_arrive_interned_from_a_worker() -> None:
    words = pickle.loads(pickle.dumps(Words.of(b"from . import helper_name_xyz\n")))
    every = {word: word for word in words.every}
    assert every["helper_name_xyz"] is sys.intern("helper_name_xyz")
    assert words.from_own_package == ("helper_name_xyz",)


def test_both_summaries_carry_the_words_later_rounds_look_for() -> None:
    data = b"from . import helper_xyz\n\n\ndef run() -> None:\n    tasks.go()\n"
    words = vocabulary(default_catalog())
    exact = summarise(data, "m.py", words, "pkg.mod", "pkg")
    wide = summarise_newer(parse_source(data, "m.py"), data, words, "pkg.mod", "pkg")
    for summary in (exact, wide):
        assert summary.words == Words.of(data)
        assert Mentions([("pkg.tasks", "go")]).found_among(summary.words)
        assert Mentions([("pkg.helpers", "helper_xyz")]).found_among(summary.words)


#: The patterns as first written: no possessive quantifiers, ``await`` tried first.
_PLAIN_CALL = re.compile(r"(\bawait\s+)?(?<![\w.])([A-Za-z_][\w.]*)\s*\(")
_PLAIN_DOTTED = re.compile(r"(?<![\w.])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_AWKWARD = [
    "await foo(x)",
    "await   svc.get (1)",
    "await\n    pkg.mod.run(\n)",
    "awaitable(x) + xawait foo(y)",
    "x.await foo(y)",  # not Python, but comments and strings say anything
    "a.b.c(d.e(f)) and g .h(i) or j. k(l)",
    "__init__(self) if _x1._y2(z) else z9()",
    "obj.attr_without_call + another.one[0](1)",
    "time.sleep (0.1); os . path . join(a, b)",
    "print('await requests.get(url)')  # await  open ( path )",
    "a" * 300 + " (" + "b." * 50 + "c" * 300 + "(",
]


def _same_calls(text: str) -> None:
    """The same called names; ``await`` before one only where the plain pattern saw it
    too. They differ only after a dot (``x.await f()``, never valid Python), where the
    faster one sees no ``await``: a call taken as not awaited can only make the summary
    mention more."""
    faster, plain = unjam.pipeline.prefilter._CALL.findall(text), _PLAIN_CALL.findall(text)
    assert [name for _, name in faster] == [name for _, name in plain]
    for (awaited, _), (was_awaited, _) in zip(faster, plain, strict=True):
        assert awaited == was_awaited or (not awaited and ".await" in text)


@pytest.mark.parametrize("text", _AWKWARD)
def test_the_faster_patterns_find_what_the_plain_ones_find(text: str) -> None:
    _same_calls(text)
    if ".await" not in text:
        assert unjam.pipeline.prefilter._CALL.findall(text) == _PLAIN_CALL.findall(text)
    assert unjam.pipeline.prefilter._DOTTED.findall(text) == _PLAIN_DOTTED.findall(text)


def test_the_faster_patterns_find_what_the_plain_ones_find_in_every_fixture() -> None:
    texts = [path.read_text(encoding="utf-8", errors="replace") for path in FIXTURES.rglob("*.py")]
    assert len(texts) > 100
    for text in texts:
        _same_calls(text)
        assert unjam.pipeline.prefilter._DOTTED.findall(text) == _PLAIN_DOTTED.findall(text)


@pytest.mark.parametrize("root", _projects(), ids=lambda p: p.name)
def test_a_file_analysed_with_its_summary_gets_the_facts_a_scan_gives(root: Path) -> None:
    """``summary_job`` analyses a file the summary alone selects on the summary's own
    CPython parse; the facts must be the ones ``scan_job`` gets from a parse of its own."""
    analysis = analyse(root)  # in-process: leaves this process set up as the worker
    early = 0
    try:
        for job in analysis.jobs.values():
            outcome = unjam.pipeline.runner.summary_job(job)
            if isinstance(outcome, unjam.pipeline.runner.Analysed):
                early += 1
                assert outcome.facts == unjam.pipeline.runner.scan_job(job), job.shown
            else:
                assert isinstance(outcome, unjam.pipeline.prefilter.Summary), job.shown
                every_route = unjam.pipeline.runner._state().every_route
                assert not unjam.pipeline.prefilter.selects_alone(outcome, every_route), job.shown
    finally:
        unjam.pipeline.runner._KEPT.clear()
    assert early, "the fixture must hold a file its summary alone selects"


def test_files_the_summary_alone_selects_are_parsed_by_cpython_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_tree(
        tmp_path,
        {
            "app.py": """
                import time
                from helpers import slow
                async def route():
                    time.sleep(1)
                    return slow()
            """,
            # Selected because async code reaches it: known only once every file is read.
            "helpers.py": """
                def slow():
                    return open("x").read()
            """,
            "plain.py": "def f():\n    return 1\n",
        },
    )
    parsed: list[str] = []
    real = unjam.pipeline.runner.python_ast

    def counting(data: bytes, shown: str) -> object:
        parsed.append(shown)
        return real(data, shown)

    monkeypatch.setattr(unjam.pipeline.runner, "python_ast", counting)
    analysis = analyse(root)
    unjam.pipeline.runner._KEPT.clear()
    assert sorted(analysis.project.modules) == ["app.py", "helpers.py"]
    assert analysis.project.blocking("app.route")
    assert {name: parsed.count(name) for name in parsed} == {
        "app.py": 1,
        "helpers.py": 2,
        "plain.py": 1,
    }
