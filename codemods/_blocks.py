"""Where nodes sit inside one function: parents, and the smallest run of statements that
holds a set of nodes (for wrapping them in ``async with``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import libcst as cst


class Parents:
    """Parent of every node in one function, found on the function alone
    (``LocalMetadata.parents``), so the nodes are the ones the transformer visits."""

    def __init__(self, parent: Mapping[cst.CSTNode, cst.CSTNode]) -> None:
        self.parent = parent

    def ancestors(self, node: cst.CSTNode) -> Iterable[cst.CSTNode]:
        """Up to the function itself (not the module made to hold it)."""
        current = self.parent.get(node)
        while current is not None and not isinstance(current, cst.Module):
            yield current
            current = self.parent.get(current)


@dataclass(frozen=True, slots=True)
class Run:
    """Statements ``first..last`` (inclusive) of the statement list ``block``."""

    block: cst.IndentedBlock
    first: int
    last: int


def _path(
    node: cst.CSTNode, parents: Parents, stop: cst.CSTNode
) -> list[tuple[cst.IndentedBlock, int]]:
    """(an IndentedBlock, index of the statement in it), from ``stop`` down."""
    path: list[tuple[cst.IndentedBlock, int]] = []
    child = node
    for ancestor in parents.ancestors(node):
        if isinstance(ancestor, cst.IndentedBlock):
            for index, statement in enumerate(ancestor.body):
                if statement is child:
                    path.append((ancestor, index))
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
    while all(len(path) > shared for path in paths) and len({_step(p[shared]) for p in paths}) == 1:
        shared += 1
    if all(len(path) > shared for path in paths) and len({id(p[shared][0]) for p in paths}) == 1:
        level = shared  # one block, several of its statements
    elif shared > 0:
        level = shared - 1  # one statement holds them all
    else:
        return None
    indexes = [path[level][1] for path in paths]
    return Run(paths[0][level][0], min(indexes), max(indexes))


def _step(step: tuple[cst.IndentedBlock, int]) -> tuple[int, int]:
    return id(step[0]), step[1]
