"""Real servers for runtime tests: 127.0.0.1 only, bounded requests, always stopped."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def get(port: int, path: str, timeout: float = 10.0) -> tuple[int, bytes, float]:
    """(status, body, seconds) for one GET on a fresh connection."""
    start = time.perf_counter()
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read(), time.perf_counter() - start
    finally:
        connection.close()


@contextmanager
def uvicorn(
    app: str, cwd: Path, startup_timeout: float = 15.0, env: dict[str, str] | None = None
) -> Iterator[int]:
    """Run ``uvicorn app`` from ``cwd`` on a free loopback port; yields the port."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--host",
            HOST,
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            try:
                get(port, "/health", timeout=1.0)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    error = process.stderr.read().decode() if process.stderr else ""
                    raise RuntimeError(f"uvicorn did not start: {error}") from None
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@dataclass(frozen=True)
class Stall:
    worst_health: float  # seconds, worst /health latency while the slow requests ran
    slow_statuses: tuple[int, ...]
    slow_total: float  # seconds until every slow request had answered


def _start_gets(port: int, path: str, count: int) -> tuple[list[threading.Thread], list[int]]:
    """``count`` GETs of ``path`` at once, each on its own thread; (threads, statuses)."""
    statuses: list[int] = []
    lock = threading.Lock()

    def call() -> None:
        status, _, _ = get(port, path, timeout=30)
        with lock:
            statuses.append(status)

    workers = [threading.Thread(target=call) for _ in range(count)]
    for worker in workers:
        worker.start()
    return workers, statuses


def concurrent_gets(port: int, path: str, count: int) -> tuple[float, list[int]]:
    """(seconds until all answered, statuses) for ``count`` simultaneous GETs."""
    start = time.perf_counter()
    workers, statuses = _start_gets(port, path, count)
    for worker in workers:
        worker.join(timeout=60)
    return time.perf_counter() - start, statuses


def measure_stall(port: int, slow_path: str, concurrent: int, probe_every: float = 0.05) -> Stall:
    """Fire ``concurrent`` requests at ``slow_path`` and probe /health meanwhile."""
    start = time.perf_counter()
    workers, statuses = _start_gets(port, slow_path, concurrent)
    time.sleep(probe_every)
    latencies: list[float] = []
    for _ in range(200):  # bounded: at most 200 probes
        if not any(worker.is_alive() for worker in workers):
            break
        latencies.append(get(port, "/health", timeout=30)[2])
        time.sleep(probe_every)
    for worker in workers:
        worker.join(timeout=30)
    return Stall(max(latencies, default=0.0), tuple(statuses), time.perf_counter() - start)
