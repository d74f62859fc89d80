"""The cache never changes a result: every fixture checked without it, with it cold and
with it warm gives the same bytes; a change anywhere a result depends on is seen; a
damaged, foreign or half-written entry is ignored; two runs at once are safe."""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers import FIXTURES, inside
from unjam.cache import Cache, stable_digest
from unjam.cache.store import MAGIC, build_tag
from unjam.cli import app

ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS = sorted(
    [path for path in FIXTURES.iterdir() if path.is_dir() and path.name not in ("apps", "probe")]
    + [path for path in (FIXTURES / "apps").iterdir() if path.is_dir()]
    + [path for path in (FIXTURES / "probe").iterdir() if path.is_dir()]
)
VARIANTS = {
    "default": [],
    "every-pass-unsafe": ["--extend-select", "gather-awaits", "--unsafe-fixes"],
}


@pytest.fixture(autouse=True)
def _cache_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UNJAM_NO_CACHE", raising=False)


def _check(*args: str, cache: Path | None) -> tuple[int, str, str]:
    extra = ["--cache-dir", str(cache)] if cache is not None else ["--no-cache"]
    result = CliRunner().invoke(app, ["check", *args, "--jobs", "1", *extra])
    assert result.exit_code in (0, 1), result.stderr
    return result.exit_code, result.stdout, result.stderr


def _entries(cache: Path) -> list[Path]:
    """Files of entries: ``<build>/<kind>/<2 hex>/<hex>``."""
    return sorted(p for p in cache.rglob("*") if len(p.relative_to(cache).parts) == 4)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize(
    "collection", COLLECTIONS, ids=lambda p: p.relative_to(FIXTURES).as_posix()
)
def test_every_fixture_gives_the_same_bytes_with_and_without_the_cache(
    collection: Path, variant: str, tmp_path: Path
) -> None:
    args = [str(collection.relative_to(ROOT)), *VARIANTS[variant]]
    cache = tmp_path / "cache"
    without = _check(*args, cache=None)
    cold = _check(*args, cache=cache)
    assert _entries(cache)  # the cold run kept what it derived
    warm = _check(*args, cache=cache)
    assert cold == without
    assert warm == without
    # One file at a time: the run as a whole is new, each file's stages are kept.
    for path in sorted(collection.rglob("*.py"))[:6]:
        shown = str(path.relative_to(ROOT))
        assert _check(shown, *VARIANTS[variant], cache=cache) == _check(
            shown, *VARIANTS[variant], cache=None
        ), shown


@pytest.mark.parametrize("command", ["diff", "routes"])
@pytest.mark.parametrize(
    "collection",
    [c for c in COLLECTIONS if c.parent.name == "apps"] + [FIXTURES / "offload_blocking"],
    ids=lambda p: p.relative_to(FIXTURES).as_posix(),
)
def test_diff_and_routes_give_the_same_bytes_with_and_without_the_cache(
    collection: Path, command: str, tmp_path: Path
) -> None:
    """diff and routes read the kept summaries and facts too."""
    cache = tmp_path / "cache"
    args = [command, str(collection.relative_to(ROOT)), "--jobs", "1"]
    if command == "routes":
        args += ["--format", "json"]

    def run(*extra: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, [*args, *extra])
        assert result.exit_code in (0, 1), result.stderr
        return result.exit_code, result.stdout

    without = run("--no-cache")
    assert run("--cache-dir", str(cache)) == without
    assert run("--cache-dir", str(cache)) == without


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "apps" / "demo", project)
    return project


def _in(project: Path, *args: str, cache: Path | None) -> tuple[int, str, str]:
    with inside(project):
        return _check(".", *args, cache=cache)


HELPER = "demo/slow_helper.py"
CALLER = "demo/routers/cached_caller.py"


