"""What each cache entry is keyed by: everything its value was derived from.

The build (unjam's version and files) is the folder the entries are in; a key adds the
file (its path as shown, its module name, its bytes) and the run's settings the stage
reads. Stages:

- ``summary``: the pre-filter's summary of a file (CPython's parse): the catalog's
  vocabulary and whether some pass reads runs of awaits. Kept in one pack per folder
  unjam runs from (``runner._Stored.summaries``).
- ``facts``: a module's analysis (libcst): the catalog and the project's top-level
  package names (an import of one of them is first party).
- ``light``: the facts gather-awaits alone needs (CPython's parse).
- ``check``: what the passes report for a module: its facts' inputs, the passes and
  options of its package, and the project's view of the module (``ModuleView``: every
  fact about the rest of the project the passes read). A file whose passes had to
  analyse it again mid-way read the project again: its entry holds what it read, and
  is checked against the project of the run that finds it (``runner._Checks``).
- ``run``: a whole ``check`` (``cli._checked``): every file's key, the settings, and
  which files are reported on.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from unjam.cache.digest import stable_digest


@dataclass(frozen=True, slots=True)
class FileIdentity:
    """A file as the stages see it: where it is, what module it is, its bytes' digest."""

    shown: str
    path: str
    module: str
    package: str
    namespace: object
    content: bytes


@dataclass(frozen=True, slots=True)
class StageKeys:
    """The settings of one run that the entries depend on, digested once."""

    catalog: bytes
    vocabulary: bytes
    roots: bytes

    @classmethod
    def of(
        cls,
        extra_blocking: Mapping[str, str],
        vocabulary: Mapping[str, frozenset[str]],
        roots: frozenset[str],
    ) -> StageKeys:
        """``extra_blocking``: the configuration's additions to the catalog (the rest
        of it is the build's own file)."""
        return cls(
            stable_digest(sorted(extra_blocking.items())),
            stable_digest(sorted((k, sorted(v)) for k, v in vocabulary.items())),
            stable_digest(sorted(roots)),
        )

    def summary(self, file: FileIdentity, await_runs: bool) -> bytes:
        return stable_digest("summary", file, self.vocabulary, await_runs)

    def facts(self, file: FileIdentity) -> bytes:
        return stable_digest("facts", file, self.catalog, self.roots)

    def light(self, file: FileIdentity) -> bytes:
        return stable_digest("light", file)

    def check(self, file: FileIdentity, facts: bytes, profile: object, view: object) -> bytes:
        """``facts``: the key of the module's facts; ``profile``: its passes (by name)
        and options."""
        return stable_digest(
            "check", file, facts, self.catalog, self.roots, profile, view_digest(view)
        )


def view_digest(view: Any) -> bytes:
    """The digest of a ``ModuleView`` without the module's own facts (every plan holds
    its function's): those follow from the file's bytes and settings, which the key
    holds already, and were three quarters of the bytes digested."""
    rows = [(name, _plan_fields(plan)) for name, plan in view.functions.items()]
    return stable_digest("view", view.path, view.module, rows)


_GETTERS: dict[type, Callable[[Any], tuple[Any, ...]]] = {}


def _plan_fields(plan: Any) -> tuple[Any, ...]:
    kind = type(plan)
    getter = _GETTERS.get(kind)
    if getter is None:
        names = [field.name for field in fields(kind) if field.name != "facts"]
        getter = _GETTERS[kind] = operator.attrgetter(*names)
    found: tuple[Any, ...] = getter(plan)
    return found
