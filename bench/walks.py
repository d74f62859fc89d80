"""libcst's own traversal against ``unjam._speed.fastwalk``, in one run, on the synthetic tree.

    python bench/walks.py [--packages 4] [--modules 50] [--repeat 3]

For every module: a read-only visitor, libcst's scope analysis (ScopeProvider, the bulk
of unjam's analysis) and a transformer that renames one name in a few places, each
timed with libcst's walk and with the fast walk, interleaved so that machine drift hits
both alike. Prints CPU seconds and the fast/libcst ratio (lower is better) next to the
parse of the same modules, and checks that both walks built the same trees.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, ScopeProvider

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synthetic import generate  # noqa: E402

from unjam._speed.fastwalk import fast_walks  # noqa: E402


class _Count(cst.CSTVisitor):
    def __init__(self) -> None:
        self.nodes = 0

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.nodes += 1
        return True


class _RenameHelpers(cst.CSTTransformer):
    """Touches a few places per module, like a codemod: every ``load_settings``."""

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if original_node.value == "load_settings":
            return updated_node.with_changes(value="load_settings_async")
        return updated_node


def _visit(module: cst.Module) -> object:
    module.visit(_Count())
    return None


def _scopes(module: cst.Module) -> object:
    MetadataWrapper(module, unsafe_skip_copy=True).resolve(ScopeProvider)
    return None


def _rewrite(module: cst.Module) -> object:
    return module.visit(_RenameHelpers()).code


def _timed(work: Callable[..., list[object]], fast: bool) -> tuple[float, list[object]]:
    start = time.process_time()
    if fast:
        with fast_walks():
            result = work()
    else:
        result = work()
    return time.process_time() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packages", type=int, default=4)
    parser.add_argument("--modules", type=int, default=50, help="modules per package")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    work_dir = Path(tempfile.mkdtemp(prefix="unjam-walks-"))
    try:
        generate(work_dir / "tree", args.packages, args.modules)
        sources = [p.read_bytes() for p in sorted((work_dir / "tree").rglob("*.py"))]
    finally:
        shutil.rmtree(work_dir)
    start = time.process_time()
    modules = [cst.parse_module(source) for source in sources]
    parse = time.process_time() - start
    print(f"{len(modules)} modules; libcst parse of all: {parse:.2f} s CPU")
    with fast_walks():  # read libcst's field order once, outside the timings
        pass

    print(f"{'walk':34} {'libcst s':>9} {'fast s':>8} {'fast/libcst':>12} {'fast/parse':>11}")
    for name, one in (
        ("read-only visitor", _visit),
        ("ScopeProvider", _scopes),
        ("transformer", _rewrite),
    ):
        totals = {False: 0.0, True: 0.0}
        outputs: dict[bool, list[object]] = {}
        for _ in range(args.repeat):
            for fast in (False, True):
                seconds, outputs[fast] = _timed(lambda one=one: [one(m) for m in modules], fast)
                totals[fast] += seconds
        if outputs[False] != outputs[True]:
            raise SystemExit(f"{name}: the fast walk produced different results")
        libcst_s, fast_s = totals[False] / args.repeat, totals[True] / args.repeat
        print(
            f"{name:34} {libcst_s:9.2f} {fast_s:8.2f} {fast_s / libcst_s:12.2f} "
            f"{fast_s / parse:11.2f}"
        )


if __name__ == "__main__":
    main()
