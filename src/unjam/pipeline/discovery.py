"""Which files a run looks at, and what each one's module is called.

Honours every ``.gitignore`` between the repository root and the file (also when the
target is a sub-folder), ``.git/info/exclude``, the default excludes and ``--exclude``.
Folder symlinks are not followed, so a symlink loop cannot trap the walk.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pathspec

DEFAULT_EXCLUDES = (
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    ".env",
    "env",
    "node_modules",
    "build",
    "dist",
    "__pycache__",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".eggs",
    "site-packages",
)
PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg")


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: Path
    module: str
    package: str


@dataclass(frozen=True, slots=True)
class Discovered:
    files: tuple[SourceFile, ...]
    missing: tuple[Path, ...]  # arguments that do not exist
    unreadable: tuple[tuple[Path, str], ...] = ()  # folders that could not be listed, why


def git_root(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def _read_spec(path: Path) -> pathspec.GitIgnoreSpec | None:
    try:
        lines = path.read_text("utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)


class _Ignores:
    """Stacked gitignore specs, each relative to its own folder."""

    def __init__(self, excludes: Iterable[str], base: Path) -> None:
        self.base = base
        self.user = pathspec.GitIgnoreSpec.from_lines(list(excludes))
        self.specs: dict[Path, pathspec.GitIgnoreSpec | None] = {}

    def spec_for(self, folder: Path) -> pathspec.GitIgnoreSpec | None:
        if folder not in self.specs:
            self.specs[folder] = _read_spec(folder / ".gitignore")
        return self.specs[folder]

    def ignored(self, path: Path, is_dir: bool, git_root: Path | None) -> bool:
        if path.name in DEFAULT_EXCLUDES and is_dir:
            return True
        suffix = "/" if is_dir else ""
        try:
            relative = path.relative_to(self.base).as_posix()
            if self.user.match_file(relative + suffix):
                return True
        except ValueError:
            pass
        if self.user.match_file(path.name + suffix):
            return True
        if git_root is None:
            return False
        folders = [path.parent, *path.parent.parents]
        for folder in folders:
            spec = self.spec_for(folder)
            if spec is not None:
                relative = path.relative_to(folder).as_posix() + suffix
                if spec.match_file(relative):
                    return True
            if folder == git_root:
                info = self.spec_for_info(git_root)
                if info is not None and info.match_file(
                    path.relative_to(folder).as_posix() + suffix
                ):
                    return True
                break
        return False

    def spec_for_info(self, git_root: Path) -> pathspec.GitIgnoreSpec | None:
        key = git_root / ".git" / "info"
        if key not in self.specs:
            self.specs[key] = _read_spec(key / "exclude")
        return self.specs[key]


def discover(
    paths: Iterable[Path], excludes: Iterable[str] = (), base: Path | None = None
) -> Discovered:
    base = (base or Path.cwd()).resolve()
    ignores = _Ignores(excludes, base)
    found: dict[Path, SourceFile] = {}
    missing: list[Path] = []
    unreadable: list[tuple[Path, str]] = []
    for given in paths:
        absolute = Path(os.path.abspath(given))
        if not absolute.exists() and not absolute.is_symlink():
            missing.append(given)
            continue
        if not absolute.exists():  # a link to nothing, or a loop: read_source names it
            found.setdefault(absolute, SourceFile(absolute, absolute.stem, ""))
            continue
        if absolute.is_dir():
            for file in _walk(absolute, ignores, unreadable):
                found.setdefault(file, source_file(file, absolute))
        else:
            found.setdefault(absolute, source_file(absolute, absolute.parent))
    return Discovered(
        tuple(sorted(found.values(), key=lambda f: f.path)), tuple(missing), tuple(unreadable)
    )


def _walk(root: Path, ignores: _Ignores, unreadable: list[tuple[Path, str]]) -> Iterator[Path]:
    """The Python files under ``root``; a folder that cannot be listed goes into
    ``unreadable`` (the files in it would otherwise be missed without a word)."""
    repository = git_root(root)

    def failed(error: OSError) -> None:
        unreadable.append((Path(error.filename or root), error.strerror or str(error)))

    for folder, dirs, files in os.walk(root, followlinks=False, onerror=failed):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not ignores.ignored(here / d, True, repository))
        for name in sorted(files):
            if name.endswith(".py") and not ignores.ignored(here / name, False, repository):
                yield here / name


def source_file(path: Path, root: Path) -> SourceFile:
    """A file with its dotted module name.

    Inside regular packages the name follows the ``__init__.py`` chain. A file outside one
    (namespace packages, scripts) is named relative to the nearest folder holding
    pyproject.toml/setup.py/setup.cfg, or to the folder the run started from.
    """
    parts = [path.stem]
    folder = path.parent
    while (folder / "__init__.py").exists():
        parts.insert(0, folder.name)
        if folder.parent == folder:
            break
        folder = folder.parent
    if len(parts) == 1:
        anchor = _project_anchor(path.parent, root)
        if anchor is not None and anchor != path.parent:
            parts = [*path.parent.relative_to(anchor).parts, path.stem]
    if parts[-1] == "__init__":
        parts = parts[:-1]
        package = ".".join(parts)
    else:
        package = ".".join(parts[:-1])
    return SourceFile(path, ".".join(p for p in parts if p), package)


def _project_anchor(folder: Path, root: Path) -> Path | None:
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).exists() for marker in PROJECT_MARKERS):
            return candidate
        if candidate == root:
            return candidate
    return None


#: Folders whose Python files are tests (or apps that only tests run).
TEST_FOLDERS = frozenset({"tests", "test", "cypress"})


def is_test_file(shown: str) -> bool:
    """Whether a project-relative path is test code: under ``tests/``, ``test/`` or
    ``cypress/``, or named ``test_*.py``, ``*_test.py`` or ``conftest.py``. Test files
    inform the analysis (their calls count) but are not reported or rewritten unless
    ``include-tests`` is set."""
    *folders, name = shown.replace("\\", "/").split("/")
    if name == "conftest.py" or name.startswith("test_") or name.endswith("_test.py"):
        return True
    return any(folder in TEST_FOLDERS for folder in folders)
