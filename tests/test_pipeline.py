"""The pipeline around the passes: order, verification, refresh, bad input, round trips.

The passes here exist only for these tests; each exercises one promise of the engine.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import libcst as cst
import pytest
from unjam.codemods import Codemod, Options, Safety, Site

import unjam.pipeline.runner
from tests.helpers import EveryModule, write_tree
from unjam.analysis.model import Location
from unjam.analysis.project import ModuleView
from unjam.pipeline.discovery import SourceFile, discover
from unjam.pipeline.runner import FileResult, Runner
from unjam.pipeline.verify import VerificationError


class RenameTarget(Codemod):
    """Renames functions called ``target`` to ``renamed``."""

    NAME = "rename-target"
    DESCRIPTION = "test pass"
    SAFETY = Safety.SAFE

    @classmethod
    def applies_to(cls, view: ModuleView) -> bool:
        return any(plan.facts.name == "target" for plan in view.functions.values())

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        if original_node.name.value != "target":
            return updated_node
        return updated_node.with_changes(name=cst.Name("renamed"))


class SeesRename(Codemod):
    """Records which function names its view holds (after RenameTarget ran)."""

    NAME = "sees-rename"
    DESCRIPTION = "test pass"
    SAFETY = Safety.SAFE
    seen: ClassVar[list[set[str]]] = []

    @classmethod
    def applies_to(cls, view: ModuleView) -> bool:
        cls.seen.append({plan.facts.name for plan in view.functions.values()})
        return False


class Breaks(EveryModule):
    """Writes code Python cannot compile."""

    NAME = "breaks"

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        return updated_node.with_changes(
            body=[*updated_node.body, cst.SimpleStatementLine([cst.Return()])]
        )


class Raises(EveryModule):
    NAME = "raises"

    def visit_Module(self, node: cst.Module) -> None:
        raise RuntimeError("boom")


SOURCE = "import time\n\nasync def target():\n    time.sleep(1)  # keep me\n"


def _run(
    root: Path, passes: tuple[type[Codemod], ...], jobs: int = 1
) -> tuple[list[FileResult], list[str]]:
    runner = Runner(passes, jobs=jobs, base=root)
    analysis = runner.analyse(discover([root], base=root).files)
    results = runner.transform(analysis)
    return results, analysis.errors


def test_pass_output_replaces_the_file_and_keeps_everything_else(tmp_path: Path) -> None:
    write_tree(tmp_path, {"m.py": SOURCE})
    [result], errors = _run(tmp_path, (RenameTarget,))
    assert errors == [] and result.error is None
    assert result.after == SOURCE.replace("def target", "def renamed").encode()


def test_next_pass_sees_analysis_of_the_rewritten_module(tmp_path: Path) -> None:
    write_tree(tmp_path, {"m.py": SOURCE})
    SeesRename.seen.clear()
    _run(tmp_path, (RenameTarget, SeesRename))
    # Once while planning which files to rewrite, once inside the worker after the rename.
    assert SeesRename.seen[-1] == {"renamed"}


def test_pass_writing_invalid_code_is_reported_and_file_left_alone(tmp_path: Path) -> None:
    write_tree(tmp_path, {"m.py": SOURCE})
    [result], _ = _run(tmp_path, (RenameTarget, Breaks))
    assert result.after is None
    assert result.error is not None
    assert result.error.startswith("m.py: breaks produced invalid code (does not compile")


def test_pass_that_raises_is_reported_and_run_continues(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.py": SOURCE, "b.py": SOURCE})
    results, _ = _run(tmp_path, (Raises,))
    assert sorted(r.error for r in results if r.error) == [
        "a.py: raises failed: RuntimeError: boom",
        "b.py: raises failed: RuntimeError: boom",
    ]
    assert all(r.after is None for r in results)


def test_parallel_and_serial_runs_agree(tmp_path: Path) -> None:
    write_tree(tmp_path, {f"m{i}.py": SOURCE for i in range(12)})
    serial, _ = _run(tmp_path, (RenameTarget,), jobs=1)
    parallel, _ = _run(tmp_path, (RenameTarget,), jobs=2)
    assert [(r.shown, r.after) for r in serial] == [(r.shown, r.after) for r in parallel]


@pytest.mark.parametrize(
    "raw",
    [
        SOURCE.replace("\n", "\r\n").encode(),
        ("# -*- coding: latin-1 -*-\n" + SOURCE + "NAME = 'café'\n").encode("latin-1"),
        b"\xef\xbb\xbf" + SOURCE.encode(),
        SOURCE.rstrip("\n").encode(),
        ("\t" + "\n").join(["", SOURCE]).encode(),
    ],
    ids=["crlf", "latin-1 cookie", "utf-8 bom", "no final newline", "odd whitespace"],
)
def test_round_trip_keeps_bytes_outside_the_rewrite(tmp_path: Path, raw: bytes) -> None:
    (tmp_path / "m.py").write_bytes(raw)
    (tmp_path / "untouched.py").write_bytes(raw.replace(b"target", b"other"))
    results, errors = _run(tmp_path, (RenameTarget,))
    assert errors == []
    by_name = {r.shown: r for r in results}
    assert by_name["m.py"].after == raw.replace(b"def target", b"def renamed")
    assert "untouched.py" not in by_name or by_name["untouched.py"].after is None


def _analyse_files(root: Path, files: list[SourceFile], use_prefilter: bool = False) -> list[str]:
    runner = Runner((), jobs=1, base=root, use_prefilter=use_prefilter)
    analysis = runner.analyse(files)
    assert "good.py" in analysis.project.modules, "the rest must still be processed"
    return analysis.errors


@pytest.mark.parametrize("use_prefilter", [False, True], ids=["parsed", "pre-filtered"])
def test_bad_input_gets_one_line_each_and_the_rest_is_processed(
    tmp_path: Path, use_prefilter: bool
) -> None:
    write_tree(tmp_path, {"good.py": SOURCE, "syntax.py": "def broken(:\n    pass\n"})
    (tmp_path / "undecodable.py").write_bytes(b"x = '\xff\xfe\xfa'\n")
    (tmp_path / "binary.py").write_bytes(b"\x00\x01\x02import os\n")
    (tmp_path / "loop_a.py").symlink_to(tmp_path / "loop_b.py")
    (tmp_path / "loop_b.py").symlink_to(tmp_path / "loop_a.py")
    files = list(discover([tmp_path], base=tmp_path).files)
    files.append(SourceFile(tmp_path / "vanished.py", "vanished", ""))
    errors = _analyse_files(tmp_path, files, use_prefilter)
    assert sorted(errors) == [
        "binary.py: binary file (NUL byte), not Python source",
        "loop_a.py: symlink loop",
        "loop_b.py: symlink loop",
        "syntax.py: syntax error at 1:12: invalid syntax",
        "undecodable.py: cannot decode: invalid or missing encoding declaration",
        "vanished.py: file vanished before it could be read",
    ]
    assert all("\n" not in error for error in errors)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests run as root in CI, where chmod 000 does not stop a read: fake the refusal.
    write_tree(tmp_path, {"good.py": SOURCE, "secret.py": SOURCE})
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "secret.py":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    errors = _analyse_files(tmp_path, list(discover([tmp_path], base=tmp_path).files))
    assert errors == ["secret.py: permission denied"]


@pytest.mark.skipif(os.geteuid() != 0, reason="checks the root case only")
def test_root_can_still_read_chmod_000(tmp_path: Path) -> None:
    # Documents why test_unreadable_file fakes the error instead of using chmod.
    path = tmp_path / "m.py"
    path.write_text("x = 1\n")
    path.chmod(0)
    assert path.read_bytes() == b"x = 1\n"


def _check(root: Path, passes: tuple[type[Codemod], ...]) -> list[FileResult]:
    runner = Runner(passes, jobs=1, base=root)
    return runner.check(runner.analyse(discover([root], base=root).files))


class ToldFromView(EveryModule):
    """Reports one site from the view alone, counting how often it is asked."""

    NAME = "told-from-view"
    asked: ClassVar[list[str]] = []

    @classmethod
    def sites_from_view(cls, view: ModuleView, options: Options) -> list[Site] | None:
        cls.asked.append(view.path)
        return [Site(cls.NAME, Location(1, 1), "told", fixed=False)]


def test_check_asks_no_pass_after_one_that_must_run(tmp_path: Path) -> None:
    """The module is rewritten anyway once RenameTarget must run: the rewrite asks the
    later pass for its sites, and ``check`` does not ask it beforehand too."""
    write_tree(tmp_path, {"m.py": SOURCE})
    ToldFromView.asked.clear()
    [checked] = _check(tmp_path, (RenameTarget, ToldFromView))
    assert ToldFromView.asked == ["m.py"]
    assert "told" in [site.message for site in checked.sites]
    ToldFromView.asked.clear()
    [static] = _check(tmp_path, (ToldFromView,))  # nothing must run: told from the view
    assert ToldFromView.asked == ["m.py"] and static.after is None
    assert [site.message for site in static.sites] == ["told"]


@pytest.mark.parametrize(
    "passes",
    [(Breaks,), (RenameTarget, Breaks), (Breaks, RenameTarget)],
    ids=["alone", "last", "first"],
)
def test_check_reports_a_last_rewrite_that_does_not_compile(
    tmp_path: Path, passes: tuple[type[Codemod], ...]
) -> None:
    write_tree(tmp_path, {"m.py": SOURCE})
    [result] = _check(tmp_path, passes)
    assert result.error is not None
    assert result.error.startswith("m.py: breaks produced invalid code (does not compile")


def _count_reparses(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The code libcst re-parses from here on, in order."""
    reparsed: list[bytes] = []
    real_reparse = unjam.pipeline.runner.reparse

    def counting_reparse(data: bytes) -> cst.Module:
        reparsed.append(data)
        return real_reparse(data)

    monkeypatch.setattr(unjam.pipeline.runner, "reparse", counting_reparse)
    return reparsed


