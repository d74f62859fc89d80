"""Benchmark ``unjam check`` against a libcst parse-only baseline and ruff, in one run.

    python bench/run.py [--packages 20] [--modules 100] [--jobs N] [--repeat R]

Rows: unjam cold without the cache, cold with an empty cache (and the cache's size on
disk after it), warm (nothing changed), after one module was edited; ruff cold, warm
and after the same edit. Prints wall time, CPU time (the process and every worker it
reaped) and peak memory (the largest sum of resident memory over the process tree,
sampled every 20 ms) for each command, and the ratios to the baseline measured in the
same run: libcst parsing every file in as many processes as the command uses. With
``--repeat``, the commands run in turn R times and each one's fastest run counts (on a
shared VM a slow spell can last minutes and hit one command but not the next).
"""

from __future__ import annotations

import argparse
import ast
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


def parse_baseline(tree: Path, cwd: Path, processes: int) -> Measure:
    """libcst parsing every file of ``tree`` in ``processes`` processes: the unit of the
    ratios of unjam run with as many."""
    code = (
        f"import sys; sys.path.insert(0, {str(HERE)!r}); "
        "from synthetic import parse_only; from pathlib import Path; "
        f"parse_only(Path({str(tree)!r}), {processes})"
    )
    label = "process" if processes == 1 else "processes"
    return measure(f"libcst parse only ({processes} {label})", [sys.executable, "-c", code], cwd)


def edit_one_module(tree: Path, number: int) -> tuple[Path, bytes]:
    """A blocking call added at the top of the first ``async def`` of the largest module
    that has one (every later line moves): what a developer's edit looks like. Returns
    the file and its bytes before."""
    candidates = sorted(tree.rglob("*.py"), key=lambda path: (-path.stat().st_size, str(path)))
    for path in candidates:
        before = path.read_bytes()
        try:
            module = ast.parse(before)
        except SyntaxError:
            continue
        function = next(
            (node for node in ast.walk(module) if isinstance(node, ast.AsyncFunctionDef)), None
        )
        if function is None:
            continue
        lines = before.decode("utf-8", "surrogateescape").splitlines(keepends=True)
        first = function.body[0]
        indent = " " * first.col_offset
        lines.insert(first.lineno - 1, f"{indent}open('bench-{number}.txt').read()\n")
        path.write_bytes("".join(lines).encode("utf-8", "surrogateescape"))
        return path, before
    raise SystemExit(f"{tree}: no module with an async def to edit")


def cache_megabytes(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


@dataclass
class Round:
    measures: list[Measure]
    cache_mb: float


def _round(tree: Path, work: Path, python: str, jobs: int, ruff: str | None, number: int) -> Round:
    """Each command once. unjam: with ``jobs`` cold without the cache, cold with an
    empty cache, warm, after one module was edited; with one job cold; ruff the same
    way (its own cache)."""
    cache = work / "unjam-cache"
    unjam = [python, "-m", "unjam", "check", str(tree), "--cache-dir", str(cache)]
    runs = [parse_baseline(tree, work, jobs), parse_baseline(tree, work, 1)]
    runs.append(
        measure(
            f"unjam --jobs {jobs} --no-cache", [*unjam, "--jobs", str(jobs), "--no-cache"], work
        )
    )
    shutil.rmtree(cache, ignore_errors=True)
    runs.append(measure(f"unjam --jobs {jobs} cold", [*unjam, "--jobs", str(jobs)], work))
    size = cache_megabytes(cache)
    runs.append(measure(f"unjam --jobs {jobs} warm", [*unjam, "--jobs", str(jobs)], work))
    edited, before = edit_one_module(tree, number)
    try:
        runs.append(measure(f"unjam --jobs {jobs} one edit", [*unjam, "--jobs", str(jobs)], work))
    finally:
        edited.write_bytes(before)
    runs.append(measure("unjam --jobs 1 --no-cache", [*unjam, "--jobs", "1", "--no-cache"], work))
    if ruff:
        lint = [ruff, "check", "--select", "ASYNC", "--exit-zero", str(tree)]
        runs.append(measure("ruff --select ASYNC --no-cache", [*lint, "--no-cache"], work))
        shutil.rmtree(tree / ".ruff_cache", ignore_errors=True)
        measure("ruff (filling its cache)", lint, work)
        runs.append(measure("ruff --select ASYNC warm", lint, work))
        edited, before = edit_one_module(tree, number)
        try:
            runs.append(measure("ruff --select ASYNC one edit", lint, work))
        finally:
            edited.write_bytes(before)
    return Round(runs, size)


#: Each row's baseline: the parse in as many processes as the row's command uses.
def _baseline_of(name: str, runs: list[Measure]) -> Measure:
    return runs[1] if "--jobs 1" in name or name.startswith("libcst parse only (1") else runs[0]


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
    os.environ.pop("UNJAM_NO_CACHE", None)
    os.environ.pop("UNJAM_CACHE_DIR", None)

    python = sys.executable
    ruff = shutil.which("ruff", path=str(Path(python).parent)) or shutil.which("ruff")
    if not ruff:
        print("ruff not found: skipped", file=sys.stderr)
    rounds = [
        _round(tree, work, python, args.jobs, ruff, number) for number in range(max(1, args.repeat))
    ]
    runs = [
        min(measures, key=lambda run: run.cpu)
        for measures in zip(*(r.measures for r in rounds), strict=True)
    ]
    if len(rounds) > 1:
        for measures in zip(*(r.measures for r in rounds), strict=True):
            each = ", ".join(f"{run.cpu:.2f}" for run in measures)
            print(f"{measures[0].name:34} cpu s per round: {each}")
        # Within a round the commands ran minutes apart at most: its ratios are the
        # ones a slow spell of the machine distorts least.
        for index in range(2, len(runs)):
            each = ", ".join(
                f"{r.measures[index].wall / _baseline_of(runs[index].name, r.measures).wall:.3f}"
                for r in rounds
            )
            print(f"{runs[index].name:34} wall/base per round: {each}")

    print(
        f"{'command':34} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} "
        f"{'wall/base':>10} {'cpu/base':>9}"
    )
    for run in runs:
        base = _baseline_of(run.name, runs)
        print(
            f"{run.name:34} {run.wall:8.2f} {run.cpu:8.2f} {run.peak_mb:8.0f} "
            f"{run.wall / base.wall:10.3f} {run.cpu / base.cpu:9.3f}"
        )
    print(f"cache on disk after a cold run: {min(r.cache_mb for r in rounds):.1f} MB")
    if ruff:
        by_name = {run.name: run for run in runs}
        for unjam_row, ruff_row in (
            (f"unjam --jobs {args.jobs} cold", "ruff --select ASYNC --no-cache"),
            (f"unjam --jobs {args.jobs} warm", "ruff --select ASYNC warm"),
            (f"unjam --jobs {args.jobs} one edit", "ruff --select ASYNC one edit"),
        ):
            ratio = by_name[unjam_row].wall / by_name[ruff_row].wall
            print(f"unjam/ruff wall, {unjam_row.rsplit(' ', 1)[-1]:>4}: {ratio:.1f}x")
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
