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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m
from libcst.metadata import Assignment, Scope
from unjam.codemods._blocks import Parents
from unjam.codemods._nodes import find_all, names_in, nodes_in
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


def inputs(
    node: cst.With,
    scope: Scope,
    params: list[str],
    parents: Parents,
    function: cst.FunctionDef,
) -> list[str]:
    """The helper's parameters, from ``names_in_and_out``'s: each an input of the
    block that is bound whenever the block starts. Raises ``Refused`` for a value that
    may be unbound (passing it would fail where the block would not have read it), and
    for a block that assigns a name the function declares ``global``/``nonlocal`` (the
    helper would assign a local of its own; the write would be lost).

    Source order cannot tell which binding a read sees, so the block's own statements
    decide: a name it binds before anything reads it is its own, not an input; a name
    it reads first comes from outside, also when it binds it later (an earlier turn of
    a loop, a value it reassigns), and must then be passed in."""
    bound = bound_names(node)
    local = {a.name for a in scope.assignments if isinstance(a, Assignment)}
    # A name the function declares global or nonlocal is bound in another scope: the
    # scope analysis does not list it among the function's own.
    if clash := sorted(bound - local):
        raise Refused(
            f"it assigns {clash[0]}, which async def {function.name.value} declares "
            "global or nonlocal: the moved block would assign a local of its own"
        )
    own = _header_binds(node)
    read = {name for name in (names_in(node) & local) - own if reads_before_binding(node, name)}
    for name in sorted(read):
        # also one read through the helper's closure: an unbound one fails another way
        if not bound_at_entry(node, name, parents, function):
            raise Refused(f"it reads {name}, which may be unbound when the block starts")
    needed = read & {*params, *bound}
    chosen = [name for name in params if name in needed]
    return chosen + sorted(needed - set(chosen))


def reads_before_binding(node: cst.With, name: str) -> bool:
    """Whether the block may read ``name`` before binding it itself, on some path
    through it: then the value comes from outside (a turn of a loop before, a line
    before the block) and must be passed in. Branches, loops and ``try`` bodies may
    not run, so what they bind does not count after them; what cannot be told (a
    ``match``, a comprehension's own names) counts as a read."""
    if any(name in names_in(item.item) for item in node.items):
        return True
    if name in _header_binds(node):
        return False
    exposed, _ = _flow(_statements(node.body), name, bound=False)
    return exposed


def _statements(body: cst.BaseSuite) -> list[cst.BaseStatement | cst.BaseSmallStatement]:
    if isinstance(body, cst.IndentedBlock):
        return list(body.body)
    return list(body.body)


def _flow(statements: Sequence[cst.CSTNode], name: str, bound: bool) -> tuple[bool, bool]:
    """(whether ``name`` may be read while unbound, whether it is bound for sure after
    ``statements``), given whether it is bound before them."""
    for statement in statements:
        if isinstance(statement, cst.SimpleStatementLine):
            exposed, bound = _flow(statement.body, name, bound)
        elif isinstance(statement, cst.BaseSmallStatement):
            if not bound and name in _reads(statement):
                return True, bound
            bound = bound or name in _binds(statement)
            continue
        elif isinstance(statement, cst.If):
            if not bound and name in names_in(statement.test):
                return True, bound
            exposed, in_body = _flow(_statements(statement.body), name, bound)
            if statement.orelse is None:
                exposed_else, in_else = False, bound
            elif isinstance(statement.orelse, cst.If):
                exposed_else, in_else = _flow([statement.orelse], name, bound)
            else:
                exposed_else, in_else = _flow(_statements(statement.orelse.body), name, bound)
            exposed, bound = exposed or exposed_else, in_body and in_else
        elif isinstance(statement, cst.For | cst.While):
            head = statement.iter if isinstance(statement, cst.For) else statement.test
            if not bound and name in names_in(head):
                return True, bound
            inner = bound or (
                isinstance(statement, cst.For) and name in _bound_names([statement.target])
            )
            exposed, _ = _flow(_statements(statement.body), name, inner)
            if not exposed and statement.orelse is not None:
                exposed, _ = _flow(_statements(statement.orelse.body), name, bound)
        elif isinstance(statement, cst.With):
            if not bound and any(name in names_in(item.item) for item in statement.items):
                return True, bound
            exposed, bound = _flow(
                _statements(statement.body), name, bound or name in _header_binds(statement)
            )
        elif isinstance(statement, cst.Try):
            exposed, _ = _flow(_statements(statement.body), name, bound)
            for handler in statement.handlers:
                if exposed:
                    break
                exposed, _ = _flow(
                    _statements(handler.body), name, bound or name in _header_binds(handler)
                )
            for clause in (statement.orelse, statement.finalbody):
                if not exposed and clause is not None:
                    exposed, _ = _flow(_statements(clause.body), name, bound)
        else:
            exposed = not bound and name in names_in(statement)
        if exposed:
            return True, bound
    return False, bound


def _reads(small: cst.BaseSmallStatement) -> set[str]:
    """Names a simple statement reads (its assignment targets' plain names aside)."""
    if isinstance(small, cst.Assign):
        parts: list[cst.CSTNode] = [small.value]
        parts += [t.target for t in small.targets if not _is_binding(t.target)]
        parts += [
            n for t in small.targets if _is_binding(t.target) for n in _target_reads(t.target)
        ]
        return names_in(*parts)
    if isinstance(small, cst.AnnAssign):
        parts = [small.annotation, small.value] if small.value is not None else [small.annotation]
        if not _is_binding(small.target):
            parts.append(small.target)
        return names_in(*(part for part in parts if part is not None))
    return names_in(small)  # ``x += 1`` reads ``x``; every other statement reads all


