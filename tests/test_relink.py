"""Relinking one rewritten module in place gives the project that linking again gives.

``Project.relinked`` swaps a module's new facts into the linked tables when the rewrite
only moved things. Each module of the fixture projects is re-analysed with its lines
shifted (the same shape, new places: what most rewrites do) and with a function added (a
new shape: linking again), and the two projects are compared table by table, in order,
and through every module's view.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, analyse, with_lines_at_top
from unjam._speed.fastwalk import fast_walks
from unjam.analysis.model import ModuleFacts
from unjam.analysis.module import analyse_and_index
from unjam.analysis.positions import AstPositions
from unjam.analysis.project import Project
from unjam.analysis.qualnames import ModuleName
from unjam.pipeline.runner import Analysis, Job
from unjam.pipeline.source import parse_source, python_ast

PROJECTS = [
    FIXTURES / "apps" / "demo",
    FIXTURES / "apps" / "stall",
    FIXTURES / "demote_sync",
    FIXTURES / "gather_awaits",
    FIXTURES / "offload_blocking",
    FIXTURES / "requests_to_httpx",
]
#: The first top-level definition: a blank line before it moves everything after it.
FIRST_DEFINITION = re.compile(rb"^(?:async def |def |class |@)", re.MULTILINE)
FIRST_FUNCTION = re.compile(rb"^(?:async )?def (\w+)", re.MULTILINE)


def _facts(analysis: Analysis, job: Job, data: bytes) -> ModuleFacts:
    roots = frozenset(j.module.split(".", 1)[0] for j in analysis.jobs.values() if j.module)
    with fast_walks():
        return analyse_and_index(
            parse_source(data, job.shown),
            job.shown,
            ModuleName(job.module, job.package, job.namespace),
            analysis.project.catalog,
            roots,
            AstPositions(*python_ast(data, job.shown)),
        )[0]


def _moved(data: bytes) -> bytes | None:
    found = FIRST_DEFINITION.search(data)
    if found is None:
        return None
    newline = b"\r\n" if b"\r\n" in data else b"\n"
    return data[: found.start()] + newline + data[found.start() :]


def _appended(data: bytes, *lines: bytes) -> bytes:
    newline = b"\r\n" if b"\r\n" in data else b"\n"
    ending = b"" if data.endswith(newline) or not data else newline
    return data + ending + newline.join([b"", b"", *lines, b""])


def _added(data: bytes) -> bytes:
    """A new function: the module's shape changes, so linking runs again."""
    return _appended(data, b"def _added_by_the_test():", b"    pass")


def _referenced(data: bytes) -> bytes | None:
    """A new use of the module's first function: a reference that was not there."""
    found = FIRST_FUNCTION.search(data)
    return None if found is None else _appended(data, b"print(" + found.group(1) + b")")


