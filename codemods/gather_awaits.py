"""gather-awaits: independent sequential awaits run concurrently with ``asyncio.gather``."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import ClassVar

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.helpers import get_full_name_for_node
from unjam.codemods._base import Codemod, Decision, Example, Options, Safety
from unjam.codemods._bindings import NameCheck, Rebound
from unjam.codemods._local_metadata import LocalMetadata
from unjam.codemods._nodes import code, find_all, names_in
from unjam.codemods._spelling import Spelled, Spelling

from unjam.analysis.model import Location
from unjam.analysis.project import FunctionPlan, ModuleView
from unjam.analysis.qualnames import is_staticmethod
from unjam.analysis.suppression import is_suppressed

#: Clients documented as safe for concurrent requests from one event loop.
SAFE_CLIENTS = frozenset({"httpx.AsyncClient", "httpx2.AsyncClient", "aiohttp.ClientSession"})
#: Requests that only read: running one more after another failed changes nothing the
#: caller can observe, so safe mode may start them together.
READ_METHODS = frozenset({"get", "head", "options"})
SLEEPS = frozenset({"asyncio.sleep", "anyio.sleep", "trio.sleep"})
#: Parameter annotations whose values cannot be changed by a call that receives them.
IMMUTABLE = frozenset({"int", "str", "float", "bool", "bytes", "UUID", "uuid.UUID"})


@dataclass(frozen=True, slots=True)
class _Await:
    """One ``x = await call(...)`` / ``await call(...)`` statement of a run."""

    index: int  # in its block
    statement: cst.SimpleStatementLine
    call: cst.Call
    target: cst.BaseAssignTargetExpression | None
    annotation: cst.Annotation | None
    receiver: str | None  # root name the call is made on
    safe: bool  # provably fine to start together with the others
    shareable: bool  # made on a client that may serve several calls at once
    reads: frozenset[str]
    binds: frozenset[str]
    passed: frozenset[str]  # objects handed to the call whole: it may change them
    writes: bool  # a request that changes something (POST...): what follows may depend on it
    #: Module-level objects (a connection, a database) it awaits methods of, itself or
    #: in the project coroutines it awaits: two calls reaching one must not overlap.
    shared: frozenset[str] = frozenset()


class GatherAwaits(Codemod):
    """## What it does
    Turns a run of consecutive, independent `x = await call(...)` statements in an
    `async def` into one `x, y = await asyncio.gather(call(...), other(...))`, so the
    calls wait together instead of one after the other. A `for` loop that only appends
    `await client.get(u)` to a list becomes one `gather` over the loop, results in the
    same order.

    ## Why is this bad?
    Three independent 200 ms requests awaited in sequence take 600 ms; gathered they
    take 200 ms. The loop was free all along, but the request waited for nothing.

    ## Example
    ```python
    async with httpx.AsyncClient() as client:
        user = await client.get(f"{USERS}/{user_id}")
        orders = await client.get(f"{ORDERS}?user={user_id}")
    ```

    Use instead:
    ```python
    async with httpx.AsyncClient() as client:
        user, orders = await asyncio.gather(
            client.get(f"{USERS}/{user_id}"),
            client.get(f"{ORDERS}?user={user_id}"),
        )
    ```

    ## When it merges
    Independence is checked, not assumed: no call reads a name an earlier statement
    of the run binds, no statement rebinds a name another call reads, no two calls
    share a receiver that forbids concurrent use (SQLAlchemy `AsyncSession`,
    `asyncpg`/`aiosqlite` connections, websockets, locks, or any receiver unjam cannot
    identify), and no two calls share an argument that might be changed by the other
    (a list, a dict, an object; `int`/`str` parameters are fine). A run splits at the
    first dependency: `a`, `b` independent and `c` needing `a` gives a gather of `a`
    and `b`, then `c`.

    An await whose result is not kept (`await check_access(user)`, `await
    ws.send_text(...)`) is done for its effect, so its order is kept, unless it is a
    read request on a concurrency-safe client. A write request (`post`, `put`, `patch`,
    `delete`...) on an HTTP client ends a run: what follows may read what it changed.
    Calls through a module (`anyio.to_thread.run_sync(...)`) share no receiver. Two
    awaits that reach the same module-level object (an asyncpg-style connection, a
    `databases.Database`), directly or inside the project coroutines they await, stay
    in order unless its type is documented as safe to share; with `--unsafe-fixes`
    every module is analysed in full to know that. Each
    statement's comments stay next to its call inside the `gather(...)`.

    Never merged: `asyncio.sleep`/`anyio.sleep`, awaits inside a `try` (its handlers
    would see a different set of failures), inside `async for` or an `async with` other
    than an HTTP client's, and awaits in different branches.

    ## Fix safety
    Mixed. `asyncio.gather` starts every call before any finishes, and when one raises,
    the others keep running to the end (sequential code would never have started the
    later ones). So safe mode only gathers read requests (`get`, `head`, `options`)
    on clients documented as safe to share (`httpx.AsyncClient`, `httpx2.AsyncClient`,
    `aiohttp.ClientSession`, and classes listed in `[tool.unjam] gather-safe`, whose
    methods all count). Every other independent run is reported in `unjam check` as an
    opportunity and rewritten only with `--unsafe-fixes`.

    A loop's fan-out is not bounded: a thousand URLs start a thousand requests. For
    large fan-outs, limit them (an `anyio.CapacityLimiter` or the client's own pool
    limits) after the rewrite.
    """

    NAME = "gather-awaits"
    DESCRIPTION = "Run independent sequential awaits concurrently with asyncio.gather."
    SAFETY = Safety.MIXED
    WALKS_DECIDED_ONLY = True
    EVERY_COROUTINE = True
    EXAMPLES: ClassVar[tuple[Example, ...]] = (
        Example(
            before=(
                "import asyncio\n\nimport httpx\n\n\n"
                "async def both(client: httpx.AsyncClient) -> tuple:\n"
                '    a = await client.get("http://a.internal/")\n'
                '    b = await client.get("http://b.internal/")\n'
                "    return a, b\n"
            ),
            after=(
                "import asyncio\n\nimport httpx\n\n\n"
                "async def both(client: httpx.AsyncClient) -> tuple:\n"
                "    a, b = await asyncio.gather(\n"
                '        client.get("http://a.internal/"),\n'
                '        client.get("http://b.internal/"),\n'
                "    )\n"
                "    return a, b\n"
            ),
        ),
        Example(
            before=(
                "import asyncio\n\n\nasync def paced(client) -> None:\n"
                "    await asyncio.sleep(1)\n    await asyncio.sleep(1)\n"
            ),
        ),
    )

    @classmethod
    def decide(cls, plan: FunctionPlan, options: Options) -> Decision | None:
        facts = plan.facts
        if not facts.is_async or not facts.await_runs or is_suppressed(facts.suppressed, cls.NAME):
            return None
        return Decision("gather independent awaits", True)

    # -- the walk ----------------------------------------------------------------------
    def visit_Module(self, node: cst.Module) -> None:
        self.spelling = Spelling.of(node)
        self.code = self.code_of(node)
        self.names = NameCheck(node, self.code, self.spelling)
        self.module_names: frozenset[str] | None = None
        self.functions: list[tuple[cst.FunctionDef, FunctionPlan | None]] = []
        self.local: dict[int, LocalMetadata] = {}
        self.clients: dict[int, _LocalClients] = {}
        self.module_clients = _module_clients(node, self.spelling, self._safe_types())
        #: Methods (by ``id``) -> the clients their class keeps on ``self``.
        self.self_clients: dict[int, dict[str, str | None]] = {}

    def __init__(self, context: CodemodContext, view: ModuleView, options: Options) -> None:
        super().__init__(context, view, options)
        # The statements around this point that decide whether order matters.
        self.stack: list[cst.CSTNode] = []

    def visit_Try(self, node: cst.Try) -> None:
        self.stack.append(node)

    def leave_Try(self, original_node: cst.Try, updated_node: cst.Try) -> cst.Try:
        self.stack.pop()
        return updated_node

    def visit_TryStar(self, node: cst.TryStar) -> None:
        self.stack.append(node)

    def leave_TryStar(self, original_node: cst.TryStar, updated_node: cst.TryStar) -> cst.TryStar:
        self.stack.pop()
        return updated_node

    def visit_With(self, node: cst.With) -> None:
        self.stack.append(node)

    def leave_With(self, original_node: cst.With, updated_node: cst.With) -> cst.With:
        self.stack.pop()
        return updated_node

    def visit_For(self, node: cst.For) -> None:
        self.stack.append(node)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.stack.append(node)

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.ClassDef:
        self.stack.pop()
        return updated_node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        owner = self.stack[-1] if self.stack else None
        if isinstance(owner, cst.ClassDef) and not is_staticmethod(node):
            self.self_clients[id(node)] = _self_clients(owner, self.spelling)
        self.stack.append(node)
        qualname = self.qualnames.get(id(node))
        plan = self.view.functions.get(qualname) if qualname else None
        usable = plan is not None and self.decide(plan, self.options) is not None
        self.functions.append((node, plan if usable else None))

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self.functions.pop()
        self.stack.pop()
        return updated_node

    def _safe_types(self) -> frozenset[str]:
        return SAFE_CLIENTS | frozenset(self.options.gather_safe)

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        if not self.functions or self.functions[-1][1] is None:
            return updated_node
        function, plan = self.functions[-1]
        assert plan is not None
        why_not = self._place(function)
        local = self._local(function, plan)
        candidates = [
            self._candidate(index, statement, function, local)
            for index, statement in enumerate(original_node.body)
        ]
        runs = _runs(candidates, self.options.unsafe_fixes, _immutable_params(function))
        if not runs:
            return updated_node
        body = list(updated_node.body)
        for run in reversed(runs):
            where = self._location(run[0], local)
            lines = f"lines {where.line}-{self._location(run[-1], local).line}"
            count = len(run)
            if why_not is not None:
                self._report(where, f"{count} independent awaits ({lines}) {why_not}", False, plan)
                continue
            if not all(item.safe for item in run) and not self.options.unsafe_fixes:
                self._report(
                    where,
                    f"{count} independent awaits ({lines}) could run concurrently, but not "
                    "all are read requests on a concurrency-safe client (a failure would "
                    "no longer stop the later calls): --unsafe-fixes gathers them",
                    False,
                    plan,
                )
                continue
            try:
                replacement = self._gathered(run, [body[item.index] for item in run])
            except _Refused as refusal:
                self._report(where, f"{count} independent awaits ({lines}): {refusal}", False, plan)
                continue
            body[run[0].index : run[-1].index + 1] = replacement
            self._report(
                where,
                f"{count} independent awaits ({lines}) now run concurrently with asyncio.gather",
                True,
                plan,
            )
        return updated_node.with_changes(body=body)

    def leave_For(self, original_node: cst.For, updated_node: cst.For) -> cst.BaseStatement:
        self.stack.pop()
        if (
            not self.functions
            or self.functions[-1][1] is None
            or self._place(self.functions[-1][0]) is not None
        ):
            return updated_node
        function, plan = self.functions[-1]
        assert plan is not None
        fan_out = self._fan_out(original_node, function, self._local(function, plan))
        if fan_out is None:
            return updated_node
        listed, call, safe = fan_out
        local = self._local(function, plan)
        where = self._location_of(original_node, local)
        if not safe and not self.options.unsafe_fixes:
            self._report(
                where,
                "a loop that awaits one call per item could gather them, but they are not "
                "read requests on a concurrency-safe client: --unsafe-fixes gathers them",
                False,
                plan,
            )
            return updated_node
        try:
            gather = self._gather_name(original_node)
        except _Refused as refusal:
            self._report(where, f"a loop of awaits could gather them: {refusal}", False, plan)
            return updated_node
        target = code(original_node.target)
        text = (
            f"{listed}.extend(await {gather.dotted}(*({code(call)} for {target} in "
            f"{code(original_node.iter)})))\n"
        )
        statement = cst.parse_statement(text)
        self._import(gather)
        self._report(
            where,
            "a loop awaiting one call per item now gathers them (results in the same order)",
            True,
            plan,
        )
        return statement.with_changes(leading_lines=updated_node.leading_lines)

    # -- where merging is allowed -----------------------------------------------------
    def _place(self, function: cst.FunctionDef) -> str | None:
        """Why awaits at this point must keep their order, or None."""
        for node in reversed(self.stack):
            if node is function:
                return None
            if isinstance(node, (cst.Try, cst.TryStar)):
                return "stay in order: they are inside a try, whose handlers would see a "
                "different set of failures"
            if isinstance(node, cst.For) and node.asynchronous is not None:
                return "stay in order: they are inside an async for"
            if isinstance(node, cst.With) and not self._client_with(node):
                return "stay in order: they are inside a with block that may depend on it"
            if isinstance(node, (cst.ClassDef, cst.FunctionDef)):
                return "stay in order"
        return None

    def _client_with(self, node: cst.With) -> bool:
        return node.asynchronous is not None and all(
            isinstance(item.item, cst.Call)
            and self._qualified(item.item.func) in self._safe_types()
            for item in node.items
        )

    # -- candidates ----------------------------------------------------------------------
    def _candidate(
        self,
        index: int,
        statement: cst.BaseStatement,
        function: cst.FunctionDef,
        local: LocalMetadata,
    ) -> _Await | None:
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            return None
        small = statement.body[0]
        target: cst.BaseAssignTargetExpression | None = None
        annotation = None
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            value: cst.BaseExpression | None = small.value
            target = small.targets[0].target
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            value, target, annotation = small.value, small.target, small.annotation
        elif isinstance(small, cst.Expr):
            value = small.value
        else:
            return None
        if not isinstance(value, cst.Await) or not isinstance(value.expression, cst.Call):
            return None
        if target is not None and not _simple_target(target):
            return None
        call = value.expression
        if self._qualified(call.func) in SLEEPS:
            return None
        receiver = _receiver(call)
        modules = self._modulenames_in()
        if receiver in modules and not local.is_local(_root(call)):
            receiver = None  # ``anyio.to_thread.run_sync(...)``: a module, no state
        safe = self._is_safe(call, receiver, function)
        if target is None and not safe:
            # Awaited for its effect (a check that raises, a message, a write): the
            # order is the point.
            return None
        return _Await(
            index=index,
            statement=statement,
            call=call,
            target=target,
            annotation=annotation,
            receiver=receiver,
            safe=safe,
            shareable=receiver is not None
            and self._receiver_kind(call, receiver, function) in self._safe_types(),
            reads=frozenset(names_in(call)),
            binds=frozenset(names_in(target)) if target is not None else frozenset(),
            passed=frozenset(_passed(call)) - modules,
            writes=self._writes(call, receiver, function),
            shared=self._shared(call),
        )

    def _is_safe(self, call: cst.Call, receiver: str | None, function: cst.FunctionDef) -> bool:
        if receiver is None or not isinstance(call.func, cst.Attribute):
            return False
        kind = self._receiver_kind(call, receiver, function)
        if kind is None:
            return False
        if kind in self.options.gather_safe:
            return True
        return kind in SAFE_CLIENTS and call.func.attr.value in READ_METHODS

    def _shared(self, call: cst.Call) -> frozenset[str]:
        """Shared objects the call reaches that are not documented as safe to share."""
        plan = self.functions[-1][1]
        index = self.indexes.get(id(call), -1)
        if plan is None or index not in plan.awaited_shared:
            return frozenset()
        safe = self._safe_types()
        return frozenset(name for name, kind in plan.awaited_shared[index] if kind not in safe)

    def _modulenames_in(self) -> frozenset[str]:
        """Names the module binds to imported modules (``anyio``, ``np``) and nothing
        else: calls through them share no object."""
        found = self.module_names
        if found is None:
            local = {name for name in self.spelling.modules.values() if "." not in name}
            found = self.module_names = frozenset(
                name for name in local if self.spelling.bindings(name) == 1
            )
        return found

    def _writes(self, call: cst.Call, receiver: str | None, function: cst.FunctionDef) -> bool:
        """A request on an HTTP client that is not a read: a later request may read
        what it created or changed."""
        if receiver is None or not isinstance(call.func, cst.Attribute):
            return False
        kind = self._receiver_kind(call, receiver, function)
        return kind in SAFE_CLIENTS and call.func.attr.value not in READ_METHODS

    def _receiver_kind(
        self, call: cst.Call, receiver: str, function: cst.FunctionDef
    ) -> str | None:
        """The client type of the call's receiver: ``self.http`` of a method whose class
        sets ``self.http = httpx.AsyncClient(...)`` (and nothing else), else
        ``_receiver_type`` of its root name."""
        attributes = self.self_clients.get(id(function))
        params = function.params.posonly_params or function.params.params
        if attributes is not None and params and isinstance(call.func, cst.Attribute):
            value = call.func.value
            if m.matches(value, m.Attribute(value=m.Name(params[0].name.value))):
                assert isinstance(value, cst.Attribute)
                return attributes.get(value.attr.value)
        return self._receiver_type(receiver, function)

    def _receiver_type(self, name: str, function: cst.FunctionDef) -> str | None:
        """The type of a local/module client, from ``async with X() as name``, an
        annotated parameter, or ``name = X(...)``."""
        for param in (*function.params.params, *function.params.kwonly_params):
            if param.name.value == name and param.annotation is not None:
                return self._qualified(param.annotation.annotation)
        clients = self.clients.get(id(function))
        if clients is None:
            clients = self.clients[id(function)] = _LocalClients.of(function)
        made = clients.entered.get(name) or clients.assigned.get(name)
        if made is not None:
            return self._qualified(made)
        return self.module_clients.get(name)

    def _qualified(self, node: cst.BaseExpression) -> str | None:
        name = get_full_name_for_node(node)
        return (self.spelling.qualified(name) or name) if name else None

    # -- rewriting -----------------------------------------------------------------------
    def _gathered(
        self, run: list[_Await], statements: list[cst.BaseStatement]
    ) -> list[cst.BaseStatement]:
        gather = self._gather_name(run[0].statement)
        targets = [item.target for item in run]
        function = self.functions[-1][0]
        if any(t is not None for t in targets) and any(t is None for t in targets):
            if find_all(function, m.Name("_")):
                raise _Refused("one has no target and `_` is already used here")
        spelled = [code(t) if t is not None else "_" for t in targets]
        spelled = [
            f"({text})" if "," in text and not text.startswith("(") else text for text in spelled
        ]
        calls = ""
        leading: list[cst.EmptyLine] = []
        for index, (item, original) in enumerate(zip(run, statements, strict=True)):
            # Each statement's comments stay with its call: those above it above the
            # argument, the one after it after the argument. Blank lines before the
            # first statement stay before the gather.
            assert isinstance(original, cst.SimpleStatementLine)
            above = list(original.leading_lines)
            if index == 0:
                last_blank = max(
                    (i for i, line in enumerate(above) if line.comment is None), default=-1
                )
                leading, above = above[: last_blank + 1], above[last_blank + 1 :]
            calls += "".join(f"    {line.comment.value}\n" for line in above if line.comment)
            comment = original.trailing_whitespace.comment
            # a call written over several lines moves one level deeper, all of it
            call = textwrap.indent(code(item.call), "    ")
            calls += f"{call},{f'  {comment.value}' if comment else ''}\n"
        head = f"{', '.join(spelled)} = " if any(t is not None for t in targets) else ""
        statement = cst.parse_statement(f"{head}await {gather.dotted}(\n{calls})\n")
        assert isinstance(statement, cst.SimpleStatementLine)
        declared: list[cst.BaseStatement] = [
            cst.SimpleStatementLine([cst.AnnAssign(item.target, item.annotation)])
            for item in run
            if item.annotation is not None and item.target is not None
        ]
        result = [*declared, statement]
        result[0] = result[0].with_changes(leading_lines=leading)
        self._import(gather)
        return result

    def _gather_name(self, at: cst.CSTNode) -> Spelled:
        try:
            return self.names.check(self.spelling.callable("asyncio.gather"), at)
        except Rebound as refusal:
            raise _Refused(str(refusal)) from None

    def _import(self, spelled: Spelled) -> None:
        if spelled.needs is not None:
            AddImportsVisitor.add_needed_import(self.context, *spelled.needs)

    def _fan_out(
        self, node: cst.For, function: cst.FunctionDef, local: LocalMetadata
    ) -> tuple[str, cst.Call, bool] | None:
        """``for u in xs: out.append(await call(u))`` -> (``out``, the call, safe?)."""
        if node.asynchronous is not None or node.orelse is not None:
            return None
        body = node.body.body
        if len(body) != 1:
            return None
        line = body[0]
        if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
            return None
        small = line.body[0]
        matcher = m.Expr(
            m.Call(
                func=m.Attribute(value=m.Name(), attr=m.Name("append")),
                args=[m.Arg(m.Await(m.Call()), keyword=None, star="")],
            )
        )
        if not m.matches(small, matcher):
            return None
        assert isinstance(small, cst.Expr) and isinstance(small.value, cst.Call)
        listed = small.value.func.value  # type: ignore[attr-defined]
        assert isinstance(listed, cst.Name)
        awaited = small.value.args[0].value
        assert isinstance(awaited, cst.Await) and isinstance(awaited.expression, cst.Call)
        call = awaited.expression
        if listed.value in names_in(call) or listed.value in names_in(node.iter):
            return None
        if self._qualified(call.func) in SLEEPS or not _simple_target(node.target):
            return None
        for name in names_in(node.target):  # the loop variable outlives the loop; a
            everywhere = len(find_all(function, m.Name(name)))  # generator's does not
            if everywhere != len(find_all(node, m.Name(name))):
                return None
        receiver = _receiver(call)
        return listed.value, call, self._is_safe(call, receiver, function)

    # -- positions and reports ---------------------------------------------------------
    def _local(self, function: cst.FunctionDef, plan: FunctionPlan) -> LocalMetadata:
        found = self.local.get(id(function))
        if found is None:
            found = self.local[id(function)] = LocalMetadata(function, plan.facts.location.line)
        return found

    def _location(self, item: _Await, local: LocalMetadata) -> Location:
        return self._location_of(item.call, local)

    def _location_of(self, node: cst.CSTNode, local: LocalMetadata) -> Location:
        start = local.positions[node].start
        return Location(start.line + local.offset, start.column + 1)

    def _report(self, where: Location, message: str, fixed: bool, plan: FunctionPlan) -> None:
        text = f"in async def {plan.facts.name}: {message}"
        self.report(where, text, fixed, plan.facts.qualname)


class _Refused(Exception):
    pass


# -- independence ----------------------------------------------------------------------
def _runs(
    candidates: list[_Await | None], unsafe: bool, immutable: frozenset[str]
) -> list[list[_Await]]:
    """Maximal runs of consecutive independent awaits (two or more)."""
    runs: list[list[_Await]] = []
    current: list[_Await] = []
    for candidate in [*candidates, None]:
        if candidate is not None and all(_independent(c, candidate, immutable) for c in current):
            current.append(candidate)
            continue
        if len(current) >= 2:
            runs.append(current)
        current = [candidate] if candidate is not None else []
    return runs


def _independent(earlier: _Await, later: _Await, immutable: frozenset[str]) -> bool:
    if earlier.writes:
        return False  # a POST, then a GET of what it created
    if earlier.shared & later.shared:
        return False  # one connection or database object, used by both
    if later.reads & earlier.binds or earlier.reads & later.binds:
        return False  # a data dependency, or a rebinding of what the other reads
    if earlier.binds & later.binds:
        return False
    if earlier.receiver is not None and earlier.receiver == later.receiver:
        return earlier.shareable and later.shareable  # a session or connection, twice at once
    changed = {
        *(earlier.passed - ({earlier.receiver} if earlier.shareable else set())),
        *(later.passed - ({later.receiver} if later.shareable else set())),
    }
    # an object one call receives whole (and may change) that the other reads
    return not ((earlier.passed & later.reads) | (later.passed & earlier.reads)) & (
        changed - immutable
    )


def _passed(call: cst.Call) -> set[str]:
    """Objects a call receives whole: its receiver and plain-name (or ``a.b``) arguments."""
    found = set()
    for value in [call.func.value if isinstance(call.func, cst.Attribute) else None] + [
        arg.value for arg in call.args
    ]:
        while isinstance(value, cst.Attribute):
            value = value.value
        if isinstance(value, cst.Name):
            found.add(value.value)
    return found


def _immutable_params(function: cst.FunctionDef) -> frozenset[str]:
    found = set()
    for param in (*function.params.params, *function.params.kwonly_params):
        if param.annotation is None:
            continue
        name = get_full_name_for_node(param.annotation.annotation)
        if name in IMMUTABLE:
            found.add(param.name.value)
    return frozenset(found)


def _root(call: cst.Call) -> cst.Name:
    """The name a method call's receiver starts from (``_receiver`` found one)."""
    assert isinstance(call.func, cst.Attribute)
    root = call.func.value
    while isinstance(root, cst.Attribute):
        root = root.value
    assert isinstance(root, cst.Name)
    return root