class NamesDefinitions(EveryModule):
    """Reports the name of every function in the tree it walks."""

    NAME = "names-definitions"

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.report(Location(1, 0), node.name.value, False)


def test_check_walks_a_passs_own_tree_instead_of_parsing_its_code_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``check`` writes nothing: each rewrite is compiled, and the next pass walks (and
    the analysis reads) the tree the pass returned, not a parse of its code."""
    write_tree(tmp_path, {"m.py": SOURCE})
    reparsed = _count_reparses(monkeypatch)
    SeesRename.seen.clear()
    [checked] = _check(tmp_path, (RenameTarget, SeesRename, NamesDefinitions))
    assert checked.error is None and reparsed == []
    assert "renamed" in SeesRename.seen[-1] and "target" not in SeesRename.seen[-1]
    assert "renamed" in [site.message for site in checked.sites]
    [rewritten], _ = _run(tmp_path, (RenameTarget, NamesDefinitions))  # diff parses again
    assert rewritten.after is not None and reparsed == [rewritten.after]


def test_a_file_this_python_cannot_compile_is_checked_by_libcsts_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Newer syntax than the running Python: neither the file nor its rewrite compiles
    here, so libcst's re-parse is the check, in ``check`` for the last rewrite too."""
    write_tree(tmp_path, {"m.py": SOURCE})

    def cannot_compile(data: bytes, shown: str, parse: bool = True) -> None:
        raise VerificationError("does not compile at line 1: newer syntax")

    monkeypatch.setattr(unjam.pipeline.runner, "compiles", cannot_compile)
    monkeypatch.setattr(unjam.pipeline.runner, "_cpython_positions", lambda job: None)
    reparsed = _count_reparses(monkeypatch)
    [rewritten], _ = _run(tmp_path, (RenameTarget,))
    assert rewritten.error is None
    assert rewritten.after == SOURCE.replace("def target", "def renamed").encode()
    [checked] = _check(tmp_path, (RenameTarget,))
    assert checked.error is None
    assert reparsed == [rewritten.after, rewritten.after]