def _inside_first_function(data: bytes, *lines: str) -> bytes | None:
    """``lines`` at the top of the module's first top-level function's body."""
    try:
        module = ast.parse(data)
    except SyntaxError:
        return None
    function = next(
        (n for n in module.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None
    )
    return None if function is None else with_lines_at_top(data, function, *lines)


def _nested(data: bytes) -> bytes | None:
    """A function nested in the first one (offload-blocking's ``_with_open``)."""
    return _inside_first_function(data, "def _nested_by_the_test():", "    return None")


def _local(data: bytes) -> bytes | None:
    """A local made by a call, which ``link`` asks whether it is a router."""
    return _inside_first_function(data, "_local_by_the_test = dict()")


def _tables(project: Project, path: str) -> list[object]:
    """Every linked table, and the views of the modules ``path`` can touch: those of its
    fixture case (a folder of its own below the project), or itself."""
    folder = Path(path).parent
    near = [
        other for other in project.modules if folder != Path() and folder in Path(other).parents
    ]
    return [
        list(project.modules.items()),
        list(project.functions.items()),
        list(project.value_types.items()),
        list(project.aliases.items()),
        list(project.instances.items()),
        list(project.routers.items()),
        list(project.parents.items()),
        project.registrations,
        project.references,  # only looked up: the order of names is free, not of uses
        list(project.reexports.items()),
        list(project.star_imports.items()),
        project.kinds(),
        [project.view(other) for other in near or [path]],
        # uses through the class table, which a relinked project updates in place
        {qualname: project.used_by(qualname) for qualname in project.functions},
    ]


@pytest.mark.parametrize("root", PROJECTS, ids=lambda p: p.relative_to(FIXTURES).as_posix())
def test_relinking_in_place_equals_linking_again(root: Path) -> None:
    analysis = analyse(root, use_prefilter=False)
    project = analysis.project
    project.used_by("")  # built before relinking: relinked projects update it
    compared = moved_in_place = referenced_in_place = nested_in_place = 0
    for path, old in project.modules.items():
        job = analysis.jobs[path]
        variants = {"added": _added(job.data), "moved": _moved(job.data)}
        variants["referenced"] = _referenced(job.data)
        variants["nested"] = _nested(job.data)
        variants["local"] = _local(job.data)
        for variant, data in variants.items():
            if data is None:
                continue
            new = _facts(analysis, job, data)
            if variant == "local" and new == old:
                continue  # nothing of the function is placed after the new line
            assert new != old
            relinked = project.relinked(new)
            linked = Project.link(project.catalog, {**project.modules, path: new}.values())
            assert _tables(relinked, path) == _tables(linked, path), (path, variant)
            in_place = project._swapped(old, new) is not None
            if variant == "added":
                assert not in_place, path
            elif variant in ("moved", "nested", "local"):
                assert in_place, (path, variant)
                moved_in_place += variant == "moved"
                nested_in_place += variant == "nested"
            else:
                referenced_in_place += in_place
            compared += 1
    assert moved_in_place > len(project.modules) / 2  # most modules define something
    assert referenced_in_place > 0
    assert nested_in_place > 0
    assert compared > 2 * len(project.modules)


def test_a_later_module_defining_the_same_name_keeps_it(tmp_path: Path) -> None:
    """``link`` lets the later of two modules that define one name win; a swap must
    not hand the entry back to the earlier one."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("def shared():\n    pass\n")
    (tmp_path / "pkg.py").write_text("import time\n\n\ndef shared():\n    time.sleep(1)\n")
    analysis = analyse(tmp_path, use_prefilter=False)
    project = analysis.project
    assert len(project.modules) == 2
    earlier, later = project.modules
    winner = project.functions["pkg.shared"]
    assert winner.path == later
    job = analysis.jobs[earlier]
    moved = _moved(job.data)
    assert moved is not None
    new = _facts(analysis, job, moved)
    assert project._swapped(project.modules[earlier], new) is not None
    relinked = project.relinked(new)
    assert relinked.functions["pkg.shared"] is winner
    linked = Project.link(project.catalog, {**project.modules, earlier: new}.values())
    assert _tables(relinked, earlier) == _tables(linked, earlier)


def test_a_call_that_becomes_a_value_under_a_shared_name_is_swapped(tmp_path: Path) -> None:
    """offload-blocking passes a helper it called to a thread: the helper's uses from
    other modules stay where they were, this module's change how they use it."""
    (tmp_path / "helpers.py").write_text("import time\n\n\ndef load():\n    time.sleep(1)\n")
    for name in ("a", "b"):
        (tmp_path / f"{name}.py").write_text(
            "from helpers import load\n\n\nasync def route():\n    return load()\n"
        )
    analysis = analyse(tmp_path, use_prefilter=False)
    project = analysis.project
    project.used_by("")
    job = analysis.jobs["a.py"]
    passed = job.data.replace(b"return load()", b"return await run(load)")
    new = _facts(analysis, job, passed)
    assert project._swapped(project.modules["a.py"], new) is not None
    relinked = project.relinked(new)
    linked = Project.link(project.catalog, {**project.modules, "a.py": new}.values())
    for path in project.modules:
        assert _tables(relinked, path) == _tables(linked, path), path
    assert [r.how for r in relinked.used_by("helpers.load")] != [
        r.how for r in project.used_by("helpers.load")
    ]
