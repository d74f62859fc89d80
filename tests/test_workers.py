"""The run's worker processes: order, affinity, state, failures (see ``unjam._speed.workers``)."""

from __future__ import annotations

import gc
import multiprocessing
import os
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner
from unjam.codemods import by_name, is_default

import unjam.pipeline.runner as runner_module
from unjam._speed.collector import COLLECTOR_THRESHOLDS
from unjam._speed.workers import WorkerError, Workers
from unjam.cli import app
from unjam.pipeline.discovery import discover
from unjam.pipeline.runner import Job, Runner, _KeptTrees, worth_sharing
from unjam.pipeline.source import parse_source

_SETTING: list[str] = []


def _remember(state: str) -> None:
    _SETTING[:] = [state]


def _setting(_: int) -> str:
    return _SETTING[0]


def _square(value: int) -> int:
    return value * value


def _pid(_: str) -> int:
    time.sleep(0.005)  # long enough for both workers to take tasks
    return os.getpid()


def _fail_on_three(value: int) -> int:
    if value == 3:
        raise ValueError("three is not allowed")
    return value


def _die(_: int) -> int:
    os._exit(7)


@pytest.fixture
def workers() -> Iterator[Workers[str]]:
    pool = Workers(2, _remember, "first", multiprocessing.get_context("fork"))
    yield pool
    pool.close()


@pytest.mark.parametrize("chunk", [1, 3, 16])
def test_results_come_back_in_the_order_of_the_items(workers: Workers[str], chunk: int) -> None:
    items = list(range(200))
    assert list(workers.map(_square, items, chunk=chunk)) == [i * i for i in items]


_CALLS: list[int] = []


def _call_number(value: int) -> tuple[int, int]:
    _CALLS.append(value)
    return value, len(_CALLS)


def test_larger_tasks_start_first_and_results_still_come_in_order() -> None:
    one = Workers(1, _remember, "", multiprocessing.get_context("fork"))
    try:
        items = [1, 5, 3, 4, 2]
        results = list(one.map(_call_number, items, size=lambda value: value))
    finally:
        one.close()
    assert [value for value, _ in results] == items
    assert dict(results) == {5: 1, 4: 2, 3: 3, 2: 4, 1: 5}


_EVENTS: list[str] = []


def _arrived(value: int) -> _Logged:
    """Runs in the parent, as a reply is unpickled."""
    _EVENTS.append(f"unpickled {value}")
    return _Logged(value)


class _Logged:
    """A result whose unpickling the parent logs."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __reduce__(self) -> tuple[object, tuple[int]]:
        return _arrived, (self.value,)


def _logged(value: int) -> _Logged:
    return _Logged(value)


def test_a_worker_gets_its_next_task_before_its_reply_is_unpickled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    one = Workers(1, _remember, "", multiprocessing.get_context("fork"))
    send = Connection.send

    def logged_send(connection: Connection, message: Any) -> None:
        if isinstance(message, tuple) and message[0] == "run":
            _EVENTS.extend(f"sent {index}" for index, _ in message[1][1])
        send(connection, message)

    monkeypatch.setattr(Connection, "send", logged_send)  # the worker forked before
    _EVENTS.clear()
    try:
        assert [r.value for r in one.map(_logged, [0, 1, 2])] == [0, 1, 2]
    finally:
        one.close()
    assert _EVENTS == ["sent 0", "sent 1", "unpickled 0", "sent 2", "unpickled 1", "unpickled 2"]


def test_workers_started_by_spawn_run_tasks_and_take_a_shared_state() -> None:
    """macOS and Windows start workers with spawn: the state, the tasks and the
    functions are pickled, and no pipe end is inherited."""
    spawned = Workers(2, _remember, "first", multiprocessing.get_context("spawn"))
    try:
        assert list(spawned.map(_square, list(range(30)), chunk=4)) == [i * i for i in range(30)]
        assert set(spawned.map(_setting, list(range(6)))) == {"first"}
        spawned.share("second")
        assert set(spawned.map(_setting, list(range(6)))) == {"second"}
    finally:
        spawned.close()


def test_a_shared_state_reaches_every_worker(workers: Workers[str]) -> None:
    assert set(workers.map(_setting, list(range(20)))) == {"first"}
    workers.share("second")
    assert set(workers.map(_setting, list(range(20)))) == {"second"}


def test_a_key_seen_before_goes_back_to_the_worker_that_ran_it(workers: Workers[str]) -> None:
    keys = [f"file{i}.py" for i in range(40)]
    first = dict(zip(keys, workers.map(_pid, keys, key=str), strict=True))
    assert len(set(first.values())) == 2, "both workers took tasks"
    backwards = keys[::-1]  # in the same order, plain turns would repeat the placement
    again = dict(zip(backwards, workers.map(_pid, backwards, key=str), strict=True))
    same = sum(first[k] == again[k] for k in keys)
    # Only a worker that runs out of its own tasks takes another's: about half the
    # difference between their shares, and a few at the end.
    shares = sorted(list(first.values()).count(pid) for pid in set(first.values()))
    assert same >= 40 - (shares[1] - shares[0]) - 4, f"{same} of 40 went back ({shares})"


def test_a_free_worker_takes_its_own_then_shared_then_the_newest_of_another() -> None:
    own = [deque([1, 2]), deque([3, 4, 5])]
    shared = deque([6, 7])
    assert Workers._take(0, own, shared, 1) == [1]
    assert Workers._take(0, own, shared, 5) == [2]
    assert Workers._take(0, own, shared, 1) == [6]
    assert Workers._take(0, own, shared, 5) == [7]
    assert Workers._take(0, own, shared, 2) == [5, 4]
    assert Workers._take(1, own, shared, 2) == [3]
    assert Workers._take(1, own, shared, 2) == []


_LARGE_TASKS = """
import multiprocessing
from unjam._speed.workers import Workers

