"""Monorepos: packages found and configured one by one, module names that several
services share kept apart, the per-package report, shards and their merge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.gitrepos import CLEAN, SERVICE, WORKER, unjam
from tests.helpers import write_tree
from unjam.pipeline.packages import shard_of

#: A dependency that blocks and never awaits. Defined twice, under the same module name
#: ``app.deps``, by two services: one only registers it (so it may become ``def``), the
#: other also awaits it (so it must stay ``async``).
DEPS = """\
import time


async def current_user():
    time.sleep(0.1)
    return "someone"
"""
REGISTERS = """\
from fastapi import Depends, FastAPI

from app.deps import current_user

app = FastAPI()


@app.get("/me")
def me(user=Depends(current_user)):
    return user
"""
AWAITS = """\
from fastapi import Depends, FastAPI

from app.deps import current_user

app = FastAPI()


@app.get("/me")
def me(user=Depends(current_user)):
    return user


@app.get("/again")
async def again():
    return await current_user()
"""

TWIN_SERVICES = {
    "services/a/pyproject.toml": '[project]\nname = "a"\n',
    "services/a/app/__init__.py": "",
    "services/a/app/deps.py": DEPS,
    "services/a/app/main.py": REGISTERS,
    "services/b/pyproject.toml": '[project]\nname = "b"\n',
    "services/b/app/__init__.py": "",
    "services/b/app/deps.py": DEPS,
    "services/b/app/main.py": AWAITS,
}


def _files_in(patch: str) -> list[str]:
    return [line.split(" b/", 1)[1] for line in patch.splitlines() if line.startswith("diff --git")]


def test_services_sharing_module_names_are_analysed_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path, TWIN_SERVICES)
    together = unjam(tmp_path, monkeypatch, "diff", ".")
    alone = [unjam(tmp_path, monkeypatch, "diff", f"services/{name}") for name in "ab"]
    assert together.out == alone[0].out + alone[1].out
    a_part = together.out.split("diff --git a/services/b/")[0]
    assert "+def current_user():" in a_part  # a only registers it: demoted
    assert together.out.count("+def current_user():") == 1  # b awaits its own: kept


SHARED_LIBRARY = {
    "libs/common/pyproject.toml": '[project]\nname = "common"\n',
    "libs/common/common/__init__.py": "",
    "libs/common/common/auth.py": DEPS,
    "services/a/pyproject.toml": '[project]\nname = "a"\n',
    "services/a/app/__init__.py": "",
    "services/a/app/main.py": REGISTERS.replace("app.deps", "common.auth"),
    "services/b/pyproject.toml": '[project]\nname = "b"\n',
    "services/b/app/__init__.py": "",
    "services/b/app/main.py": AWAITS.replace("app.deps", "common.auth"),
}


def test_a_shared_library_sees_every_service_that_uses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Service b awaits the library's dependency, so it must stay async even though
    both services define ``app`` (and are renamed apart)."""
    write_tree(tmp_path, SHARED_LIBRARY)
    whole = unjam(tmp_path, monkeypatch, "diff", ".")
    assert "+def current_user" not in whole.out
    # Naming only the library and service a changes what is shown, not what is seen:
    # service b still awaits the dependency (the analysis covers the project).
    named = unjam(tmp_path, monkeypatch, "diff", "libs", "services/a")
    assert "+def current_user" not in named.out
    assert "services/b" not in named.out
    # A shard holding only the library still sees service b's await.
    library_shard = shard_of("libs/common", 4)
    shard = unjam(tmp_path, monkeypatch, "diff", ".", "--shard", f"{library_shard}/4")
    assert "+def current_user" not in shard.out


def test_each_package_runs_with_its_own_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(
        tmp_path,
        {
            "a/pyproject.toml": '[project]\nname = "a"\n',
            "a/svc/service.py": SERVICE,
            "b/pyproject.toml": (
                '[tool.unjam]\nselect = ["offload-blocking"]\nexclude = ["legacy/"]\n'
            ),
            "b/svc/service.py": SERVICE,
            "b/legacy/old.py": WORKER,
            "c/pyproject.toml": "[tool.unjam]\nselect = 3\n",
            "c/svc/service.py": SERVICE,
        },
    )
    result = unjam(tmp_path, monkeypatch, "diff", ".")
    assert result.code == 2  # package c's config is broken: reported, the rest done
    problems = [line for line in result.err.splitlines() if "c/pyproject.toml" in line]
    assert len(problems) == 1 and problems[0].endswith("(package c skipped)")
    assert "select must be a list of strings" in problems[0]
    assert _files_in(result.out) == ["a/svc/service.py", "b/svc/service.py"]
    a_part, b_part = result.out.split("diff --git a/b/")
    assert "+def report():" in a_part  # a runs every default codemod
    assert "+def report():" not in b_part  # b selected offload-blocking only
    assert "+    await asyncio.sleep(0.1)" in b_part


def test_package_excludes_are_relative_to_their_own_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(
        tmp_path,
        {
            "a/pyproject.toml": '[tool.unjam]\nexclude = ["/legacy/"]\n',
            "a/legacy/service.py": SERVICE,
            "b/pyproject.toml": '[project]\nname = "b"\n',
            "b/legacy/service.py": SERVICE,
        },
    )
    assert _files_in(unjam(tmp_path, monkeypatch, "diff", ".").out) == ["b/legacy/service.py"]


