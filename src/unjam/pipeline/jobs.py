"""A run's files as the stages take them: each file's bytes, where it is shown, its
module name and its package's profile (``Job``), read once.

Kept apart from the runner (and without libcst) because a run the cache answers
reads the files and stops there.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from unjam.analysis.names import OWN_NAMES, Namespace
from unjam.cache import content_digest
from unjam.cache.keys import FileIdentity
from unjam.codemods import Options
from unjam.pipeline.discovery import SourceFile
from unjam.pipeline.source import SourceError, read_source

if TYPE_CHECKING:
    from unjam.codemods import Codemod


@dataclass(frozen=True, slots=True)
class Profile:
    """The passes and options one part of the tree runs with: a monorepo's packages each
    bring their own ``[tool.unjam]``."""

    passes: tuple[type[Codemod], ...]
    options: Options = field(default_factory=Options)


#: The profile of files no package claims (and of every file in a single-project run).
DEFAULT_PROFILE = ""


@dataclass(frozen=True, slots=True)
class Job:
    path: str
    shown: str
    module: str
    package: str
    data: bytes
    profile: str = DEFAULT_PROFILE
    namespace: Namespace = OWN_NAMES


@dataclass(frozen=True, slots=True)
class Read:
    """The files of a run as read: jobs by shown path, and the files that could not be."""

    jobs: Mapping[str, Job]
    errors: tuple[str, ...] = ()
    seen: int = 0


def read_files(
    files: Iterable[SourceFile], profile_of: Mapping[Path, str] | None, base: Path
) -> Read:
    """Every file's bytes, module name and profile (``profile_of``: each file's profile
    by path; files not in it get the default); unreadable files as errors."""
    files = list(files)
    profile_of = profile_of or {}
    namespaces = namespaces_of(files, profile_of)
    errors: list[str] = []
    jobs: dict[str, Job] = {}
    for file in files:
        shown = shown_path(file.path, base)
        try:
            data = read_source(file.path, shown)
        except SourceError as error:
            errors.append(str(error))
            continue
        profile = profile_of.get(file.path, DEFAULT_PROFILE)
        namespace = namespaces.get(profile, OWN_NAMES)
        jobs[shown] = Job(
            str(file.path),
            shown,
            namespace.scoped(file.module),
            namespace.scoped(file.package) if file.package else file.package,
            data,
            profile,
            namespace,
        )
    return Read(jobs, tuple(errors), len(files))


def identity(job: Job) -> FileIdentity:
    """The file of ``job`` as the cache keys see it."""
    return FileIdentity(
        job.shown, job.path, job.module, job.package, job.namespace, content_digest(job.data)
    )


def shown_path(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def namespaces_of(
    files: Sequence[SourceFile], profile_of: Mapping[Path, str]
) -> dict[str, Namespace]:
    """A ``Namespace`` for each package (profile) that defines a top-level module another
    package defines too; packages whose modules are their own keep their names, so
    imports between them (a shared library) resolve as before."""
    owners: dict[str, set[str]] = defaultdict(set)
    for file in files:
        if file.module:
            owners[file.module.split(".", 1)[0]].add(profile_of.get(file.path, DEFAULT_PROFILE))
    shared: dict[str, set[str]] = defaultdict(set)
    for root, profiles in owners.items():
        if len(profiles) > 1:
            for profile in profiles:
                shared[profile].add(root)
    return {
        profile: Namespace(
            "@" + (re.sub(r"[^\w-]+", "-", profile).strip("-") or "root"), frozenset(roots)
        )
        for profile, roots in shared.items()
    }
