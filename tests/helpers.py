"""Small builders shared by the tests: write a project to disk, analyse it."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from unjam.codemods import Codemod, Safety

from unjam.analysis.model import Effect, FunctionFacts, Kind
from unjam.analysis.project import ModuleView, Project
from unjam.pipeline.discovery import discover
from unjam.pipeline.runner import Analysis, Runner

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


class EveryModule(Codemod):
    """A pass for the tests that runs on every module the analysis read."""

    DESCRIPTION = "test pass"
    SAFETY = Safety.SAFE

    @classmethod
    def applies_to(cls, view: ModuleView) -> bool:
        return True


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def analyse(root: Path, use_prefilter: bool = True, **runner_options: object) -> Analysis:
    found = discover([root], base=root)
    runner = Runner((), jobs=1, base=root, use_prefilter=use_prefilter, **runner_options)  # type: ignore[arg-type]
    return runner.analyse(found.files)


def project_of(root: Path, files: dict[str, str], use_prefilter: bool = False) -> Project:
    """The analysed project. Without the pre-filter by default: these tests are about
    what the analysis concludes, and the pre-filter has its own soundness test."""
    analysis = analyse(write_tree(root, files), use_prefilter=use_prefilter)
    assert analysis.errors == []
    return analysis.project


def function(project: Project, qualname: str) -> FunctionFacts:
    assert qualname in project.functions, sorted(project.functions)
    return project.functions[qualname]


def blocking_names(project: Project, qualname: str) -> list[str]:
    function(project, qualname)
    return [effect.name for effect in project.blocking(qualname)]


def blocking(project: Project, qualname: str) -> list[Effect]:
    function(project, qualname)
    return list(project.blocking(qualname))


def kinds_of(project: Project, qualname: str) -> set[Kind]:
    return set(project.kinds().get(qualname, set()))


def rewritten_copy(source: Path, target: Path, passes: tuple[type[Codemod], ...]) -> list[str]:
    """Copy ``source`` to ``target`` and apply ``passes`` there; the changed files."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    runner = Runner(passes, jobs=1, base=target)
    analysis = runner.analyse(discover([target], base=target).files)
    assert analysis.errors == []
    changed = []
    for result in runner.transform(analysis):
        assert result.error is None, result.error
        if result.changed and result.after is not None:
            (target / result.shown).write_bytes(result.after)
            changed.append(result.shown)
    return changed


def ruff(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the ruff the tests installed, without its cache, in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def assert_formatted_in_a_function(statement: str, tmp_path: Path) -> None:
    """``statement`` (unindented lines) is what ruff format writes inside a function."""
    body = textwrap.indent(statement, "    ")
    (tmp_path / "m.py").write_text(f"async def f():\n{body}\n")
    checked = ruff("format", "--check", "--diff", "m.py", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout


def with_lines_at_top(
    data: bytes, function: ast.FunctionDef | ast.AsyncFunctionDef, *lines: str
) -> bytes | None:
    """``lines`` at the top of ``function``'s body (a node of CPython's parse of
    ``data``), indented as its first statement, with the file's line endings; None where
    that does not parse (a body on the ``def`` line, a first line inside brackets)."""
    first = function.body[0]
    if first.lineno == function.lineno:
        return None
    newline = b"\r\n" if b"\r\n" in data else b"\n"
    source = data.split(newline)
    inserted = [f"{' ' * first.col_offset}{line}".encode() for line in lines]
    changed = newline.join([*source[: first.lineno - 1], *inserted, *source[first.lineno - 1 :]])
    try:
        ast.parse(changed)
    except SyntaxError:
        return None
    return changed


@contextmanager
def inside(folder: Path) -> Iterator[None]:
    """``folder`` is the working folder for the block (Python 3.10 has no
    ``contextlib.chdir``)."""
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)
