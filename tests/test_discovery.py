"""Which files a run sees, what their modules are called, and where config comes from."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers import write_tree
from unjam.config import Config, ConfigError, find_pyproject, load_config
from unjam.pipeline.discovery import discover


def _names(root: Path, paths: list[Path] | None = None, excludes: tuple[str, ...] = ()) -> set[str]:
    found = discover(paths or [root], excludes, base=root)
    return {f.path.relative_to(root).as_posix() for f in found.files}


def _git_init(root: Path) -> None:
    subprocess.run(["git", "init", "-q", str(root)], check=True)


def test_default_excludes_and_python_only(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "app/main.py": "",
            "app/notes.txt": "",
            ".venv/lib/x.py": "",
            "venv/y.py": "",
            "node_modules/z.py": "",
            "build/b.py": "",
            "dist/d.py": "",
            "app/__pycache__/c.py": "",
            ".tox/t.py": "",
        },
    )
    assert _names(tmp_path) == {"app/main.py"}


def test_gitignore_respected_when_target_is_a_subfolder(tmp_path: Path) -> None:
    _git_init(tmp_path)
    write_tree(
        tmp_path,
        {
            ".gitignore": "generated/\n*_pb2.py\n",
            "svc/.gitignore": "local_*.py\n!local_keep.py\n",
            "svc/app.py": "",
            "svc/api_pb2.py": "",
            "svc/generated/g.py": "",
            "svc/local_one.py": "",
            "svc/local_keep.py": "",
        },
    )
    (tmp_path / ".git" / "info").mkdir(parents=True, exist_ok=True)
    (tmp_path / ".git" / "info" / "exclude").write_text("svc/secret.py\n")
    (tmp_path / "svc" / "secret.py").write_text("")
    assert _names(tmp_path, [tmp_path / "svc"]) == {"svc/app.py", "svc/local_keep.py"}


def test_gitignore_ignored_outside_a_git_repository(tmp_path: Path) -> None:
    write_tree(tmp_path, {".gitignore": "*.py\n", "a.py": ""})
    assert _names(tmp_path) == {"a.py"}


def test_exclude_globs(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a/tests/t.py": "", "a/m.py": "", "b/migrations/0001.py": ""})
    assert _names(tmp_path, excludes=("tests/", "b/migrations")) == {"a/m.py"}


def test_explicit_file_is_taken_even_if_excluded_by_default_rules(tmp_path: Path) -> None:
    write_tree(tmp_path, {"build/script.py": ""})
    assert _names(tmp_path, [tmp_path / "build" / "script.py"]) == {"build/script.py"}


def test_missing_argument_is_reported(tmp_path: Path) -> None:
    found = discover([tmp_path / "nope"], base=tmp_path)
    assert found.files == () and found.missing == (tmp_path / "nope",)


def test_symlinked_folder_loop_does_not_hang(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pkg/a.py": ""})
    (tmp_path / "pkg" / "loop").symlink_to(tmp_path / "pkg", target_is_directory=True)
    assert _names(tmp_path) == {"pkg/a.py"}


@pytest.mark.parametrize(
    ("files", "target", "module", "package"),
    [
        (
            {"pkg/__init__.py": "", "pkg/sub/__init__.py": "", "pkg/sub/m.py": ""},
            "pkg/sub/m.py",
            "pkg.sub.m",
            "pkg.sub",
        ),
        (
            {"pkg/__init__.py": "", "pkg/sub/__init__.py": ""},
            "pkg/sub/__init__.py",
            "pkg.sub",
            "pkg.sub",
        ),
        ({"src/pkg/__init__.py": "", "src/pkg/m.py": ""}, "src/pkg/m.py", "pkg.m", "pkg"),
        ({"svc/pyproject.toml": "", "svc/app/main.py": ""}, "svc/app/main.py", "app.main", "app"),
        ({"script.py": ""}, "script.py", "script", ""),
    ],
)
def test_module_names(
    tmp_path: Path, files: dict[str, str], target: str, module: str, package: str
) -> None:
    write_tree(tmp_path, files)
    found = {
        f.path.relative_to(tmp_path).as_posix(): f
        for f in discover([tmp_path], base=tmp_path).files
    }
    assert (found[target].module, found[target].package) == (module, package)


def test_config_from_nearest_pyproject_with_a_unjam_table(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": """
                [tool.unjam]
                select = ["demote-sync"]
                exclude = ["legacy/"]
                extra-blocking = { "vendor.slow" = "cpu" }
                http-client = "httpx2"
            """,
            "svc/pyproject.toml": "[project]\nname = 'svc'\n",
            "svc/app.py": "",
        },
    )
    found = find_pyproject(tmp_path / "svc" / "app.py")
    assert found == tmp_path / "pyproject.toml"
    config = load_config(found)
    assert config.select == ("demote-sync",)
    assert config.exclude == ("legacy/",)
    assert config.extra_blocking == {"vendor.slow": "cpu"}
    assert config.http_client == "httpx2"


def test_command_line_options_override_config() -> None:
    config = Config(select=("a",), exclude=("x/",))
    merged = config.merged(select=("b",), exclude=("y/",), ignore=None)
    assert merged.select == ("b",)
    assert merged.exclude == ("x/", "y/")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("[tool.unjam]\nselct = ['x']\n", "unknown key 'selct'"),
        ("[tool.unjam]\nselect = 'demote-sync'\n", "select must be a list of strings"),
        ("[tool.unjam]\nhttp-client = 'aiohttp'\n", "http-client must be one of httpx, httpx2"),
        ("[tool.unjam\n", "invalid TOML"),
        ("[tool.unjam]\nselect = [\n'a'\nb = 3\n", "invalid TOML: Unclosed array (at line 4"),
        (
            "[tool.unjam]\nunsafe-fixes = 'false'\n",
            "unsafe-fixes must be true or false, not 'false' (a string)",
        ),
        ("[tool.unjam]\ninclude-tests = 1\n", "include-tests must be true or false"),
        ("[tool.unjam]\nexclude = ['a', 3]\n", "exclude must be a list of strings"),
        ("[tool.unjam]\nextra-blocking = 'x.y'\n", "extra-blocking must map qualified"),
        ("[tool]\nunjam = 3\n", "[tool.unjam] must be a table, not 3 (an integer)"),
        ("tool = 3\n", "tool must be a table, not 3 (an integer)"),
        ("[[tool.unjam]]\nselect = []\n", "[tool.unjam] must be a table, not"),
    ],
)
def test_config_errors_name_the_file_and_reason(tmp_path: Path, body: str, reason: str) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(body)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: ")
    assert reason in str(error.value)


@pytest.mark.parametrize(
    "body", ["[tool.unjam]\nselect = [\n", "tool = 3\n", "[tool]\nunjam = 3\n"]
)
def test_a_broken_pyproject_on_the_way_up_stops_the_search(tmp_path: Path, body: str) -> None:
    """Skipping it would drop the ``exclude`` it may hold: the run would rewrite files
    the user excluded."""
    (tmp_path / "pyproject.toml").write_text("[tool.unjam]\nexclude = ['gen/']\n")
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "pyproject.toml").write_text(body)
    with pytest.raises(ConfigError) as error:
        find_pyproject(tmp_path / "svc")
    assert str(error.value).startswith(f"{tmp_path / 'svc' / 'pyproject.toml'}: ")


def test_a_config_file_may_hold_the_pyproject_table_or_the_bare_one(tmp_path: Path) -> None:
    shaped = tmp_path / "shaped.toml"
    shaped.write_text("[tool.unjam]\nselect = ['demote-sync']\n")
    bare = tmp_path / "bare.toml"
    bare.write_text("select = ['demote-sync']\n")
    assert load_config(shaped).select == load_config(bare).select == ("demote-sync",)