def _receiver(call: cst.Call) -> str | None:
    if not isinstance(call.func, cst.Attribute):
        return None
    root = call.func.value
    while isinstance(root, cst.Attribute):
        root = root.value
    return root.value if isinstance(root, cst.Name) else None


def _simple_target(target: cst.BaseExpression) -> bool:
    if isinstance(target, cst.Name):
        return True
    if isinstance(target, (cst.Tuple, cst.List)):
        return all(
            isinstance(element, cst.Element) and isinstance(element.value, cst.Name)
            for element in target.elements
        )
    return False


def _module_clients(module: cst.Module, spelling: Spelling, safe: frozenset[str]) -> dict[str, str]:
    """Module-level ``client = httpx.AsyncClient(...)``: name -> client type."""
    found: dict[str, str] = {}
    for statement in module.body:
        if not m.matches(
            statement,
            m.SimpleStatementLine([m.Assign(targets=[m.AssignTarget(m.Name())], value=m.Call())]),
        ):
            continue
        assert isinstance(statement, cst.SimpleStatementLine)
        assign = statement.body[0]
        assert isinstance(assign, cst.Assign) and isinstance(assign.value, cst.Call)
        name = get_full_name_for_node(assign.value.func)
        qualified = (spelling.qualified(name) or name) if name else None
        target = assign.targets[0].target
        if qualified in safe and isinstance(target, cst.Name):
            found[target.value] = qualified
    return found


