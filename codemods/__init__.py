"""unjam's passes, in the order they run (shipped as ``unjam.codemods``).

The order is data and is tested: requests-to-httpx first (an async route whose only
blocking work is HTTP becomes truly async), then demote-sync (what still never awaits
goes to the threadpool), offload-blocking (what still blocks inside a real coroutine is
moved off the loop), gather-awaits last.

The passes are libcst transformers, and importing libcst takes about a quarter of a
second: ``PASSES``, ``Codemod`` and ``by_name`` import them on first use, so that a run
the cache answers, which only needs the passes' names, never does. ``REGISTRY`` says
which passes exist and which run by default without importing any.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from unjam.codemods._values import Decision, Example, Options, Safety, Site

if TYPE_CHECKING:
    from unjam.codemods._base import Codemod


@dataclass(frozen=True, slots=True)
class PassEntry:
    """A pass as the command line knows it before loading it: its name (the class's
    ``NAME``, checked by the tests), the module it is defined in, and whether it runs
    unless ``--select`` names the passes."""

    name: str
    default: bool = True

    @property
    def module(self) -> str:
        return "unjam.codemods." + self.name.replace("-", "_")

    def load(self) -> type[Codemod]:
        """The pass's class: the one codemod its module defines under this name."""
        from unjam.codemods._base import Codemod

        module = importlib.import_module(self.module)
        found = [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, Codemod)
            and value.__module__ == module.__name__
            and getattr(value, "NAME", None) == self.name
        ]
        if len(found) != 1:
            raise LookupError(f"{self.module} defines no single codemod named {self.name!r}")
        return found[0]


#: The contract's order.
REGISTRY: tuple[PassEntry, ...] = (
    PassEntry("requests-to-httpx"),
    PassEntry("demote-sync"),
    PassEntry("offload-blocking"),
    # Opt-in (``--select gather-awaits``): it must read every module whose coroutines
    # await in a row, which tripled ``check`` on a 1,774-file code base (41 s -> 127 s).
    PassEntry("gather-awaits", default=False),
)
CONTRACT_ORDER = tuple(entry.name for entry in REGISTRY)

__all__ = [
    "CONTRACT_ORDER",
    "PASSES",
    "REGISTRY",
    "Codemod",
    "Decision",
    "Example",
    "Options",
    "PassEntry",
    "Safety",
    "Site",
    "by_name",
    "is_default",
    "load",
]


def is_default(name: str) -> bool:
    """Whether the pass ``name`` runs unless ``--select`` names the passes."""
    return any(entry.name == name and entry.default for entry in REGISTRY)


def load(names: tuple[str, ...]) -> tuple[type[Codemod], ...]:
    """The classes of the passes ``names`` (registry names), in the given order."""
    classes = by_name()
    return tuple(classes[name] for name in names)


def by_name() -> dict[str, type[Codemod]]:
    passes: tuple[type[Codemod], ...] = __getattr__("PASSES")
    return {codemod.NAME: codemod for codemod in passes}


def __getattr__(name: str) -> Any:
    """``PASSES`` and ``Codemod``, imported (with libcst) on first use."""
    if name == "PASSES":
        passes = tuple(entry.load() for entry in REGISTRY)
        globals()["PASSES"] = passes
        return passes
    if name == "Codemod":
        from unjam.codemods._base import Codemod

        globals()["Codemod"] = Codemod
        return Codemod
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