def echo(data):
    return data * 2

if __name__ == "__main__":
    workers = Workers(2, id, None, multiprocessing.get_context("fork"))
    items = [bytes([i]) * 300_000 for i in range(40)]
    results = list(workers.map(echo, items))
    assert results == [item * 2 for item in items]
    workers.close()
    print("done")
"""


def test_large_tasks_and_results_do_not_fill_both_pipes_at_once(tmp_path: Path) -> None:
    """A worker writing a large result and the parent writing a large task to it must
    never wait on each other (a deadlock: the run would hang, so it runs apart)."""
    script = tmp_path / "large.py"
    script.write_text(_LARGE_TASKS)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "done"


_PARENT_KILLED = """
import multiprocessing, os, signal
from unjam._speed.workers import Workers

if __name__ == "__main__":
    workers = Workers(2, id, None, multiprocessing.get_context("fork"))
    print(*(process.pid for process in workers._processes), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\tZ" not in status.split("State:", 1)[1].split("\n", 1)[0]


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_workers_stop_when_their_parent_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "killed.py"
    script.write_text(_PARENT_KILLED)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    pids = [int(pid) for pid in done.stdout.split()]
    assert len(pids) == 2
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_running(pid) for pid in pids), "orphaned workers still wait for work"


_KILLED_WHILE_WORKING = """
import multiprocessing, os, signal, threading, time
from unjam._speed.workers import Workers


def slow(item):
    time.sleep(0.5)
    return "x" * 1_000_000


if __name__ == "__main__":
    workers = Workers(2, id, None, multiprocessing.get_context("fork"))
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGKILL)).start()
    list(workers.map(slow, [1, 2]))
"""


def test_workers_whose_parent_died_meanwhile_leave_quietly(tmp_path: Path) -> None:
    """Their replies have nowhere to go: no ``BrokenPipeError`` on the user's terminal."""
    script = tmp_path / "killed.py"
    script.write_text(_KILLED_WHILE_WORKING)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == -9
    assert done.stderr == ""


def test_a_task_that_raises_stops_the_run_with_its_traceback(workers: Workers[str]) -> None:
    with pytest.raises(WorkerError, match="three is not allowed"):
        list(workers.map(_fail_on_three, list(range(10))))
    assert not workers.open
    with pytest.raises(WorkerError):
        workers.map(_square, [1])


def test_a_worker_that_dies_stops_the_run(workers: Workers[str]) -> None:
    with pytest.raises(WorkerError, match="exit code 7"):
        list(workers.map(_die, [1, 2, 3]))


def test_results_left_unread_do_not_answer_the_next_map(workers: Workers[str]) -> None:
    results = workers.map(_square, list(range(100)))
    assert next(results) == 0
    results.close()  # the caller stopped reading: replies may still be in the pipes
    assert not workers.open


