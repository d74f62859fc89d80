"""The packages of a run: which package each file belongs to and how that package is
configured.

A monorepo holds many projects, each with its own ``pyproject.toml`` (or ``setup.py`` /
``setup.cfg``) and often its own ``[tool.unjam]``. unjam analyses the whole tree at once
(a helper in one package may block a route in another) but runs each file with its own
package's codemods and options, and reports per package. A single-project repository is
the one-package case of the same thing.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from unjam.codemods import REGISTRY, Options
from unjam.config import Config, ConfigError, find_pyproject, load_config
from unjam.formatting import formatting_for
from unjam.pipeline.discovery import PROJECT_MARKERS, SourceFile, git_root


class UnknownCodemod(ValueError):
    """``select``/``ignore`` named a codemod that does not exist."""


#: The finding kinds that are not a codemod: detection only (see ``report``).
DETECTIONS = ("blocking-call",)


def choose_passes(
    select: Sequence[str] | None, ignore: Sequence[str], extend: Sequence[str] = ()
) -> tuple[str, ...]:
    """The names of the passes to run, in the contract's order: ``select`` (or the
    default ones) and ``extend`` without ``ignore``. Detection-only codes are known,
    not passes."""
    known = {entry.name for entry in REGISTRY}
    for name in (*(select or ()), *ignore, *extend):
        if name not in known and name not in DETECTIONS:
            raise UnknownCodemod(
                f"unknown code {name!r}{nearest(name)} (known: {', '.join(codes())})"
            )
    default = {entry.name for entry in REGISTRY if entry.default}
    wanted = (set(select) if select is not None else default) | set(extend)
    return tuple(e.name for e in REGISTRY if e.name in wanted and e.name not in ignore)


def codes() -> list[str]:
    """Every finding kind's code: the codemods in run order, then detection only."""
    return [*(entry.name for entry in REGISTRY), *DETECTIONS]