def test_line_ranges_in_messages_are_the_users_lines(tmp_path: Path) -> None:
    """gather-awaits runs after offload-blocking added ``import anyio``: the lines its
    message names ("lines 14-15") are those of the file the user has."""
    from unjam.codemods.gather_awaits import GatherAwaits
    from unjam.codemods.offload_blocking import OffloadBlocking

    write_tree(
        tmp_path,
        {
            "app.py": (
                "import time\n\nimport httpx\nfrom fastapi import FastAPI\n\napp = FastAPI()\n"
                '\n\n@app.get("/both")\nasync def both() -> dict:\n    time.sleep(0)\n'
                "    async with httpx.AsyncClient() as client:\n"
                '        first = await client.get("http://a.internal/")\n'
                '        second = await client.get("http://b.internal/")\n'
                "    return {}\n"
            )
        },
    )
    [checked] = _check(tmp_path, (OffloadBlocking, GatherAwaits))
    [gathered] = [site for site in checked.sites if site.codemod == "gather-awaits"]
    assert gathered.location.line == 13
    assert "(lines 13-14)" in gathered.message


def test_paths_that_cannot_be_read_are_one_line_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A symlink loop given as a path, a link to nothing: a line each, exit 2, and the
    other paths are checked."""
    from typer.testing import CliRunner

    from unjam.cli import app

    (tmp_path / "loop_a").symlink_to(tmp_path / "loop_b")
    (tmp_path / "loop_b").symlink_to(tmp_path / "loop_a")
    (tmp_path / "gone.py").symlink_to(tmp_path / "nothing.py")
    (tmp_path / "ok.py").write_text(DEEP_ROUTE.format(expression="1"))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["check", "loop_a", "gone.py", "ok.py", "--jobs", "1"])
    assert result.exit_code == 2
    assert "loop_a: symlink loop" in result.stderr
    assert "gone.py: broken symlink (to " in result.stderr
    assert "ok.py:" in result.stdout
    assert result.exception is None or isinstance(result.exception, SystemExit)


DEEP_ROUTE = """\
import time
from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def index() -> int:
    time.sleep(0.01)
    return {expression}
