"""Run many random coroutines before and after offload-blocking and compare what they
return (see ``tests/differential.py``): ``python bench/differential.py [FIRST] [LAST]``
runs the seeds FIRST..LAST-1 (default 0..200: 10,000 cases) and prints each case whose
behaviour changed."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.differential import differences

CASES_PER_MODULE = 50


def main() -> None:
    first = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    last = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    started = time.perf_counter()
    cases = moved = 0
    changed = []
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(first, last):
            found, count = differences(seed, CASES_PER_MODULE, Path(folder) / str(seed))
            cases += CASES_PER_MODULE
            moved += count
            changed += [(seed, outcome) for outcome in found]
    for seed, outcome in changed:
        print(f"seed {seed} {outcome.case}: before {outcome.before}, after {outcome.after}")
    elapsed = time.perf_counter() - started
    print(f"{cases} cases, {moved} with blocks moved, {len(changed)} changed ({elapsed:.0f} s)")
    sys.exit(1 if changed else 0)


if __name__ == "__main__":
    main()