def nearest(name: str) -> str:
    """``" (did you mean 'x'?)"`` for the closest known code, or nothing."""
    import difflib

    close = difflib.get_close_matches(name, codes(), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(frozen=True)
class Package:
    """``name`` is the package folder as shown to the user (``.`` for the run's base)."""

    root: Path
    name: str
    config: Config
    passes: tuple[str, ...] = ()  # names, in run order
    error: str | None = None  # its configuration could not be used: its files are skipped

    @property
    def options(self) -> Options:
        return Options(
            unsafe_fixes=self.config.unsafe_fixes,
            http_client=self.config.http_client,
            httpx_default_timeout=self.config.httpx_default_timeout,
            gather_safe=self.config.gather_safe,
            line_length=formatting_for(self.root).line_length,
            known_first_party=formatting_for(self.root).known_first_party,
        )


@dataclass
class Layout:
    """The packages a run's files fall into; every file belongs to exactly one."""

    packages: dict[str, Package]
    files: dict[str, list[SourceFile]] = field(default_factory=dict)

    def package_of(self) -> dict[Path, str]:
        return {file.path: name for name, files in self.files.items() for file in files}

    def every_file(self) -> list[SourceFile]:
        return sorted((f for files in self.files.values() for f in files), key=lambda f: f.path)

    def errors(self) -> list[str]:
        return [p.error for p in self.packages.values() if p.error and self.files.get(p.name)]

    def within(self, targets: Sequence[Path]) -> Layout:
        """The files at or under ``targets`` (absolute paths), and their packages."""

        def inside(path: Path) -> bool:
            return any(path == target or path.is_relative_to(target) for target in targets)

        files = {
            name: kept
            for name, found in self.files.items()
            if (kept := [file for file in found if inside(file.path)])
        }
        return Layout({name: p for name, p in self.packages.items() if name in files}, files)

    def sharded(self, index: int, count: int) -> Layout:
        """The packages of shard ``index`` (1-based) of ``count``; see ``shard_of``."""
        kept = {name for name in self.packages if shard_of(name, count) == index}
        return Layout(
            {name: p for name, p in self.packages.items() if name in kept},
            {name: files for name, files in self.files.items() if name in kept},
        )


def shard_of(package: str, count: int) -> int:
    """A package's shard (1-based). A hash of the package's path, not its position in a
    sorted list, so adding or removing a package never moves the others between shards
    (a CI matrix keeps its caches); the price is slices of uneven size."""
    digest = hashlib.sha256(package.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def parse_shard(value: str) -> tuple[int, int]:
    """``"2/8"`` → (2, 8); raises ValueError with the reason."""
    index, slash, count = value.partition("/")
    if not slash or not index.strip().isdigit() or not count.strip().isdigit():
        raise ValueError(f"--shard must look like I/N (e.g. 1/4), not {value!r}")
    i, n = int(index), int(count)
    if n < 1 or not 1 <= i <= n:
        raise ValueError(f"--shard {value}: I must be between 1 and N")
    return i, n


def layout(
    files: Iterable[SourceFile],
    targets: Sequence[Path],
    base: Path,
    overrides: Mapping[str, object],
    config_file: Path | None = None,
) -> Layout:
    """Group ``files`` by package and configure each package.

    A file's package is the innermost folder at or above it holding a project marker,
    looking no higher than the repository root (or, outside git, the target it was found
    under); a file with no such folder belongs to that ceiling. Each package reads the
    nearest ``[tool.unjam]`` at or above its folder (``config_file`` replaces it for
    every package) with the command line's ``overrides`` on top.
    """
    base = base.resolve()
    ceilings = [_ceiling(Path(target).absolute()) for target in targets]
    roots: dict[Path, Path] = {}
    packages: dict[str, Package] = {}
    configs: dict[Path | None, Config | str] = {}
    result = Layout(packages)
    for file in files:
        ceiling = next((c for c in ceilings if file.path.is_relative_to(c)), file.path.parent)
        root = _package_root(file.path.parent, ceiling, roots)
        name = _shown(root, base)
        if name not in packages:
            packages[name] = _configure(root, name, config_file, overrides, configs)
        package = packages[name]
        if package.error is None and _excluded(file.path, package.config):
            continue
        result.files.setdefault(name, []).append(file)
    return result


def _ceiling(target: Path) -> Path:
    folder = target if target.is_dir() else target.parent
    return git_root(folder) or folder


def _package_root(folder: Path, ceiling: Path, known: dict[Path, Path]) -> Path:
    walked: list[Path] = []
    root = ceiling
    here = folder
    while True:
        if here in known:
            root = known[here]
            break
        walked.append(here)
        if any((here / marker).is_file() for marker in PROJECT_MARKERS):
            root = here
            break
        if here == ceiling or here.parent == here:
            break
        here = here.parent
    for seen in walked:
        known[seen] = root
    return root


def _shown(path: Path, base: Path) -> str:
    """Relative to where the user stands (``..`` for a package above it)."""
    return Path(os.path.relpath(path, base)).as_posix()


def _configure(
    root: Path,
    name: str,
    config_file: Path | None,
    overrides: Mapping[str, object],
    cache: dict[Path | None, Config | str],
) -> Package:
    try:
        source = config_file or find_pyproject(root)
    except ConfigError as error:  # a pyproject.toml on the way that does not parse
        return Package(root, name, Config(), error=f"{error} (package {name} skipped)")
    if source not in cache:
        try:
            cache[source] = load_config(source)
        except ConfigError as error:
            cache[source] = str(error)
    loaded = cache[source]
    if isinstance(loaded, str):
        return Package(root, name, Config(), error=f"{loaded} (package {name} skipped)")
    config = loaded.merged(**overrides)
    try:
        passes = choose_passes(config.select, config.ignore, config.extend_select)
    except UnknownCodemod as error:
        where = config.source or "the command line"
        return Package(root, name, config, error=f"{where}: {error} (package {name} skipped)")
    return Package(root, name, config, passes)


def _excluded(path: Path, config: Config) -> bool:
    """``exclude`` patterns of a config file apply relative to the folder holding it."""
    if not config.exclude:
        return False
    if config.source is None:
        return False
    anchor = config.source.parent.resolve()
    path = path.resolve()
    if not path.is_relative_to(anchor):
        return False
    return _spec(config.exclude).match_file(path.relative_to(anchor).as_posix())


_SPECS: dict[tuple[str, ...], pathspec.GitIgnoreSpec] = {}


def _spec(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    if patterns not in _SPECS:
        _SPECS[patterns] = pathspec.GitIgnoreSpec.from_lines(list(patterns))
    return _SPECS[patterns]