"""


@pytest.mark.parametrize(
    ("name", "code", "reason"),
    [
        ("chain.py", "x = a" + ".b" * 3000 + "\n", "too deeply nested for Python's parser"),
        ("sum.py", "x = " + " + ".join(["1"] * 20000) + "\n", "too deeply nested"),
        ("parens.py", "x = " + "(" * 210 + "1" + ")" * 210 + "\n", "too many nested parentheses"),
        ("nul.py", "x = 1\n" + "#" * 9000 + "\n\x00\n", "null bytes"),
        # a file CPython cannot parse goes to libcst's parser (newer syntax): not this one
        ("newer.py", "x: int = " + " + ".join(["1"] * 3000) + " $\n", "too deeply nested"),
    ],
)
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_deep_or_unparseable_files_are_one_line_and_the_rest_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, code: str, reason: str, jobs: str
) -> None:
    from typer.testing import CliRunner

    from unjam.cli import app

    (tmp_path / name).write_text(code)
    (tmp_path / "ok.py").write_text(DEEP_ROUTE.format(expression="1"))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["check", ".", "--jobs", jobs])
    assert result.exit_code == 2, result.stderr
    line = next(line for line in result.stderr.splitlines() if line.startswith(f"{name}:"))
    assert reason in line
    assert "ok.py:" in result.stdout  # every other file is still reported
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_folder_that_cannot_be_listed_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its files would otherwise be missed without a word (and the exit code would
    say nothing was wrong)."""
    from typer.testing import CliRunner

    from unjam.cli import app

    (tmp_path / "ok.py").write_text(DEEP_ROUTE.format(expression="1"))
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "hidden.py").write_text(DEEP_ROUTE.format(expression="2"))
    real_scandir = os.scandir

    def scandir(path: object = ".") -> object:
        if Path(str(path)).name == "secret":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["check", ".", "--jobs", "1"])
    assert result.exit_code == 2
    assert "secret: cannot list the folder (permission denied)" in result.stderr
    assert "ok.py:" in result.stdout


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_named_pipe_called_py_is_one_line_not_a_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from unjam.cli import app

    os.mkfifo(tmp_path / "pipe.py")
    (tmp_path / "ok.py").write_text(DEEP_ROUTE.format(expression="1"))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["check", ".", "--jobs", "1"])
    assert result.exit_code == 2
    assert "pipe.py: not a regular file" in result.stderr
    assert "ok.py:" in result.stdout
