"""Where nodes sit inside one function: parents, and the smallest run of statements that
holds a set of nodes (for wrapping them in ``async with``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import libcst as cst

from unjam.analysis.walker import Walker


class Parents(Walker):
    """Parent of every node under a root."""

    def __init__(self) -> None:
        super().__init__()
        self.parent: dict[int, cst.CSTNode] = {}
        self.stack: list[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.stack:
            self.parent[id(node)] = self.stack[-1]
        self.stack.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.stack.pop()

    @classmethod
    def of(cls, root: cst.CSTNode) -> Parents:
        found = cls()
        root.visit(found)
        return found

    def ancestors(self, node: cst.CSTNode) -> Iterable[cst.CSTNode]:
        current = self.parent.get(id(node))
        while current is not None:
            yield current
            current = self.parent.get(id(current))


@dataclass(frozen=True, slots=True)
class Run:
    """Statements ``first..last`` (inclusive) of the statement list ``block``."""

    block: cst.IndentedBlock
    first: int
    last: int


def _path(node: cst.CSTNode, parents: Parents, stop: cst.CSTNode) -> list[tuple[int, int]]:
    """(id of an IndentedBlock, index of the statement in it), from ``stop`` down."""
    path: list[tuple[int, int]] = []
    child = node
    for ancestor in parents.ancestors(node):
        if isinstance(ancestor, cst.IndentedBlock):
            for index, statement in enumerate(ancestor.body):
                if statement is child:
                    path.append((id(ancestor), index))
        if ancestor is stop:
            break
        child = ancestor
    return list(reversed(path))


def smallest_run(
    nodes: list[cst.CSTNode], parents: Parents, function: cst.FunctionDef
) -> Run | None:
    """The fewest consecutive statements of one block that contain every node, or None
    when the function's body is not a block (``async def f(): return x``)."""
    paths = [_path(node, parents, function) for node in nodes]
    if not paths or any(not path for path in paths):
        return None
    shared = 0  # length of the common prefix: statements that hold every node
    while all(len(path) > shared for path in paths) and len({p[shared] for p in paths}) == 1:
        shared += 1
    if all(len(path) > shared for path in paths) and len({p[shared][0] for p in paths}) == 1:
        level = shared  # one block, several of its statements
    elif shared > 0:
        level = shared - 1  # one statement holds them all
    else:
        return None
    block_id = paths[0][level][0]
    indexes = [path[level][1] for path in paths]
    return Run(_find_block(function, block_id), min(indexes), max(indexes))


def _find_block(root: cst.CSTNode, block_id: int) -> cst.IndentedBlock:
    class Find(Walker):
        found: cst.IndentedBlock | None = None

        def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
            if id(node) == block_id:
                self.found = node

    finder = Find()
    root.visit(finder)
    assert finder.found is not None
    return finder.found
