"""Catch the event loop blocked, and where: every asyncio callback is timed, and a
thread samples the stack of a loop whose callback has run past the threshold.

asyncio runs everything (task steps included) as ``events.Handle._run``, a Python
method: wrapping it tells, per thread, which callback runs since when, whatever
started the loop (TestClient's portal thread, ``httpx.ASGITransport``, pytest-asyncio,
anyio's plugin). A stall is measured by the wrapper itself (exact), and its stack is
sampled while it lasts by the watchdog (``sys._current_frames()``: the loop thread's
frames at that moment), so the line that blocked is known even for a C function (the
innermost Python frame is the caller's line).
"""

from __future__ import annotations

import asyncio.events
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

#: How often the watchdog looks. Each look takes the GIL from the loop thread: every
#: 2 ms cost 8% of a callback-heavy test suite (``bench/probe.py``), every 5 ms 4.5%.
POLL_SECONDS = 0.005


@dataclass
class Stall:
    """One callback that ran longer than the threshold."""

    seconds: float
    stack: list[tuple[str, int, str, str]]  # (file, line, function, source), outermost first
    test: str
    route: str = ""  # "GET /items/{id}" as requested, when an ASGI scope is on the stack


@dataclass
class Watchdog:
    threshold: float = 0.020
    stalls: list[Stall] = field(default_factory=list)
    #: thread -> [when its callback started, its sampled stack or None, its request]
    _running: dict[int, list[Any]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _original: Callable[..., Any] | None = None

    def start(self) -> None:
        original = asyncio.events.Handle._run
        self._original = original
        running, stalls, threshold = self._running, self.stalls, self.threshold
        get_ident, clock = threading.get_ident, time.perf_counter

        def timed(handle: asyncio.events.Handle) -> None:
            # The hot path of every callback of every loop: as little as it can be.
            ident = get_ident()
            entry = running[ident] = [clock(), None, ""]
            try:
                original(handle)
            finally:
                seconds = clock() - entry[0]
                del running[ident]
                if seconds >= threshold and entry[1] is not None:
                    test = os.environ.get("PYTEST_CURRENT_TEST", "").split(" (")[0]
                    stalls.append(Stall(seconds, entry[1], test, entry[2]))

        asyncio.events.Handle._run = timed  # type: ignore[method-assign,assignment]
        self._thread = threading.Thread(target=self._watch, name="unjam-probe", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)
        if self._original is not None:
            asyncio.events.Handle._run = self._original  # type: ignore[method-assign]

    def _watch(self) -> None:
        # Sampled a poll early: a callback that ends between the threshold and the next
        # look has its stack already (and one that ends before the threshold is no stall).
        early = max(self.threshold - POLL_SECONDS, 0.0)
        while not self._stop.wait(POLL_SECONDS):
            now = time.perf_counter()
            for ident, entry in list(self._running.items()):
                if entry[1] is None and now - entry[0] >= early:
                    frame = sys._current_frames().get(ident)
                    if frame is not None:
                        entry[1] = [
                            (
                                summary.filename,
                                summary.lineno or 0,
                                summary.name,
                                summary.line or "",
                            )
                            for summary in traceback.extract_stack(frame)
                        ]
                        entry[2] = _request_of(frame)


def _request_of(frame: FrameType | None) -> str:
    """The request being served, from the ASGI ``scope`` an application frame holds
    (Starlette's and FastAPI's do): ``"GET /items/3"``; empty when there is none."""
    while frame is not None:
        scope = frame.f_locals.get("scope")
        if isinstance(scope, dict) and scope.get("type") == "http" and "path" in scope:
            return f"{scope.get('method', '')} {scope['path']}".strip()
        frame = frame.f_back
    return ""
