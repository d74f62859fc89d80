"""The shape every unjam pass has.

A pass is a libcst ``VisitorBasedCodemodCommand`` that also carries its user-facing facts
on the class, the way Fixit rules do: ``NAME`` (kebab-case, shown on the command line),
``DESCRIPTION`` (one line), ``SAFETY``, ``EXAMPLES`` (before/after pairs; an example with no
``after`` must stay unchanged) and its documentation as the class docstring, written like
ruff's rule docs. Tests are generated from ``EXAMPLES``; ``unjam explain`` prints the docs.

A pass receives the project's view of its module (``ModuleView``: what FastAPI calls,
what blocks, who else uses each function) and reports every site it rewrote or refused
through ``report`` so that ``unjam check`` can explain it.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

import libcst as cst
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor

from unjam.analysis.model import Location
from unjam.analysis.project import FunctionPlan, ModuleView
from unjam.analysis.suppression import is_suppressed


class Safety(str, Enum):
    SAFE = "safe"
    UNSAFE = "unsafe"  # rewritten only with --unsafe-fixes
    MIXED = "mixed"  # safe cases rewritten, the rest reported


@dataclass(frozen=True, slots=True)
class Example:
    before: str
    after: str | None = None  # None: the pass must leave ``before`` unchanged


@dataclass(frozen=True, slots=True)
class Options:
    unsafe_fixes: bool = False
    http_client: str | None = None
    httpx_default_timeout: bool = False  # keep httpx's 5 s default instead of requests' none
    gather_safe: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Site:
    """One place a pass acted on, or would have and did not (``fixed`` False)."""

    codemod: str
    location: Location
    message: str
    fixed: bool
    function: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """What a pass would do with a whole function (for ``unjam routes``)."""

    action: str
    fixable: bool


class Codemod(VisitorBasedCodemodCommand):
    NAME: ClassVar[str]
    DESCRIPTION: str  # libcst's CodemodCommand declares it as a plain attribute
    SAFETY: ClassVar[Safety]
    EXAMPLES: ClassVar[tuple[Example, ...]] = ()
    #: The pass looks at coroutines that block nothing (gather-awaits): the pre-filter
    #: must hand over every module with an ``async def`` that awaits twice.
    EVERY_COROUTINE: ClassVar[bool] = False
    #: Runs unless ``--select``/``select`` names the passes to run.
    DEFAULT: ClassVar[bool] = True

    def __init__(self, context: CodemodContext, view: ModuleView, options: Options) -> None:
        super().__init__(context)
        self.view = view
        self.options = options
        self.sites: list[Site] = []

    def transform_module(self, tree: cst.Module) -> cst.Module:
        """A pass that declares no metadata walks the module as it is. libcst would
        first deep-copy it into a ``MetadataWrapper`` (about half a parse, for every
        pass on every file, in ``check`` too); the follow-up import visitors run as
        libcst runs them."""
        if self.METADATA_DEPENDENCIES:
            return super().transform_module(tree)
        tree = self.transform_module_impl(tree)
        for key, follow_up in (
            (AddImportsVisitor.CONTEXT_KEY, AddImportsVisitor),
            (RemoveImportsVisitor.CONTEXT_KEY, RemoveImportsVisitor),
        ):
            if key in self.context.scratch:
                tree = self._instantiate_and_run(follow_up, tree)
        return tree

    # -- what the engine asks before running the pass ---------------------------------
    @classmethod
    def applies_to(cls, view: ModuleView) -> bool:
        """Could this pass change or report anything in the module? Cheap, no parse."""
        return any(cls.decide(plan, Options()) is not None for plan in view.functions.values())

    @classmethod
    def decide(cls, plan: FunctionPlan, options: Options) -> Decision | None:
        """The pass's verdict on a whole function, or None when it has nothing to say."""
        return None

    @classmethod
    def sites_from_view(cls, view: ModuleView, options: Options) -> list[Site] | None:
        """What the pass would report for the module, from the view alone, or None when
        only running it tells (``check`` then runs the rewrite without writing)."""
        return None

    @classmethod
    def view_after(cls, view: ModuleView, sites: list[Site]) -> ModuleView | None:
        """The module's view after this pass made ``sites``, when the pass can tell it
        without a new analysis (it added, removed and moved no call); None otherwise."""
        return None

    @classmethod
    def is_suppressed(cls, view: ModuleView, plan: FunctionPlan) -> bool:
        """``# unjam: ignore[...]`` on the function's ``def`` or decorator lines."""
        return is_suppressed(plan.facts.suppressed, cls.NAME)

    @classmethod
    def documentation(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    # -- helpers for passes -------------------------------------------------------------
    def report(
        self, location: Location, message: str, fixed: bool, function: str | None = None
    ) -> None:
        self.sites.append(Site(self.NAME, location, message, fixed, function))