def test_a_change_in_another_module_reaches_a_module_whose_bytes_did_not_change(
    tmp_path: Path,
) -> None:
    """The route module is the same file before and after, and was checked before
    (one of its routes blocks); only the helper its other route calls starts blocking.
    Its answer must change: it is keyed by the project's view of it, not its bytes."""
    project = _project(tmp_path)
    cache = tmp_path / "cache"
    (project / HELPER).write_text("def compute(value):\n    return value * 2\n")
    (project / CALLER).write_text(
        "import time\n\n"
        "from fastapi import APIRouter\n\n"
        "from demo.slow_helper import compute\n\n"
        "router = APIRouter()\n\n\n"
        '@router.get("/slow")\n'
        "async def slow_route():\n"
        "    time.sleep(1)\n"
        "    await compute_later()\n\n\n"
        '@router.get("/cached")\n'
        "async def cached_route():\n"
        "    await compute_later()\n"
        "    return compute(1)\n\n\n"
        "async def compute_later():\n"
        "    return None\n"
    )
    before = _in(project, cache=cache)
    assert f"{CALLER}:12" in before[1]
    assert f"{CALLER}:19" not in before[1]
    (project / HELPER).write_text(
        "import time\n\n\ndef compute(value):\n    time.sleep(1)\n    return value * 2\n"
    )
    after = _in(project, cache=cache)
    assert after == _in(project, cache=None)
    assert f"{CALLER}:19" in after[1]  # now found, through the helper


def test_configuration_and_edits_are_seen(tmp_path: Path) -> None:
    project = _project(tmp_path)
    cache = tmp_path / "cache"
    first = _in(project, cache=cache)
    assert "demote-sync" in first[1]
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace("[tool.unjam]\n", '[tool.unjam]\nignore = ["demote-sync"]\n')
    )
    ignored = _in(project, cache=cache)
    assert ignored == _in(project, cache=None)
    assert "demote-sync" not in ignored[1]
    route = next(p for p in sorted(project.rglob("*.py")) if "async def" in p.read_text())
    route.write_text(route.read_text() + "\n\nasync def added_later():\n    open('x').read()\n")
    edited = _in(project, cache=cache)
    assert edited == _in(project, cache=None)
    assert edited != ignored


def _filled(tmp_path: Path) -> tuple[Path, Path, tuple[int, str, str]]:
    """The demo app, a cache one run filled, and what a run without the cache says."""
    project = _project(tmp_path)
    cache = tmp_path / "cache"
    expected = _in(project, cache=None)
    _in(project, cache=cache)
    return project, cache, expected


def test_damaged_and_foreign_entries_are_ignored_and_written_again(tmp_path: Path) -> None:
    project, cache, expected = _filled(tmp_path)
    entries = _entries(cache)
    assert len(entries) >= 8
    marker = tmp_path / "ran"
    for number, entry in enumerate(entries):
        data = entry.read_bytes()
        damage = number % 4
        if damage == 0:
            entry.write_bytes(data[: len(data) // 2])  # truncated
        elif damage == 1:
            entry.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))  # a flipped bit
        elif damage == 2:
            entry.write_bytes(b"")  # empty
        else:  # a well-formed entry whose pickle would run code
            payload = pickle.dumps((bytes(20), _Exploit(str(marker))))
            entry.write_bytes(MAGIC + hashlib.blake2b(payload, digest_size=16).digest() + payload)
    assert _in(project, cache=cache) == expected
    assert not marker.exists()
    assert _in(project, cache=cache) == expected
    rewritten = [entry for entry in _entries(cache) if entry.read_bytes().startswith(MAGIC)]
    assert len(rewritten) == len(_entries(cache))


class _Exploit:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.path}",))


def test_entries_of_another_build_are_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = Cache(tmp_path / "cache")
    cache.put("facts", bytes(20), "old build's answer")
    assert Cache(tmp_path / "cache").get("facts", bytes(20)) == "old build's answer"
    before = build_tag()
    monkeypatch.setattr("unjam.cache.store.__version__", "99.0")
    assert build_tag() != before
    assert Cache(tmp_path / "cache").get("facts", bytes(20)) is None


