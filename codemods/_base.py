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
from typing import ClassVar, TypeVar

import libcst as cst
from libcst.codemod import (
    CodemodContext,
    VisitorBasedCodemodCommand,
)
from libcst.codemod.visitors import AddImportsVisitor
from unjam.codemods._import_block import Needed, place_imports
from unjam.codemods._nodes import index_module
from unjam.codemods._unused_imports import drop_unused_imports
from unjam.codemods._values import Decision, Example, Options, Safety, Site
from unjam.codemods._wrap import wrap_changed

from unjam._speed import enabled
from unjam._speed.dispatch import PlainDispatch, WithoutMatcherSetUp, use_matcher_dispatch
from unjam._speed.fastwalk import hooks_trivia
from unjam.analysis.model import Location
from unjam.analysis.node_index import NodeIndex
from unjam.analysis.project import FunctionPlan, ModuleView
from unjam.analysis.suppression import is_suppressed
from unjam.pipeline.codegen import StatementText

Node = TypeVar("Node", bound=cst.CSTNode)


__all__ = ["Codemod", "Decision", "Example", "Options", "Safety", "Site"]


class Codemod(PlainDispatch, VisitorBasedCodemodCommand, WithoutMatcherSetUp):
    NAME: ClassVar[str]
    DESCRIPTION: str  # libcst's CodemodCommand declares it as a plain attribute
    SAFETY: ClassVar[Safety]
    EXAMPLES: ClassVar[tuple[Example, ...]] = ()
    #: The pass looks at coroutines that block nothing (gather-awaits): the pre-filter
    #: must hand over every module with an ``async def`` that awaits twice.
    EVERY_COROUTINE: ClassVar[bool] = False
    #: Everything the pass does happens inside functions ``decide`` has a verdict on:
    #: the walk skips every other function (rebuilding them is most of a pass's cost).
    WALKS_DECIDED_ONLY: ClassVar[bool] = False

    def __init__(self, context: CodemodContext, view: ModuleView, options: Options) -> None:
        super().__init__(context)  # without the matcher set-up (WithoutMatcherSetUp)
        if not enabled("plain_dispatch"):  # bench/patches.py: libcst's own dispatch
            use_matcher_dispatch(self)
        self.qualnames: dict[int, str] = {}
        self.indexes: dict[int, int] = {}
        self.skipped: frozenset[int] = frozenset()
        self.view = view
        self.options = options
        self.sites: list[Site] = []
        #: The text of the module about to be walked, when the caller has it already:
        #: libcst writes the whole module out again on every ``.code``.
        self.known_code: str | None = None
        #: What the analysis learnt about the nodes of the tree it walked, when the
        #: caller has it: a pass walking that very tree need not number its calls again.
        self.known_index: NodeIndex | None = None
        #: ``known_index`` while the pass walks the tree it describes.
        self.walked_index: NodeIndex | None = None
        #: The file's statements as written out so far (the caller's, when it has one).
        self.statement_text = StatementText()
        self._walked: cst.Module | None = None
        #: The project's top-level packages: imports of them are first party.
        self.first_party: frozenset[str] = frozenset()

    @property
    def skips_trivia(self) -> bool:
        """The walk skips whitespace and punctuation (see ``fastwalk``) unless the
        pass has a hook on one of them."""
        return not hooks_trivia(type(self))

    def transform_module(self, tree: cst.Module) -> cst.Module:
        """A pass that declares no metadata walks the module as it is. libcst would
        first deep-copy it into a ``MetadataWrapper`` (about half a parse, for every
        pass on every file, in ``check`` too). After the walk, the imports the pass
        asked for are placed where a sorter puts them, those it left unused go, and the
        long lines it wrote are wrapped."""
        if self.METADATA_DEPENDENCIES:
            return super().transform_module(tree)
        before = tree
        tree = self.transform_module_impl(tree)
        if AddImportsVisitor.CONTEXT_KEY in self.context.scratch:
            needed = [
                Needed(item.module_name, item.obj_name)
                for item in AddImportsVisitor._get_imports_from_context(self.context)
                if item.alias is None and not item.relative
            ]
            del self.context.scratch[AddImportsVisitor.CONTEXT_KEY]
            tree = place_imports(tree, needed, self.first_party)
        if tree is not before and self.sites:
            tree = drop_unused_imports(before, tree, self.statement_text.of)
            tree = wrap_changed(before, tree, self.options.line_length)
        return tree

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        """Index the module the walk will see (functions' qualified names, calls' order
        as the analysis counted them), then walk it."""
        self._walked = tree
        known = self.known_index.of(tree) if self.known_index is not None else None
        self.walked_index = known
        if known is not None:
            self.qualnames, self.indexes = known.functions, known.calls
        else:
            self.qualnames, self.indexes = index_module(tree, self.view.module)
        self.skipped = self._functions_to_skip() if self.WALKS_DECIDED_ONLY else frozenset()
        if self.skipped:  # the checks cost a call per node: only where they pay
            self.on_visit = self._visit_unless_skipped  # type: ignore[method-assign]
            self.on_leave = self._leave_unless_skipped
        return super().transform_module_impl(tree)

    def _functions_to_skip(self) -> frozenset[int]:
        entered: set[str] = set()
        decided: list[str] = []
        for qualname, plan in self.view.functions.items():
            if self.decide(plan, self.options) is not None:
                decided.append(qualname + ".<locals>.")
                parts = qualname.split(".<locals>.")
                entered.update(".<locals>.".join(parts[:end]) for end in range(1, len(parts) + 1))
        inside = tuple(decided)  # a pass may rewrite what a nested function reads
        return frozenset(
            node_id
            for node_id, qualname in self.qualnames.items()
            if qualname not in entered and not qualname.startswith(inside)
        )

    # With functions to skip, the dispatch checks each node first (see PlainDispatch).
    def _visit_unless_skipped(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.FunctionDef) and id(node) in self.skipped:
            return False
        return cst.CSTTransformer.on_visit(self, node)

    def _leave_unless_skipped(
        self, original_node: Node, updated_node: Node
    ) -> Node | cst.RemovalSentinel | cst.FlattenSentinel[Node]:
        if id(original_node) in self.skipped:
            return updated_node
        return cst.CSTTransformer.on_leave(self, original_node, updated_node)

    def code_of(self, module: cst.Module) -> str:
        """``module.code``, without writing it out again for the module being walked."""
        if module is self._walked and self.known_code is not None:
            return self.known_code
        return self.statement_text.module(module)

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
