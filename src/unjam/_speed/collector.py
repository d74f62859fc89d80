"""The garbage collector's thresholds while unjam works (see ``COLLECTOR_THRESHOLDS``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: CPython collects its youngest objects every 700 allocations and all of them every
#: hundred collections of those. A run makes millions of short-lived libcst nodes while
#: trees, facts and the project stay alive, and the full collections, each walking every
#: live object, took an eighth of ``check`` (3.7 s of GC in 22 s on the 1,000-module bench
#: tree, one job). With these, 0.9 s, and the same peak memory: the cycles libcst leaves
#: (visitors holding their own bound methods) are still collected, later.
COLLECTOR_THRESHOLDS = (10_000, 20, 20)


@contextmanager
def collector_tuned() -> Iterator[None]:
    """The garbage collector set for a run (workers forked inside keep the setting)."""
    before = gc.get_threshold()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
