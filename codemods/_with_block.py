"""Move a blocking ``with`` block into a local helper that runs in one thread hop.

``with open(p) as fh: data = fh.read()`` blocks on entering, on every call inside and on
leaving; offloading it line by line would cost a thread hop per line and still run the
exit on the loop. The whole statement moves into a small local ``def`` instead::

    def _with_open(p):
        with open(p) as fh:
            data = fh.read()
        return data

    data = await anyio.to_thread.run_sync(_with_open, p)

The helper's parameters are the coroutine's locals the block reads (evaluated on the
loop, passed as arguments, never captured); it returns the names the block assigns
that the coroutine reads afterwards. libcst's ``ScopeProvider`` answers both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m
from libcst.metadata import Assignment, Scope
from unjam.codemods._nodes import find_all, nodes_in
from unjam.codemods._spelling import Spelled
from unjam.codemods._thread_hop import SPACE, Refused, comma_params

from unjam.analysis.walker import Walker

#: Statements that would leave or change the coroutine itself if they moved.
_LEAVES = m.Return() | m.Yield() | m.Await() | m.Global() | m.Nonlocal() | m.Del()
_NESTED = m.FunctionDef() | m.ClassDef()


@dataclass(frozen=True, slots=True)
class Extracted:
    helper: cst.FunctionDef
    call: cst.SimpleStatementLine


def check_body(node: cst.With) -> None:
    """Raise ``Refused`` when the block cannot run elsewhere as it is."""
    if node.asynchronous is not None:
        raise Refused("it is an async with")
    if find_all(node, _LEAVES):
        raise Refused("the block returns, awaits, yields, deletes or declares global names")
    if find_all(node, _NESTED):
        raise Refused("the block defines a function or class")
    if find_all(node, m.For(asynchronous=m.Asynchronous()) | m.With(asynchronous=m.Asynchronous())):
        raise Refused("the block uses async for or async with")
    escapes = _Escapes()
    node.body.visit(escapes)
    if escapes.found:
        raise Refused("break or continue in the block leaves it")


class _Escapes(Walker):
    """A ``break``/``continue`` outside the block's own loops. One in a loop's ``else``
    clause leaves that loop too (the clause runs after it), so only a loop's body
    counts as inside it: a matcher cannot say that, hence the walk."""

    skips_trivia = True

    def __init__(self) -> None:
        self.found = False
        self._loops = 0

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.Break | cst.Continue):
            self.found |= self._loops == 0
        elif isinstance(node, cst.For | cst.While):
            self._loops += 1
            node.body.visit(self)
            self._loops -= 1
            if node.orelse is not None:
                node.orelse.visit(self)
            return False
        return True


def names_in_and_out(
    node: cst.With, scope: Scope, source_order: Mapping[int, int], in_loop: bool
) -> tuple[list[str], list[str]]:
    """(locals the block reads that are bound outside it, names it binds that code
    outside it reads), each in order of first appearance.

    libcst's scopes do not follow control flow: a read refers to every binding of the
    name in the function. Source order narrows that down: a parameter must be bound
    before the block (or anywhere, in a loop), a returned name read after it (or
    anywhere, in a loop); the block's own ``as`` targets are never parameters.
    ``source_order``: ``id`` of each node of the function -> its place in source order."""
    nodes = nodes_in(node)
    inside = {id(found) for found in nodes}
    start, end = source_order[id(node)], source_order[id(nodes[-1])]  # last node: after it
    own = {
        name.value
        for item in node.items
        if item.asname is not None
        for name in find_all(item.asname, m.Name())
        if isinstance(name, cst.Name)
    }
    order = {id(n): i for i, n in enumerate(nodes)}
    # ``total += x`` reads ``total`` too, but libcst records only the binding.
    augmented = {
        target.value: order[id(target)]
        for found in find_all(node, m.AugAssign(target=m.Name()))
        if isinstance(found, cst.AugAssign) and isinstance(target := found.target, cst.Name)
    }
    reads: dict[str, int] = {}
    writes: dict[str, int] = {}
    for assignment in scope.assignments:
        if not isinstance(assignment, Assignment):
            continue  # builtins and other implicit bindings are never inside the block
        bound_inside = id(assignment.node) in inside
        bound_before = not bound_inside and (in_loop or source_order[id(assignment.node)] < start)
        if bound_before and assignment.name in augmented and assignment.name not in own:
            at = augmented[assignment.name]
            reads[assignment.name] = min(at, reads.get(assignment.name, at))
        for access in assignment.references:
            if id(access.node) in inside:
                if bound_before and assignment.name not in own:
                    at = order.get(id(access.node), 0)
                    reads[assignment.name] = min(at, reads.get(assignment.name, at))
            elif bound_inside and (in_loop or source_order[id(access.node)] > end):
                at = order.get(id(assignment.node), 0)
                writes[assignment.name] = min(at, writes.get(assignment.name, at))
    return sorted(reads, key=reads.__getitem__), sorted(writes, key=writes.__getitem__)


def bound_for_sure(node: cst.With, name: str) -> bool:
    """Whether ``name`` is bound on every path through the block: the ``as`` target,
    or a target of a statement directly in its body (not under if/for/try)."""
    for item in node.items:
        if item.asname is not None and find_all(item.asname, m.Name(name)):
            return True
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    for statement in body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            targets: list[cst.CSTNode] = []
            if isinstance(small, cst.Assign):
                targets = [target.target for target in small.targets]
            elif isinstance(small, (cst.AnnAssign, cst.AugAssign)) and (
                not isinstance(small, cst.AnnAssign) or small.value is not None
            ):
                targets = [small.target]
            if any(find_all(target, m.Name(name)) for target in targets):
                return True
    if isinstance(node.body, cst.SimpleStatementSuite):
        for small in node.body.body:
            if isinstance(small, cst.Assign) and any(
                find_all(t.target, m.Name(name)) for t in small.targets
            ):
                return True
    return False


def extract(
    node: cst.With, helper_name: str, params: list[str], returns: list[str], run_sync: Spelled
) -> Extracted:
    statements: list[cst.BaseStatement] = [node.with_changes(leading_lines=())]
    if returns:
        value: cst.BaseExpression = (
            cst.Name(returns[0])
            if len(returns) == 1
            else cst.Tuple([cst.Element(cst.Name(name)) for name in returns], lpar=[], rpar=[])
        )
        statements.append(cst.SimpleStatementLine([cst.Return(value)]))
    helper = cst.FunctionDef(
        name=cst.Name(helper_name),
        params=cst.Parameters(params=comma_params([cst.Param(cst.Name(p)) for p in params])),
        body=cst.IndentedBlock(statements),
        leading_lines=node.leading_lines,
    )
    args = [cst.Arg(cst.Name(helper_name)), *(cst.Arg(cst.Name(p)) for p in params)]
    args = [
        arg.with_changes(comma=cst.Comma(whitespace_after=SPACE)) if i < len(args) - 1 else arg
        for i, arg in enumerate(args)
    ]
    hop = cst.Await(cst.Call(run_sync.expression(), args=args))
    small: cst.BaseSmallStatement
    if not returns:
        small = cst.Expr(hop)
    else:
        target: cst.BaseAssignTargetExpression = (
            cst.Name(returns[0])
            if len(returns) == 1
            else cst.Tuple([cst.Element(cst.Name(name)) for name in returns], lpar=[], rpar=[])
        )
        small = cst.Assign([cst.AssignTarget(target)], hop)
    return Extracted(helper, cst.SimpleStatementLine([small]))