def _monorepo(root: Path, count: int) -> list[str]:
    files: dict[str, str] = {}
    names = []
    for index in range(count):
        name = f"pkgs/p{index:02d}"
        names.append(name)
        files[f"{name}/pyproject.toml"] = f'[project]\nname = "p{index}"\n'
        files[f"{name}/src/p{index:02d}/__init__.py"] = ""
        files[f"{name}/src/p{index:02d}/routes.py"] = SERVICE if index % 3 else CLEAN
    write_tree(root, files)
    return names


def test_json_report_counts_per_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = _monorepo(tmp_path, 4)
    result = unjam(tmp_path, monkeypatch, "diff", ".", "--format", "json")
    assert result.code == 1
    report = json.loads(result.out)
    rows = {row["package"]: row for row in report["packages"]}
    assert sorted(rows) == names
    assert rows["pkgs/p00"]["files_changed"] == 0 and rows["pkgs/p00"]["files_scanned"] == 2
    assert rows["pkgs/p01"]["sites"] == {"demote-sync": 1, "offload-blocking": 1}
    assert rows["pkgs/p01"]["changed_files"] == ["pkgs/p01/src/p01/routes.py"]
    assert report["totals"]["files_changed"] == 2 and report["shard"] is None


def test_shards_cover_every_package_once_and_merge_to_the_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = _monorepo(tmp_path, 12)
    whole = json.loads(unjam(tmp_path, monkeypatch, "diff", ".", "--format", "json").out)
    reports = []
    for index in (1, 2, 3):
        out = unjam(tmp_path, monkeypatch, "diff", ".", "--shard", f"{index}/3", "--format", "json")
        report = json.loads(out.out)
        assert {row["package"] for row in report["packages"]} == {
            name for name in names if shard_of(name, 3) == index
        }
        path = tmp_path / f"shard{index}.json"
        path.write_text(out.out)
        reports.append(str(path))
    merged = unjam(tmp_path, monkeypatch, "merge-reports", *reports, "--format", "json")
    assert merged.code == 1  # changes are pending
    combined = json.loads(merged.out)
    assert combined["packages"] == whole["packages"]
    assert combined["totals"] == whole["totals"]

    missing = unjam(tmp_path, monkeypatch, "merge-reports", *reports[:2])
    assert missing.code == 2 and "missing shard(s) 3/3" in missing.err
    twice = unjam(tmp_path, monkeypatch, "merge-reports", reports[0], reports[0], *reports[1:])
    assert twice.code == 2 and "merge one report per shard" in twice.err
    (tmp_path / "bad.json").write_text("{}")
    bad = unjam(tmp_path, monkeypatch, "merge-reports", str(tmp_path / "bad.json"))
    assert bad.code == 2 and "bad.json: not an unjam report" in bad.err


def test_a_shard_keeps_its_packages_when_others_come_and_go() -> None:
    before = {f"pkgs/p{i}": shard_of(f"pkgs/p{i}", 8) for i in range(40)}
    assert set(before.values()) == set(range(1, 9))  # every shard gets work
    after = {f"pkgs/p{i}": shard_of(f"pkgs/p{i}", 8) for i in range(5, 60)}
    assert all(after[name] == shard for name, shard in before.items() if name in after)


@pytest.mark.parametrize("value", ["0/4", "5/4", "1", "a/b", "1/0"])
def test_bad_shard_is_a_usage_error(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = unjam(tmp_path, monkeypatch, "diff", ".", "--shard", value)
    assert result.code == 2 and "--shard" in result.err


def _by_file(patch: str) -> dict[str, str]:
    blocks = ["diff --git" + block for block in patch.split("diff --git")[1:]]
    return {block.split(" b/", 1)[1].split("\n", 1)[0]: block for block in blocks}


@pytest.mark.parametrize("tree", [TWIN_SERVICES, SHARED_LIBRARY], ids=["twins", "library"])
def test_every_shard_rewrites_what_the_whole_run_does(
    tree: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shard reads other packages only where its own code needs them; what it
    rewrites must still be exactly the whole run's rewrite of its packages."""
    write_tree(tmp_path, {**tree, "services/c/pyproject.toml": "", "services/c/svc.py": SERVICE})
    whole = _by_file(unjam(tmp_path, monkeypatch, "diff", ".").out)
    assert whole  # something to compare
    # The services that await and register sit in different shards.
    assert shard_of("services/a", 3) != shard_of("services/b", 3)
    pieces: dict[str, str] = {}
    for index in (1, 2, 3):
        part = _by_file(unjam(tmp_path, monkeypatch, "diff", ".", "--shard", f"{index}/3").out)
        assert not set(part) & set(pieces)
        pieces.update(part)
    assert pieces == whole


def test_routes_show_names_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path, TWIN_SERVICES)
    rows = json.loads(unjam(tmp_path, monkeypatch, "routes", ".", "--format", "json").out)
    mine = {(row["location"].split("/app/")[0], row["function"]) for row in rows}
    assert ("services/a", "app.main.me") in mine and ("services/b", "app.main.again") in mine
    assert not any(row["function"].startswith("@") for row in rows)