def test_readers_never_see_half_an_entry(tmp_path: Path) -> None:
    """Once an entry exists, a reader finds a whole one while it is rewritten: a write
    in place (truncate, then write) would let it read a short file, which the checksum
    turns into a miss, and this counts misses."""
    writer = Cache(tmp_path / "cache")
    reader = Cache(tmp_path / "cache")
    values = [tuple(range(size)) for size in (10, 100_000, 1_000, 200_000)]
    writer.put("facts", bytes(20), values[0])
    seen: list[object] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.append(reader.get("facts", bytes(20)))

    thread = threading.Thread(target=read)
    thread.start()
    for _ in range(30):
        for value in values:
            writer.put("facts", bytes(20), value)
    done.set()
    thread.join()
    assert seen
    assert None not in seen
    assert set(seen) <= set(values)


def test_two_runs_at_once_give_the_result_of_one(tmp_path: Path) -> None:
    project = _project(tmp_path)
    cache = tmp_path / "cache"
    expected = _in(project, cache=None)[1]
    command = [
        sys.executable,
        "-m",
        "unjam",
        "check",
        ".",
        "--jobs",
        "1",
        "--cache-dir",
        str(cache),
    ]
    env = {k: v for k, v in os.environ.items() if k != "UNJAM_NO_CACHE"}
    runs = [
        subprocess.Popen(
            command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(3)
    ]
    outputs = [run.communicate(timeout=120)[0].decode() for run in runs]
    assert outputs == [expected] * 3
    again = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, timeout=120
    )
    assert again.stdout == expected


def test_a_cache_that_cannot_be_written_is_said_once_and_changes_nothing(tmp_path: Path) -> None:
    project = _project(tmp_path)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would go\n")
    code, out, err = _in(project, cache=blocked)
    assert (code, out) == _in(project, cache=None)[:2]
    assert err.count("cache not written") == 1


def test_the_cache_folder_tells_git_and_backups_to_leave_it(tmp_path: Path) -> None:
    project = _project(tmp_path)
    with inside(project):
        result = CliRunner().invoke(app, ["check", ".", "--jobs", "1"])
    assert result.exit_code in (0, 1), result.stderr
    folder = project / ".unjam_cache"
    assert (folder / ".gitignore").read_text() == "*\n"
    assert (
        (folder / "CACHEDIR.TAG")
        .read_text()
        .startswith("Signature: 8a477f597d28d172789f06886806bc55")
    )


def test_keys_do_not_depend_on_the_hash_seed() -> None:
    """A view holds frozensets; pickle writes them in hash order, which changes per
    process: the digest must not."""
    code = (
        "from unjam.cache import stable_digest; "
        "from unjam.analysis.names import Namespace; "
        "print(stable_digest(frozenset({'a', 'b', 'c', 'd'}), "
        "{1: frozenset({('x', 'y'), ('z', 'w')})}, "
        "Namespace('@p', frozenset({'app', 'api', 'core'}))).hex())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in (1, 2, 3, 4)
    }
    assert len(digests) == 1
    assert stable_digest(frozenset({"a"})) != stable_digest(("a",))
    assert stable_digest({"a"}) != stable_digest(frozenset({"a"}))


def test_a_run_the_cache_answers_imports_neither_libcst_nor_the_passes(tmp_path: Path) -> None:
    project = _project(tmp_path)
    code = (  # the app, not ``main``: main may leave without running what follows
        "import sys\n"
        "from unjam.cli import app\n"
        "try:\n"
        "    app()\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('libcst', 'git', 'unjam.pipeline.runner', 'unjam.codemods.demote_sync')\n"
        "print(sorted(name for name in heavy if name in sys.modules), file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "UNJAM_NO_CACHE"}
    command = [sys.executable, "-c", code, "check", ".", "--jobs", "1"]
    command += ["--cache-dir", str(tmp_path / "cache")]
    runs = [
        subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=120)
        for _ in range(2)
    ]
    cold, warm = (run.stderr.strip().splitlines()[-1] for run in runs)
    assert "'libcst'" in cold  # the first run analysed
    assert warm == "[]"
    assert runs[0].stdout == runs[1].stdout != ""


