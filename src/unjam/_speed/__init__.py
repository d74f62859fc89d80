"""Everything here exists only to make unjam faster; none of it changes a result.

- ``workers``: the process pool (tasks go back to the worker that kept their tree):
  a cold ``check`` of the bench tree takes 8.5 s with two, 14.1 s with one.
- ``pickling``: field-by-field pickling of the model's slotted dataclasses (the
  project to the workers: 0.38 s to pickle and 0.38 s to unpickle, then 0.19 and 0.24).
- ``collector``: the garbage collector's thresholds during a run (3.7 s of GC in a
  22 s ``check``, then 0.9 s).
- ``dispatch``: libcst's plain transformer dispatch for the passes instead of its
  matcher-decoratable one (cold ``check``: 14.2 s CPU with it, 16.1 s without).
- ``fastwalk``: walks of libcst trees that copy nothing they do not change, installed
  only while unjam walks, and only over the exact libcst code it replaces (a cold
  ``check`` of the 2,000-module bench tree: 13.9 s CPU with it, 38.3 s without).

A patch of libcst's internals must pay for itself: ``bench/patches.py`` runs a cold
``check`` with each one off (``UNJAM_SPEED_OFF``, for that bench only) and prints what
it saves; one that saves less than 5% of a cold run goes. Two went in Dec 2026:
skipping libcst's node checks in a parse of code CPython accepted (3.6%), and asking
the scope analysis' node-type question once per type (2.8% to 7.5% over four
measurements, 4.8% in the median).
"""

from __future__ import annotations

import functools
import os

#: Which patches to leave out, comma-separated (``bench/patches.py``).
OFF_VARIABLE = "UNJAM_SPEED_OFF"


@functools.cache
def enabled(piece: str) -> bool:
    """Whether the speed-up ``piece`` is on (all are, unless the bench says otherwise)."""
    return piece not in os.environ.get(OFF_VARIABLE, "").split(",")
