"""Benchmark ``unjam check`` against a libcst parse-only baseline and ruff, in one run.

    python bench/run.py [--packages 20] [--modules 100] [--jobs N] [--repeat R]

Prints wall time, CPU time (the process and every worker it reaped) and peak memory
(the largest sum of resident memory over the process tree, sampled every 20 ms) for
each command, and the ratios to the baseline measured in the same run. With
``--repeat``, the commands run in turn R times and each one's fastest run counts (on a
shared VM a slow spell can last minutes and hit one command but not the next).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synthetic import generate  # noqa: E402


@dataclass
class Measure:
    name: str
    wall: float
    cpu: float
    peak_mb: float
    exit_code: int


def _tree_rss_kb(root_pid: int) -> int:
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as fh:
                fields = dict(line.split(":", 1) for line in fh if ":" in line)
        except OSError:
            continue
        pid = int(entry)
        ppid = int(fields.get("PPid", "0").strip() or 0)
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) if "VmRSS" in fields else 0
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def measure(name: str, command: list[str], cwd: Path) -> Measure:
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kb(process.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.returncode not in (0, 1):
        print(f"{name} failed ({process.returncode}):\n{stderr}", file=sys.stderr)
    cpu = usage.ru_utime + usage.ru_stime
    peak_mb = max(peak, usage.ru_maxrss) / 1024
    return Measure(name, wall, cpu, peak_mb, process.returncode)


def parse_baseline(tree: Path, cwd: Path) -> Measure:
    """libcst parsing every file of ``tree`` in one process: the unit of the ratios."""
    code = (
        f"import sys; sys.path.insert(0, {str(HERE)!r}); "
        "from synthetic import parse_only; from pathlib import Path; "
        f"parse_only(Path({str(tree)!r}))"
    )
    return measure("libcst parse only (1 process)", [sys.executable, "-c", code], cwd)


def _round(tree: Path, work: Path, python: str, jobs: int, ruff: str | None) -> list[Measure]:
    """Each command once: the baseline, unjam with ``jobs`` and with one job, ruff."""
    runs = [parse_baseline(tree, work)]
    for count in (jobs, 1):
        command = [python, "-m", "unjam", "check", str(tree), "--jobs", str(count)]
        runs.append(measure(f"unjam check --jobs {count}", command, work))
    if ruff:
        command = [ruff, "check", "--select", "ASYNC", "--no-cache", "--exit-zero", str(tree)]
        runs.append(measure("ruff check --select ASYNC", command, work))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packages", type=int, default=20)
    parser.add_argument("--modules", type=int, default=100, help="modules per package")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--keep", type=Path, help="write the tree here and keep it")
    parser.add_argument("--repeat", type=int, default=1, help="rounds; the fastest counts")
    parser.add_argument(
        "--tree",
        type=Path,
        help="measure this project (a copy of it) instead of the synthetic tree",
    )
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="unjam-bench-"))
    tree = work / "tree"
    if tree.exists():
        shutil.rmtree(tree)
    if args.tree is not None:
        shutil.copytree(args.tree, tree, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        count = sum(1 for _ in tree.rglob("*.py"))
        size = sum(p.stat().st_size for p in tree.rglob("*.py"))
        print(f"tree: {args.tree.name}, {count} modules, {size / 1e6:.1f} MB")
    else:
        count = generate(tree, args.packages, args.modules)
        size = sum(p.stat().st_size for p in tree.rglob("*.py"))
        print(f"tree: {count} modules in {args.packages} packages, {size / 1e6:.1f} MB")

    python = sys.executable
    ruff = shutil.which("ruff", path=str(Path(python).parent)) or shutil.which("ruff")
    if not ruff:
        print("ruff not found: skipped", file=sys.stderr)
    rounds = [_round(tree, work, python, args.jobs, ruff) for _ in range(max(1, args.repeat))]
    runs = [min(measures, key=lambda run: run.cpu) for measures in zip(*rounds, strict=True)]
    baseline = runs[0]
    if len(rounds) > 1:
        for measures in zip(*rounds, strict=True):
            each = ", ".join(f"{run.cpu:.1f}" for run in measures)
            print(f"{measures[0].name:38} cpu s per round: {each}")
        # Within a round the commands ran minutes apart at most: its ratios are the
        # ones a slow spell of the machine distorts least.
        for index in range(1, len(runs)):
            each = ", ".join(f"{r[index].wall / r[0].wall:.3f}" for r in rounds)
            print(f"{runs[index].name:38} wall/base per round: {each}")

    print(
        f"{'command':38} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} "
        f"{'wall/base':>10} {'cpu/base':>9}"
    )
    for run in runs:
        print(
            f"{run.name:38} {run.wall:8.2f} {run.cpu:8.2f} {run.peak_mb:8.0f} "
            f"{run.wall / baseline.wall:10.3f} {run.cpu / baseline.cpu:9.3f}"
        )
    if ruff:
        unjam = runs[1]
        print(f"unjam/ruff wall ratio: {unjam.wall / runs[-1].wall:.1f}x")
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
