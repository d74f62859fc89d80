"""Worker processes that stay up for the whole run and remember where each file went.

``concurrent.futures`` hands every task to whichever worker is free, and a pool lives
for one phase. The analysis parses a route module with libcst in one worker; rewriting
it, in a fresh pool, parsed it again: a fifth of ``check``'s rewriting on the bench
tree. These workers live from the first file read to the last rewrite. A task whose key
was seen before goes back to the worker that ran it (which kept what it parsed) when
that worker has room; a worker with nothing of its own takes shared tasks first and
then another worker's newest ones, so none idles while work is waiting.

A task that raises, or a worker that dies, ends the run with ``WorkerError`` (the tasks
report bad input as values, see ``runner``: this is a bug). Workers ignore Ctrl-C; the
parent, interrupted, stops them.
"""

from __future__ import annotations

import contextlib
import multiprocessing.connection
import multiprocessing.context
import multiprocessing.process
import pickle
import signal
import traceback
import weakref
from collections import deque
from collections.abc import Callable, Hashable, Iterator, Sequence
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")

#: Messages a worker holds at once. The parent sends only to a worker waiting for
#: work: with a second message queued, a worker blocked writing a large result into a
#: full pipe and the parent blocked writing a large task into the other would wait for
#: each other for ever (polar's project did). Chunks keep the round trips few.
DEPTH = 1


class WorkerError(RuntimeError):
    """A task raised in a worker (the message carries its traceback), or a worker died."""


