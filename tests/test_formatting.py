"""The project's formatter settings are read from where ruff, black and isort read
them, and the rewrite follows them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from unjam.codemods.offload_blocking import OffloadBlocking

from tests.helpers import ruff
from unjam.formatting import DEFAULT_LINE_LENGTH, Formatting, formatting_for
from unjam.pipeline.discovery import discover
from unjam.pipeline.packages import layout
from unjam.pipeline.runner import Runner

SETTINGS = {
    "ruff in pyproject": (
        "pyproject.toml",
        "[tool.ruff]\nline-length = 100\n[tool.ruff.lint.isort]\nknown-first-party = ['acme']\n",
        Formatting(100, ("acme",)),
    ),
    "ruff before 0.2": (
        "pyproject.toml",
        "[tool.ruff]\nline-length = 79\n[tool.ruff.isort]\nknown-first-party = ['acme']\n",
        Formatting(79, ("acme",)),
    ),
    "ruff.toml": (
        "ruff.toml",
        "line-length = 120\n[lint.isort]\nknown-first-party = ['acme', 'shared']\n",
        Formatting(120, ("acme", "shared")),
    ),
    "black and isort": (
        "pyproject.toml",
        "[tool.black]\nline-length = 99\n[tool.isort]\nknown_first_party = ['acme']\n",
        Formatting(99, ("acme",)),
    ),
    "nothing set": ("pyproject.toml", "[project]\nname = 'x'\n", Formatting()),
    "a file that does not parse sets nothing": ("pyproject.toml", "[tool.ruff\n", Formatting()),
    "wrong types set nothing": (
        "pyproject.toml",
        "[tool.ruff]\nline-length = 'long'\n[tool.isort]\nknown_first_party = 'acme'\n",
        Formatting(),
    ),
}


@pytest.mark.parametrize("name", list(SETTINGS))
def test_settings_are_read_where_the_tools_read_them(name: str, tmp_path: Path) -> None:
    file, text, expected = SETTINGS[name]
    (tmp_path / file).write_text(text)
    (tmp_path / "pkg").mkdir()
    assert formatting_for(tmp_path / "pkg") == expected


def test_each_setting_comes_from_the_nearest_file_that_sets_it(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.isort]\nknown_first_party = ['acme']\n")
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "ruff.toml").write_text("line-length = 79\n")
    assert formatting_for(tmp_path / "svc") == Formatting(79, ("acme",))
    assert formatting_for(tmp_path).line_length == DEFAULT_LINE_LENGTH


def test_a_known_first_party_package_keeps_its_own_section(tmp_path: Path) -> None:
    """``acme`` is installed, not in the tree: only the configuration says it is first
    party, in one section with the project's own ``app``. ``import anyio`` goes into a
    third-party section of its own, not among them."""
    (tmp_path / "pyproject.toml").write_text(
        "[tool.ruff.lint]\nselect = ['I']\n[tool.ruff.lint.isort]\nknown-first-party = ['acme']\n"
    )
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "main.py").write_text("from fastapi import FastAPI\n\napp = FastAPI()\n")
    (tmp_path / "app" / "routes.py").write_text(
        textwrap.dedent(
            """\
            import asyncio
            import os

            import acme
            from app.main import app


            @app.get("/")
            async def index() -> dict:
                await asyncio.sleep(0)
                return {"acme": acme.__name__, "files": len(os.listdir("."))}
            """
        )
    )
    files = discover([tmp_path], base=tmp_path).files
    options = layout(files, [tmp_path], tmp_path, {}).packages["."].options
    assert options.known_first_party == ("acme",)
    runner = Runner((OffloadBlocking,), options, jobs=1, base=tmp_path)
    results = [r for r in runner.transform(runner.analyse(files)) if r.after is not None]
    assert [r.shown for r in results] == ["app/routes.py"]
    (tmp_path / "app" / "routes.py").write_bytes(results[0].after or b"")
    checked = ruff("check", "app/routes.py", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout
