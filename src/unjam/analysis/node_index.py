"""What the analysis learnt about the nodes of the tree it walked, kept for the passes.

Every pass used to walk a module once more before its own walk, only to number its
calls and name its functions the way the analysis had (about a twentieth of rewriting a
route module), and offload-blocking wrote each function with a ``with`` block out again
to learn the block's lines. The analysis walks the same tree and knows all three; a
pass that walks that very tree (``NodeIndex.tree`` is it) reads them here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from unjam.analysis.reuse import Unit


@dataclass(slots=True)
class NodeIndex:
    """By ``id`` of nodes of ``tree``, which it keeps alive (so no ``id`` is reused)."""

    tree: cst.Module
    #: ``id(FunctionDef)`` -> qualified name (the later of two same-named definitions).
    functions: dict[int, str] = field(default_factory=dict)
    #: ``id(Call)`` -> the call's index in visiting order.
    calls: dict[int, int] = field(default_factory=dict)
    #: ``id(With)`` -> (first, last) line of the statement in the module.
    with_lines: dict[int, tuple[int, int]] = field(default_factory=dict)
    #: The line each statement of ``tree.body`` starts on, by CPython's parse of the
    #: same text (empty without it); see ``StatementText.seed``.
    first_lines: tuple[int, ...] = ()
    #: Top-level ``def``s and classes whose facts a later analysis may carry over.
    units: dict[int, Unit] = field(default_factory=dict)

    def of(self, tree: cst.Module) -> NodeIndex | None:
        """This index when it describes ``tree``."""
        return self if tree is self.tree else None
