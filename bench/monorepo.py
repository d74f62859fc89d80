"""Benchmark a whole-monorepo migration: ``unjam diff`` and ``unjam apply`` on a synthetic
git repository of services, with ``--jobs 1`` and ``--jobs 2``, in one run.

    python bench/monorepo.py [--packages 20] [--modules 100]

Each ``apply`` starts from the same clean ``main`` (the branch it made is deleted in
between). Prints wall time, CPU time and peak memory of the process tree, and the ratio
to a libcst parse-only baseline of the same tree measured in the same run.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import Measure, measure, parse_baseline  # noqa: E402
from synthetic import generate  # noqa: E402


def git(tree: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=tree, check=True, capture_output=True, text=True
    ).stdout


def make_repository(tree: Path) -> None:
    git(tree, "init", "-q", "--initial-branch", "main")
    git(tree, "config", "user.name", "Bench")
    git(tree, "config", "user.email", "bench@example.invalid")
    git(tree, "config", "commit.gpgsign", "false")
    git(tree, "add", "--all")
    git(tree, "commit", "-q", "-m", "synthetic monorepo")


def reset(tree: Path, branches: str) -> None:
    """Back to a clean main: the apply under test must not help the next one."""
    git(tree, "checkout", "-q", "main")
    made = git(tree, "for-each-ref", "--format=%(refname:short)", f"refs/heads/{branches}")
    for name in made.split():
        git(tree, "branch", "-q", "-D", name)
    if git(tree, "status", "--porcelain"):
        raise SystemExit("the tree is not clean after an apply run")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packages", type=int, default=20)
    parser.add_argument("--modules", type=int, default=100, help="modules per package")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="unjam-monorepo-"))
    tree = work / "tree"
    count = generate(tree, args.packages, args.modules, monorepo=True)
    make_repository(tree)
    print(f"monorepo: {count} modules in {args.packages} services, one git repository")

    python = sys.executable
    unjam = [python, "-m", "unjam"]
    runs: list[Measure] = [parse_baseline(tree, tree)]
    for jobs in ("1", "2"):
        runs.append(measure(f"unjam diff . --jobs {jobs}", [*unjam, "diff", ".", "-j", jobs], tree))
    for jobs in ("1", "2"):
        name = f"bench-{jobs}"
        command = [*unjam, "apply", ".", "--yes", "-j", jobs, "--branch", name]
        runs.append(measure(f"unjam apply . --jobs {jobs}", command, tree))
        commits = git(tree, "rev-list", "--count", f"main..{name}").strip()
        changed = len(git(tree, "diff", "--name-only", f"main...{name}").split())
        print(f"  apply --jobs {jobs}: {commits} commit(s), {changed} file(s) changed")
        reset(tree, name)
    command = [*unjam, "apply", ".", "--yes", "-j", "2", "--branch", "per", "--branch-per-package"]
    runs.append(measure("unjam apply . --branch-per-package -j 2", command, tree))
    branches = git(tree, "for-each-ref", "--format=%(refname:short)", "refs/heads/per/")
    print(f"  --branch-per-package: {len(branches.split())} branch(es)")
    reset(tree, "per/")
    for shard in ("1/4", "2/4"):
        command = [*unjam, "diff", ".", "-j", "2", "--shard", shard]
        runs.append(measure(f"unjam diff . --shard {shard} -j 2", command, tree))

    base = runs[0]
    print(f"{'command':42} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} {'wall/base':>10}")
    for run in runs:
        print(
            f"{run.name:42} {run.wall:8.2f} {run.cpu:8.2f} {run.peak_mb:8.0f} "
            f"{run.wall / base.wall:10.3f}"
        )
    failed = [run.name for run in runs[1:] if run.exit_code not in (0, 1)]
    shutil.rmtree(work)
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