def test_an_answer_the_passes_reached_by_analysing_again_is_replayed_before_it_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A route module that requests-to-httpx rewrites is analysed again before the
    next pass: its kept answer holds only if this run's project gives the new facts the
    view they got. Same project: used as kept (no pass runs); a view that differs (here
    a kept digest altered): the passes run again."""
    from unjam.codemods import PASSES, is_default

    import unjam.pipeline.runner as runner_module
    from unjam.cache.store import Cache as Store
    from unjam.pipeline.discovery import discover
    from unjam.pipeline.runner import Runner

    project = _project(tmp_path)
    store = Store(tmp_path / "cache")
    runs: list[str] = []
    real = runner_module.transform_job

    def counted(job: runner_module.Job) -> runner_module.FileResult:
        runs.append(job.shown)
        return real(job)

    monkeypatch.setattr(runner_module, "transform_job", counted)

    def check() -> list[tuple[str, tuple[object, ...]]]:
        runner = Runner(
            [p for p in PASSES if is_default(p.NAME)], jobs=1, base=project, cache=store
        )
        files = sorted(discover([project], ()).files, key=lambda f: f.path)
        return [(r.shown, r.sites) for r in runner.check(runner.analyse(files))]

    first = check()
    checks = [
        entry for entry in _entries(tmp_path / "cache") if entry.parent.parent.name == "check"
    ]
    assert runs  # the passes ran
    runs.clear()
    assert check() == first
    assert runs == []  # every answer kept, the replayed ones included
    replayed = 0
    for entry in checks:
        key = bytes.fromhex(entry.name)
        kind, sites, relinks = store.get("check", key)  # type: ignore[misc]
        if relinks:
            facts, _ = relinks[0]
            store.put("check", key, (kind, sites, ((facts, bytes(20)), *relinks[1:])))
            replayed += 1
    assert replayed  # the demo app has a module the passes analyse again
    assert check() == first
    assert len(runs) == replayed


def test_keys_do_not_depend_on_which_parts_are_shared() -> None:
    """A view built in a worker and the same view built here share different objects;
    pickle's memo would write them differently."""
    import copy

    from unjam.analysis.model import Location

    place = Location(3, 4)
    assert stable_digest((place, place)) == stable_digest((place, copy.copy(place)))
    words = ["a", "b"]
    assert stable_digest([words, words]) == stable_digest([words, list(words)])


def test_clean_removes_the_cache_and_nothing_else(tmp_path: Path) -> None:
    project = _project(tmp_path)
    with inside(project):
        runner = CliRunner()
        assert runner.invoke(app, ["check", ".", "--jobs", "1"]).exit_code in (0, 1)
        assert (project / ".unjam_cache").is_dir()
        result = runner.invoke(app, ["clean"])
        assert result.exit_code == 0, result.stderr
        assert not (project / ".unjam_cache").exists()
        assert (project / "pyproject.toml").exists()
        stranger = tmp_path / "not-a-cache"
        stranger.mkdir()
        (stranger / "keep.txt").write_text("mine\n")
        result = runner.invoke(app, ["clean", "--cache-dir", str(stranger)])
        assert result.exit_code == 0
        assert "not an unjam cache" in result.stderr
        assert (stranger / "keep.txt").exists()