def _self_clients(owner: cst.ClassDef, spelling: Spelling) -> dict[str, str | None]:
    """``self.name = X(...)`` in the class's own methods: name -> ``X`` qualified, or
    None where the name is also assigned anything else (its type is then unknown)."""
    found: dict[str, str | None] = {}
    for method in owner.body.body:
        if not isinstance(method, cst.FunctionDef) or is_staticmethod(method):
            continue
        params = method.params.posonly_params or method.params.params
        if not params:
            continue
        own = m.Attribute(value=m.Name(params[0].name.value))
        for node in find_all(method, m.Assign(targets=[m.AssignTarget(own)])):
            assert isinstance(node, cst.Assign)
            target = node.targets[0].target
            assert isinstance(target, cst.Attribute)
            name = (
                get_full_name_for_node(node.value.func)
                if isinstance(node.value, cst.Call)
                else None
            )
            made = (spelling.qualified(name) or name) if name else None
            attribute = target.attr.value
            found[attribute] = made if found.get(attribute, made) == made else None
        for node in find_all(method, m.AugAssign(target=own) | m.AnnAssign(target=own)):
            assert isinstance(node, (cst.AugAssign, cst.AnnAssign))
            assert isinstance(node.target, cst.Attribute)
            found[node.target.attr.value] = None
    return found


@dataclass(frozen=True, slots=True)
class _LocalClients:
    """Where a function makes its clients, by name, found in one search (it was two per
    awaited call): the first ``async with X(...) as name`` and the first
    ``name = X(...)``, each as the ``X`` that was called."""

    entered: dict[str, cst.BaseExpression]
    assigned: dict[str, cst.BaseExpression]

    @classmethod
    def of(cls, function: cst.FunctionDef) -> _LocalClients:
        found = cls({}, {})
        made = m.WithItem(item=m.Call(), asname=m.AsName(m.Name())) | m.Assign(
            targets=[m.AssignTarget(m.Name())], value=m.Call()
        )
        for node in find_all(function, made):
            if isinstance(node, cst.WithItem):
                assert node.asname is not None and isinstance(node.asname.name, cst.Name)
                assert isinstance(node.item, cst.Call)
                found.entered.setdefault(node.asname.name.value, node.item.func)
            else:
                assert isinstance(node, cst.Assign) and isinstance(node.value, cst.Call)
                target = node.targets[0].target
                assert isinstance(target, cst.Name)
                found.assigned.setdefault(target.value, node.value.func)
        return found