def _target_reads(target: cst.BaseExpression) -> list[cst.CSTNode]:
    """The parts of a tuple/list target that are read: attribute and subscript targets."""
    if isinstance(target, cst.Tuple | cst.List):
        return [n for element in target.elements for n in _target_reads(element.value)]
    if isinstance(target, cst.StarredElement):
        return _target_reads(target.value)
    return [] if isinstance(target, cst.Name) else [target]


def _binds(small: cst.BaseSmallStatement) -> set[str]:
    """The names a simple statement binds whenever it runs to its end (an assignment's
    targets, an import's names; a ``:=`` inside an expression may not run)."""
    if isinstance(small, cst.Assign):
        return _bound_names([t.target for t in small.targets])
    if isinstance(small, cst.AnnAssign | cst.AugAssign):
        if isinstance(small, cst.AnnAssign) and small.value is None:
            return set()
        return _bound_names([small.target])
    if isinstance(small, cst.Import | cst.ImportFrom):
        return _imported(small)
    return set()


def _imported(statement: cst.Import | cst.ImportFrom) -> set[str]:
    if isinstance(statement.names, cst.ImportStar):
        return set()
    return {
        alias.evaluated_alias or alias.evaluated_name.split(".", 1)[0] for alias in statement.names
    }


def bound_at_entry(node: cst.With, name: str, parents: Parents, function: cst.FunctionDef) -> bool:
    """Whether ``name`` is bound whenever the block starts: a parameter of the function,
    or bound for sure by a statement that comes before the block in its own statement
    list or in one that holds it (not inside a branch, a loop or a try of those: they
    may not have run, and a loop's later statements have not run on its first turn)."""
    child: cst.CSTNode = node
    for ancestor in parents.ancestors(node):
        if isinstance(ancestor, cst.IndentedBlock):
            for statement in ancestor.body:
                if statement is child:
                    break
                if _binds_for_sure(statement, name):
                    return True
        elif child is getattr(ancestor, "body", None) and name in _header_binds(ancestor):
            return True  # ``for name in ...:``, ``with ... as name:``, ``except ... as name:``
        if ancestor is function:
            break
        child = ancestor
    params = function.params
    every = [*params.posonly_params, *params.params, *params.kwonly_params]
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            every.append(star)
    return any(param.name.value == name for param in every)


def _header_binds(statement: cst.CSTNode) -> set[str]:
    """The names a compound statement's header binds for its body."""
    if isinstance(statement, cst.For):
        return _bound_names([statement.target])
    if isinstance(statement, cst.With):
        return _bound_names([item.asname.name for item in statement.items if item.asname])
    if isinstance(statement, cst.ExceptHandler) and statement.name is not None:
        return _bound_names([statement.name.name])
    return set()


def _binds_for_sure(statement: cst.CSTNode, name: str) -> bool:
    """Whether running ``statement`` to its end leaves ``name`` bound."""
    if isinstance(statement, cst.FunctionDef | cst.ClassDef):
        return statement.name.value == name
    if isinstance(statement, cst.With):
        return name in _header_binds(statement)
    if isinstance(statement, cst.SimpleStatementLine):
        return any(name in _binds(small) for small in statement.body)
    return isinstance(statement, cst.BaseSmallStatement) and name in _binds(statement)


def bound_names(node: cst.CSTNode) -> set[str]:
    """The names the block binds in the function's own scope: targets of assignments,
    loops, ``with ... as``, ``except ... as``, ``:=``, imports; not those of
    comprehensions or lambdas, which have scopes of their own."""
    found: set[str] = set()
    for target in find_all(node, m.AssignTarget() | m.AugAssign() | m.AnnAssign()):
        if isinstance(target, cst.AssignTarget | cst.AugAssign | cst.AnnAssign):
            found |= _bound_names([target.target])
    for loop in find_all(node, m.For()):
        assert isinstance(loop, cst.For)
        found |= _bound_names([loop.target])
    for holder in find_all(node, m.With() | m.ExceptHandler()):
        found |= _header_binds(holder)
    for walrus in find_all(node, m.NamedExpr()):
        assert isinstance(walrus, cst.NamedExpr)
        found |= _bound_names([walrus.target])
    for statement in find_all(node, m.Import() | m.ImportFrom()):
        assert isinstance(statement, cst.Import | cst.ImportFrom)
        found |= _imported(statement)
    return found


def _is_binding(target: cst.BaseExpression) -> bool:
    return isinstance(target, cst.Name | cst.Tuple | cst.List | cst.StarredElement)


def _bound_names(targets: Iterable[cst.CSTNode]) -> set[str]:
    """Names bound by assignment targets: plain names, also inside tuples, lists and
    starred targets; not attributes or subscripts (they bind nothing)."""
    found: set[str] = set()
    stack = list(targets)
    while stack:
        target = stack.pop()
        if isinstance(target, cst.Name):
            found.add(target.value)
        elif isinstance(target, cst.Tuple | cst.List):
            stack.extend(element.value for element in target.elements)
        elif isinstance(target, cst.StarredElement):
            stack.append(target.value)
    return found


def bound_for_sure(node: cst.With, name: str) -> bool:
    """Whether ``name`` is bound on every path through the block: the ``as`` target,
    or bound for sure by a statement directly in its body (not under if/for/try)."""
    if name in _header_binds(node):
        return True
    return any(_binds_for_sure(statement, name) for statement in _statements(node.body))


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