def _serve(
    connection: Connection,
    initializer: Callable[[Any], None],
    state: Any,
    inherited: tuple[Connection, ...],
) -> None:
    """A worker's loop: run batches of tasks until told to stop or the parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C, then stops us
    for parents_end in inherited:  # a copy here would keep the pipe open after the
        parents_end.close()  # parent is gone: no end of file, no broken pipe
    initializer(state)
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        kind, payload = message
        if kind == "state":
            initializer(pickle.loads(payload))
            continue
        function, tasks = payload
        try:
            reply: tuple[str, Any] = ("done", [(index, function(item)) for index, item in tasks])
        except BaseException:  # reported to the parent, which stops the run
            reply = ("error", traceback.format_exc())
        try:
            connection.send(reply)
        except OSError:  # the parent is gone (killed): nobody to tell, nothing to say
            return


def _stop(
    processes: list[multiprocessing.process.BaseProcess], connections: list[Connection]
) -> None:
    for connection in connections:
        with contextlib.suppress(OSError):
            connection.send(None)
        connection.close()
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.terminate()
            process.join()


class Workers(Generic[S]):
    """``count`` processes, each set up with ``initializer(state)`` (inherited, not
    pickled, where processes fork)."""

    def __init__(
        self,
        count: int,
        initializer: Callable[[S], None],
        state: S,
        context: multiprocessing.context.ForkContext | multiprocessing.context.SpawnContext,
    ) -> None:
        self._processes: list[multiprocessing.process.BaseProcess] = []
        self._connections: list[Connection] = []
        forks = context.get_start_method() == "fork"
        for _ in range(count):
            parent, child = context.Pipe()
            # A fork holds copies of the parent's ends, its own pipe's included.
            inherited = (*self._connections, parent) if forks else ()
            process = context.Process(
                target=_serve, args=(child, initializer, state, inherited), daemon=True
            )
            process.start()
            child.close()
            self._processes.append(process)
            self._connections.append(parent)
        #: Task key -> the worker that last ran a task with that key.
        self._placed: dict[Hashable, int] = {}
        self._broken = False
        self._finalizer = weakref.finalize(self, _stop, self._processes, self._connections)

    @property
    def count(self) -> int:
        return len(self._processes)

    @property
    def open(self) -> bool:
        return self._finalizer.alive and not self._broken

    def share(self, state: S) -> None:
        """Give every worker a new state (pickled once; each worker unpickles it)."""
        data = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
        for connection in self._connections:
            connection.send(("state", data))

    def map(
        self,
        function: Callable[[T], R],
        items: Sequence[T],
        key: Callable[[T], Hashable] | None = None,
        chunk: int = 1,
        size: Callable[[T], int] | None = None,
    ) -> Iterator[R]:
        """``function`` over ``items``, results in order. ``key``: tasks with a key seen
        before prefer the worker that ran it. ``chunk``: tasks sent per message.
        ``size``: an estimate of a task's cost; larger ones start first, so the run ends
        on small ones and no worker waits long for the last."""
        if not self.open:
            raise WorkerError("the worker processes have stopped")
        return self._run(function, items, key, max(1, chunk), size)

    def _run(
        self,
        function: Callable[[T], R],
        items: Sequence[T],
        key: Callable[[T], Hashable] | None,
        chunk: int,
        size: Callable[[T], int] | None,
    ) -> Iterator[R]:
        own: list[deque[int]] = [deque() for _ in self._processes]
        shared: deque[int] = deque()
        order: Sequence[int] = range(len(items))
        if size is not None:
            order = sorted(order, key=lambda index: -size(items[index]))
        for index in order:
            worker = self._placed.get(key(items[index])) if key is not None else None
            (own[worker] if worker is not None else shared).append(index)
        waiting = [0] * self.count
        results: dict[int, R] = {}
        finished = False

        def feed(worker: int) -> None:
            self._feed(worker, function, items, own, shared, chunk, waiting)

        try:
            for worker in range(self.count):
                feed(worker)
            for position in range(len(items)):
                while position not in results:
                    self._collect(results, waiting, items, key, feed)
                yield results.pop(position)
            finished = True
        finally:
            if not finished:  # replies still in the pipes would answer the next map
                self._broken = True
                for process in self._processes:
                    process.terminate()
                self.close()

    def _feed(
        self,
        worker: int,
        function: Callable[[T], R],
        items: Sequence[T],
        own: list[deque[int]],
        shared: deque[int],
        chunk: int,
        waiting: list[int],
    ) -> None:
        while waiting[worker] < DEPTH:
            batch = self._take(worker, own, shared, chunk)
            if not batch:
                return
            tasks = [(index, items[index]) for index in batch]
            try:
                self._connections[worker].send(("run", (function, tasks)))
            except OSError:
                raise self._stopped(worker) from None
            waiting[worker] += 1

    @staticmethod
    def _take(worker: int, own: list[deque[int]], shared: deque[int], chunk: int) -> list[int]:
        """The worker's own tasks first, in order; then shared ones; then the newest of
        the longest queue of another worker (its own worker reaches those last)."""
        if own[worker]:
            queue, newest = own[worker], False
        elif shared:
            queue, newest = shared, False
        else:
            queue, newest = max(own, key=len), True
        taken: list[int] = []
        while queue and len(taken) < chunk:
            taken.append(queue.pop() if newest else queue.popleft())
        return taken

    def _collect(
        self,
        results: dict[int, Any],
        waiting: list[int],
        items: Sequence[Any],
        key: Callable[[Any], Hashable] | None,
        feed: Callable[[int], None],
    ) -> None:
        """Take the replies that are ready. A worker that replied gets its next task
        before its reply is unpickled: a route module's facts take milliseconds to
        unpickle, and the worker would wait that long for every file it analyses."""
        busy = [self._connections[w] for w in range(self.count) if waiting[w]]
        if not busy:
            raise WorkerError("no task is running, yet results are missing")
        for connection in multiprocessing.connection.wait(busy):
            assert isinstance(connection, Connection)
            worker = self._connections.index(connection)
            try:
                reply = connection.recv_bytes()
            except (EOFError, OSError):
                raise self._stopped(worker) from None
            waiting[worker] -= 1
            feed(worker)
            kind, payload = ForkingPickler.loads(reply)
            if kind == "error":
                raise WorkerError(f"a task failed in a worker process:\n{payload}")
            for index, result in payload:
                results[index] = result
                if key is not None:
                    self._placed[key(items[index])] = worker

    def _stopped(self, worker: int) -> WorkerError:
        process = self._processes[worker]
        process.join(timeout=1)
        return WorkerError(f"a worker process stopped (exit code {process.exitcode})")

    def close(self) -> None:
        """Stop the workers (waiting for them to finish the message they hold)."""
        self._finalizer()