@pytest.mark.parametrize("jobs", [1, 2])
def test_check_rewrites_the_trees_the_analysis_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """Each analysed file is parsed by libcst once: ``check`` rewrites the tree the
    analysis kept, in this process or in the worker that analysed the file."""
    for index in range(12):
        (tmp_path / f"routes{index}.py").write_text(
            "import time\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
            f'@app.get("/{index}")\nasync def slow() -> None:\n'
            "    await other()\n    time.sleep(1)\n\n\n"
            "async def other() -> None:\n    pass\n"
        )
    log = tmp_path / "parsed.log"
    parse = runner_module.parse_source

    def logged(data: bytes, shown: str) -> object:
        with log.open("a") as handle:
            handle.write(shown + "\n")
        return parse(data, shown)

    monkeypatch.setattr(runner_module, "parse_source", logged)
    monkeypatch.setattr(runner_module, "worth_sharing", lambda *_: True)
    passes = [c for c in by_name().values() if is_default(c.NAME)]
    runner = Runner(passes, jobs=jobs, base=tmp_path)
    # Analysed backwards, rewritten forwards: plain turns would not repeat the placement.
    analysis = runner.analyse(discover([tmp_path], base=tmp_path).files[::-1])
    assert (analysis.workers is not None) is (jobs > 1)
    results = runner.check(analysis)
    assert sum(1 for r in results for s in r.sites if s.codemod == "offload-blocking") == 12
    parsed = log.read_text().split()
    assert set(parsed) == {f"routes{i}.py" for i in range(12)}
    # Parsing every file again would be 24; a worker that runs out of its own files
    # takes (and parses) some of the other's: a few, or more on a loaded machine (the
    # bound of 16 failed under a parallel test run). In one process, nothing again.
    assert len(parsed) < (24 if jobs > 1 else 13), sorted(parsed)
    assert analysis.workers is None


def test_a_kept_tree_is_handed_out_once_and_only_for_the_same_bytes() -> None:
    job = Job("a.py", "a.py", "a", "", b"x = 1\n")
    kept = _KeptTrees()
    tree = parse_source(job.data, job.shown)
    kept.keep(job, tree)
    assert kept.take(replace(job, data=b"x = 2\n")) is None
    kept.keep(job, tree)
    assert kept.take(job) is tree
    assert kept.take(job) is None


def test_trees_past_the_memory_budget_are_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_KeptTrees, "BUDGET", 3 * 6 * _KeptTrees.SIZE_PER_BYTE)
    kept = _KeptTrees()
    jobs = [Job(f"{i}.py", f"{i}.py", str(i), "", b"x = 1\n") for i in range(5)]
    for job in jobs:
        kept.keep(job, parse_source(job.data, job.shown))
    assert len(kept) == 3
    assert kept.take(jobs[0]) is not None
    kept.keep(jobs[4], parse_source(jobs[4].data, jobs[4].shown))  # room again
    assert kept.take(jobs[4]) is not None


def _thresholds(_: int) -> tuple[int, int, int]:
    return gc.get_threshold()


def test_a_run_tunes_the_collector_in_its_workers_and_restores_it(tmp_path: Path) -> None:
    for index in range(10):
        (tmp_path / f"m{index}.py").write_text(
            "import time\n\n\nasync def f():\n    time.sleep(1)\n"
        )
    before = gc.get_threshold()
    assert before != COLLECTOR_THRESHOLDS
    runner = Runner([c for c in by_name().values() if is_default(c.NAME)], jobs=2, base=tmp_path)
    analysis = runner.analyse(discover([tmp_path], base=tmp_path).files)
    assert gc.get_threshold() == before
    assert analysis.workers is not None
    try:
        assert set(analysis.workers.map(_thresholds, [1, 2, 3, 4])) == {COLLECTOR_THRESHOLDS}
    finally:
        analysis.close()


def test_the_project_goes_to_the_workers_only_when_that_costs_less_than_parsing(
    workers: Workers[str],
) -> None:
    def todo(count: int, size: int) -> list[Job]:
        return [Job(f"{i}.py", f"{i}.py", str(i), "", b"x" * size) for i in range(count)]

    assert not worth_sharing(10, todo(4, 50_000), workers), "too few files for workers"
    assert worth_sharing(240, todo(200, 5_000), workers), "the bench tree: 2.75 s vs 0.7 s"
    assert not worth_sharing(3_000, todo(20, 5_000), workers), "a large project, few rewrites"


def _broken_summary(job: Job) -> object:
    raise RuntimeError(f"a bug while reading {job.shown}")


def test_a_bug_in_a_worker_ends_the_command_with_one_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for index in range(10):
        (tmp_path / f"m{index}.py").write_text("x = 1\n")
    monkeypatch.setattr(runner_module, "summary_job", _broken_summary)  # forks inherit it
    result = CliRunner().invoke(app, ["check", str(tmp_path), "--jobs", "2"])
    assert result.exit_code == 2
    assert "unjam: internal error, please report it" in result.stderr
    assert "a bug while reading" in result.stderr
