"""What each patch of libcst's internals saves on a cold ``unjam check``.

    python bench/patches.py [--packages 20] [--modules 100] [--jobs N] [--repeat R]

Runs ``unjam check --no-cache`` on the synthetic tree with every patch on, then with
each one off (``UNJAM_SPEED_OFF``), in turn, R rounds; the fastest run of each counts.
Prints what each patch saves (CPU time without it, less with all on) as a share of the
run with all on: a patch that saves less than 5% goes (see ``unjam._speed``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import Measure, measure  # noqa: E402
from synthetic import generate  # noqa: E402

PATCHES = ("fastwalk", "plain_dispatch")
#: The share of a cold run a patch must save to stay.
KEEP_AT = 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packages", type=int, default=20)
    parser.add_argument("--modules", type=int, default=100, help="modules per package")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="unjam-patches-"))
    tree = work / "tree"
    count = generate(tree, args.packages, args.modules)
    print(f"tree: {count} modules; unjam check --no-cache --jobs {args.jobs}")
    command = [sys.executable, "-m", "unjam", "check", str(tree), "--no-cache"]
    command += ["--jobs", str(args.jobs)]
    settings = {"all on": "", **{f"{patch} off": patch for patch in PATCHES}}
    best: dict[str, Measure] = {}
    try:
        for _ in range(max(1, args.repeat)):
            for label, off in settings.items():
                os.environ["UNJAM_SPEED_OFF"] = off
                run = measure(label, command, work)
                if label not in best or run.cpu < best[label].cpu:
                    best[label] = run
    finally:
        os.environ.pop("UNJAM_SPEED_OFF", None)
        shutil.rmtree(work)
    base = best["all on"]
    print(f"{'setting':20} {'wall s':>8} {'cpu s':>8} {'saves':>7}  verdict")
    for label, run in best.items():
        saves = (run.cpu - base.cpu) / base.cpu if label != "all on" else 0.0
        verdict = "" if label == "all on" else ("keep" if saves >= KEEP_AT else "remove")
        print(f"{label:20} {run.wall:8.2f} {run.cpu:8.2f} {saves:7.1%}  {verdict}")


if __name__ == "__main__":
    main()
