"""Random coroutines behave the same before and after offload-blocking (see
``tests/differential.py``). CI runs a few hundred cases on seeds that change every
run; ``python bench/differential.py`` runs thousands. A failure prints the seed:
``UNJAM_DIFFERENTIAL_SEED=<seed>`` replays it."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tests.differential import differences

CASES_PER_MODULE = 50
MODULES = 6


@pytest.mark.parametrize("batch", range(MODULES))
def test_random_coroutines_behave_the_same_after_the_rewrite(batch: int, tmp_path: Path) -> None:
    """A new seed every run (the worker processes must collect the same tests, so the
    seed is drawn here, not in the parametrisation)."""
    fixed = os.environ.get("UNJAM_DIFFERENTIAL_SEED")
    seed = int(fixed) if fixed else random.randrange(1 << 30)
    changed, moved = differences(seed, CASES_PER_MODULE, tmp_path)
    assert changed == [], f"seed {seed}: {changed[:3]} (see {tmp_path})"
    assert moved > 0, f"seed {seed}: no with block moved, so nothing was tested"


def test_a_seed_the_old_extraction_failed_on(tmp_path: Path) -> None:
    """Seed 3 holds shapes that broke the extraction before (3 of its 50 cases changed
    behaviour): a name the block binds before reading it, passed in while unbound on a
    loop's first turn, and a write to a ``nonlocal`` name, lost. Fixed, so that the
    test cannot pass by chance."""
    from tests.differential import module

    code = module(3, CASES_PER_MODULE)
    assert "nonlocal" in code and "global" in code
    changed, moved = differences(3, CASES_PER_MODULE, tmp_path)
    assert changed == [] and moved >= 10
