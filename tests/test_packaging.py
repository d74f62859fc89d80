"""A packaging slip must not hide behind the checkout being on the import path: build the
wheel, install it into a clean venv, and run it from a folder that is not the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from unjam.codemods import PASSES

from tests.helpers import ROOT

pytestmark = pytest.mark.packaging


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            str(work / "dist"),
            str(ROOT),
        ],
        check=True,
    )
    [wheel] = list((work / "dist").glob("unjam-*.whl"))
    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True)
    return env_dir


def _run(env_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_installed_command_lists_the_codemods(installed: Path, tmp_path: Path) -> None:
    result = _run(installed, str(installed / "bin" / "unjam"), "codemods", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for codemod in PASSES:
        assert codemod.NAME in result.stdout


def test_installed_package_finds_its_catalog_and_analyses(installed: Path, tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "import time\nfrom fastapi import FastAPI\napp = FastAPI()\n"
        "@app.get('/')\nasync def root():\n    time.sleep(1)\n"
    )
    result = _run(
        installed,
        str(installed / "bin" / "python"),
        "-m",
        "unjam",
        "routes",
        ".",
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert '"time.sleep:6"' in result.stdout


def test_no_generic_top_level_codemods_package(installed: Path, tmp_path: Path) -> None:
    result = _run(
        installed, str(installed / "bin" / "python"), "-c", "import codemods", cwd=tmp_path
    )
    assert result.returncode != 0
    assert "No module named 'codemods'" in result.stderr