def test_what_no_run_used_for_a_while_is_pruned(tmp_path: Path) -> None:
    from unjam.cache.store import (
        PRUNE_EVERY_SECONDS,
        UNUSED_BUILD_SECONDS,
        UNUSED_ENTRY_SECONDS,
    )

    folder = tmp_path / "cache"
    cache = Cache(folder)
    cache.put("facts", bytes(20), "old")
    cache.put("facts", bytes([1] * 20), "recent")
    build = next(p for p in folder.iterdir() if p.is_dir())
    old_entry = next(p for p in build.rglob(bytes(20).hex()))
    now = old_entry.stat().st_mtime + UNUSED_ENTRY_SECONDS + 10
    os.utime(old_entry, (now - UNUSED_ENTRY_SECONDS - 5,) * 2)
    recent = next(p for p in build.rglob(bytes([1] * 20).hex()))
    os.utime(recent, (now - 60,) * 2)
    other = folder / "0.0.1-py310-aaaaaaaaaaaa"
    (other / "facts").mkdir(parents=True)
    (other / "used").touch()
    os.utime(other / "used", (now - UNUSED_BUILD_SECONDS - 5,) * 2)
    newer = folder / "0.0.2-py310-bbbbbbbbbbbb"
    newer.mkdir()
    (newer / "used").touch()
    os.utime(newer / "used", (now - 60,) * 2)
    killed = build / "facts" / f".{'ab' * 20}.123.1.tmp"
    killed.write_bytes(b"half")
    os.utime(killed, (now - 7200,) * 2)

    assert Cache(folder).prune(now) == 3
    assert not old_entry.exists() and not other.exists() and not killed.exists()
    assert recent.exists() and newer.exists()
    assert Cache(folder).get("facts", bytes([1] * 20)) == "recent"
    # Once a day at most.
    os.utime(recent, (now - UNUSED_ENTRY_SECONDS - 5,) * 2)
    assert Cache(folder).prune(now + PRUNE_EVERY_SECONDS / 2) == 0
    assert recent.exists()


def test_a_hit_keeps_an_entry_in_use(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    Cache(folder).put("facts", bytes(20), "kept")
    entry = next(p for p in folder.rglob(bytes(20).hex()))
    os.utime(entry, (1_000_000, 1_000_000))
    assert Cache(folder).get("facts", bytes(20)) == "kept"
    assert entry.stat().st_mtime > 1_000_000


def test_the_same_code_installed_elsewhere_reads_the_same_entries(tmp_path: Path) -> None:
    """A CI job installs unjam afresh (new paths, new file times): the tag must not
    change, or a cache kept between jobs would never be read."""
    import unjam

    before = build_tag()
    package = Path(unjam.__file__).parent
    some = package / "cache" / "keys.py"
    stat = some.stat()
    os.utime(some, (stat.st_atime, stat.st_mtime + 3600))
    try:
        assert build_tag() == before
    finally:
        os.utime(some, (stat.st_atime, stat.st_mtime))


def test_entries_of_the_wrong_shape_are_misses_not_crashes(tmp_path: Path) -> None:
    """Well-formed pickles of unjam's own types, in the wrong places."""
    from unjam.analysis.model import Location
    from unjam.cli import Checked

    project, folder, expected = _filled(tmp_path)
    store = Cache(folder)
    wrong: dict[str, object] = {
        "check": ("static", ("not a site",), ()),  # no relinks: the sites are read
        "facts": ("not facts",),
        "run": Checked((Location(1, 1),), (), (), (), 3),  # type: ignore[arg-type]
    }
    replaced = set()
    for entry in _entries(folder):
        kind = entry.parent.parent.name
        key = bytes.fromhex(entry.name)
        if kind == "summaries":  # the pack, under the files' own keys
            pack = store.get(kind, key)
            assert isinstance(pack, dict) and pack
            store.put(kind, key, dict.fromkeys(pack, Location(1, 1)))
            replaced.add(kind)
        elif kind in wrong:
            store.put(kind, key, wrong[kind])
            replaced.add(kind)
    assert replaced == {"check", "facts", "run", "summaries"}
    assert _in(project, cache=folder) == expected
    assert _in(project, cache=folder) == expected
