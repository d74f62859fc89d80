"""Every pass against its fixtures: whole files compared, before and after.

``fixtures/<pass>/<case>.input.py`` (+ ``<case>.expected.py``) is a one-module project;
``fixtures/<pass>/<case>/`` holds a project whose files end in ``.input.py`` (and
``.expected.py`` for the ones that change). No expected file: the pass must leave the
input byte-identical. Each case also checks that a second run changes nothing.
"""

from __future__ import annotations

import ast
import difflib
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from unjam.codemods import PASSES, Codemod, Options, by_name

from tests.helpers import FIXTURES
from unjam.config import load_config
from unjam.pipeline.discovery import discover
from unjam.pipeline.runner import FileResult, Runner

INPUT, EXPECTED = ".input.py", ".expected.py"


@dataclass(frozen=True)
class Case:
    codemod: type[Codemod]
    root: Path  # a file (single-module case) or a folder
    name: str

    def files(self) -> dict[str, Path]:
        """Project-relative path -> input file."""
        if self.root.is_file():
            return {self.name + ".py": self.root}
        return {
            str(path.relative_to(self.root))[: -len(INPUT)] + ".py": path
            for path in sorted(self.root.rglob("*" + INPUT))
        }

    def copy_to(self, root: Path) -> dict[str, Path]:
        """Write the case's project (inputs under their module names, and a folder
        case's pyproject.toml) into ``root``; returns ``files()``."""
        files = self.files()
        if self.root.is_dir() and (self.root / "pyproject.toml").is_file():
            shutil.copyfile(self.root / "pyproject.toml", root / "pyproject.toml")
        for relative, source in files.items():
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        return files

    def expected(self, relative: str, source: Path) -> bytes:
        twin = source.with_name(source.name[: -len(INPUT)] + EXPECTED)
        return twin.read_bytes() if twin.exists() else source.read_bytes()


def _cases() -> list[Case]:
    cases = []
    for codemod in PASSES:
        folder = FIXTURES / codemod.NAME.replace("-", "_")
        for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
            if entry.is_dir():
                cases.append(Case(codemod, entry, entry.name))
            elif entry.name.endswith(INPUT):
                cases.append(Case(codemod, entry, entry.name[: -len(INPUT)]))
    return cases


CASES = _cases()


def _options(root: Path) -> Options:
    """A folder case may carry a ``pyproject.toml`` with ``[tool.unjam]`` options."""
    config = load_config(root / "pyproject.toml") if (root / "pyproject.toml").is_file() else None
    if config is None:
        return Options()
    return Options(
        unsafe_fixes=config.unsafe_fixes,
        http_client=config.http_client,
        httpx_default_timeout=config.httpx_default_timeout,
        gather_safe=config.gather_safe,
    )


def _run(
    codemod: type[Codemod], root: Path
) -> tuple[dict[str, bytes | None], dict[str, list[str]]]:
    runner = Runner((codemod,), _options(root), jobs=1, base=root)
    analysis = runner.analyse(discover([root], base=root).files)
    assert analysis.errors == []
    results = runner.transform(analysis)
    assert [r.error for r in results if r.error] == []
    assert _sites(runner.check(analysis)) == _sites(results), "check must match the rewrite"
    for result in results:
        _assert_sites_are_the_changes(result)
    messages = {r.shown: [site.message for site in r.sites] for r in results}
    return {r.shown: r.after for r in results}, messages


def _sites(results: list[FileResult]) -> set[tuple[object, ...]]:
    return {
        (r.shown, s.codemod, s.location, s.message, s.fixed, s.function)
        for r in results
        for s in r.sites
    }


def test_check_reports_what_the_rewrite_does_on_the_demo() -> None:
    demo = FIXTURES / "apps" / "demo"
    runner = Runner(PASSES, jobs=1, base=demo)
    analysis = runner.analyse(discover([demo], base=demo).files)
    rewritten = runner.transform(analysis)
    assert _sites(runner.check(analysis)) == _sites(rewritten)
    assert len(_sites(rewritten)) >= 6


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.codemod.NAME}/{c.name}")
def test_check_reports_what_every_pass_together_does(case: Case, tmp_path: Path) -> None:
    """With every pass selected, one after the other: ``check`` (which skips running a
    pass that can tell its sites and its effect on the view, such as demote-sync)
    reports exactly what the rewrite does."""
    case.copy_to(tmp_path)
    runner = Runner(PASSES, Options(unsafe_fixes=True), jobs=1, base=tmp_path)
    analysis = runner.analyse(discover([tmp_path], base=tmp_path).files)
    rewritten = runner.transform(analysis)
    assert _sites(runner.check(analysis)) == _sites(rewritten)
    for result in rewritten:
        _assert_sites_are_the_changes(result)


def _changed_regions(before: bytes, after: bytes) -> list[tuple[int, int]]:
    """The user's lines a rewrite replaced, as (first, last), each widened to the simple
    statements it touches (a call written over several lines changes on some of them);
    an insertion between lines counts as the line after it, and reaches the lines whose
    text it moved there (a helper defined before a loop takes the block from inside
    it). Changed imports and blank lines are not a change of the user's code."""
    old = before.decode().splitlines()
    new = after.decode().splitlines()
    spans = []  # simple statements, and the headers of compound ones
    for node in ast.walk(ast.parse(before)):
        if isinstance(node, ast.stmt):
            body = getattr(node, "body", None)
            end = body[0].lineno - 1 if body else node.end_lineno
            spans.append((node.lineno, max(end or node.lineno, node.lineno)))
    opcodes = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    taken: dict[str, list[int]] = {}  # a line the rewrite took away -> where it was
    for tag, i1, i2, _, _ in opcodes:
        if tag in ("replace", "delete"):
            for index in range(i1, i2):
                taken.setdefault(old[index].strip(), []).append(index + 1)
    regions: list[tuple[int, int]] = []
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            continue
        touched = [line.strip() for line in (*old[i1:i2], *new[j1:j2])]
        if all(not line or line.startswith(("import ", "from ")) for line in touched):
            continue
        if tag == "insert" and all(not line[:1].isspace() for line in new[j1:j2]):
            continue  # support at module level (``_SSL_CONTEXT = ...``), not a fix
        first, last = i1 + 1, max(i2, i1 + 1)
        moved_from = [n for line in new[j1:j2] if line.strip() for n in taken.get(line.strip(), ())]
        first, last = min([first, *moved_from]), max([last, *moved_from])
        for start, end in spans:
            if start <= last and first <= end:
                first, last = min(first, start), max(last, end)
        regions.append((first, last))
    merged: list[tuple[int, int]] = []
    for first, last in sorted(regions):
        if merged and first - merged[-1][1] <= 2:
            # one rewrite that kept a line in its middle (a call moved into a gather)
            first, last = merged[-1][0], max(last, merged.pop()[1])
        merged.append((first, last))
    return merged


def _assert_sites_are_the_changes(result: FileResult) -> None:
    """What ``check`` lists as fixed is what the diff changes: every fixed site sits in
    a changed region, and every changed region holds a fixed site."""
    fixed = sorted({site.location.line for site in result.sites if site.fixed})
    if not result.changed or result.after is None:
        assert fixed == [], (result.shown, "reported fixed but nothing changed")
        return
    regions = _changed_regions(result.before, result.after)
    for line in fixed:
        assert any(first <= line <= last for first, last in regions), (
            result.shown,
            line,
            "reported fixed where the diff changes nothing",
            regions,
        )
    if any(codemod == "requests-to-httpx" for codemod, _ in result.stages):
        # one site per converted call; the response attributes it renames elsewhere
        # (``.ok`` -> ``.is_success``) belong to that call's fix
        return
    for first, last in regions:
        assert any(first <= line <= last for line in fixed), (
            result.shown,
            (first, last),
            "changed where check reports no fix",
            fixed,
        )


def _expectations(source: Path) -> list[str]:
    """``# expect: <text>`` lines: what the pass must report for this file
    (``nothing``: it must report nothing). Leave-alone cases say why they are left."""
    prefix = "# expect: "
    return [
        line[len(prefix) :].strip()
        for line in source.read_text().splitlines()
        if line.startswith(prefix)
    ]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.codemod.NAME}/{c.name}")
def test_fixture(case: Case, tmp_path: Path) -> None:
    files = case.copy_to(tmp_path)
    after, messages = _run(case.codemod, tmp_path)
    for relative, source in files.items():
        reported = messages.get(relative, [])
        for expected in _expectations(source):
            if expected == "nothing":
                assert reported == [], relative
            else:
                assert any(expected in message for message in reported), (expected, reported)
        produced = after.get(relative) or (tmp_path / relative).read_bytes()
        assert produced.decode() == case.expected(relative, source).decode(), relative
        compile(produced, relative, "exec")
        (tmp_path / relative).write_bytes(produced)
    again, _ = _run(case.codemod, tmp_path)
    assert {k: v for k, v in again.items() if v is not None} == {}, (
        "a second run must change nothing"
    )


def test_every_pass_has_rewrite_and_leave_alone_fixtures() -> None:
    minimum = {
        "demote-sync": (12, 10),
        "offload-blocking": (15, 8),
        "requests-to-httpx": (15, 6),
        "gather-awaits": (12, 10),
    }
    for codemod in PASSES:
        mine = [c for c in CASES if c.codemod is codemod]
        rewrites = [
            c
            for c in mine
            if any(
                p.with_name(p.name[: -len(INPUT)] + EXPECTED).exists() for p in c.files().values()
            )
        ]
        unchanged = [c for c in mine if c not in rewrites]
        for case in unchanged:
            assert any(_expectations(p) for p in case.files().values()), f"{case.name}: say why"
        wanted_rewrites, wanted_unchanged = minimum.get(codemod.NAME, (1, 1))
        assert len(rewrites) >= wanted_rewrites, codemod.NAME
        assert len(unchanged) >= wanted_unchanged, codemod.NAME
    assert set(minimum) <= set(by_name())
