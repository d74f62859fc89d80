"""offload-blocking: blocking calls inside real coroutines move off the event loop."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import libcst as cst
import libcst.matchers as m
from libcst.codemod.visitors import AddImportsVisitor
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    Scope,
)
from unjam.codemods import _shield as shield
from unjam.codemods import _thread_hop as hop
from unjam.codemods._base import Codemod, Decision, Example, Options, Safety
from unjam.codemods._bindings import NameCheck, Rebound
from unjam.codemods._local_metadata import LocalMetadata
from unjam.codemods._nodes import (
    AwaitsInPlace,
    blank_lines_above,
    find_all,
    unique_name,
    with_blank_lines_above,
)
from unjam.codemods._spelling import Spelled, Spelling
from unjam.codemods._with_block import (
    bound_for_sure,
    check_body,
    extract,
    inputs,
    names_in_and_out,
)

from unjam.analysis.catalog import default_catalog
from unjam.analysis.model import Effect
from unjam.analysis.names import short_name
from unjam.analysis.project import FunctionPlan
from unjam.analysis.suppression import is_suppressed

#: Calls whose arguments are already handed to a thread (or evaluated for one).
BRIDGES = frozenset(
    {"run_sync", "run_in_threadpool", "to_thread", "run_in_executor", "submit", "from_thread"}
)
#: Builtins that consume an iterable whole: a lazy scan passed to one runs inside it.
CONSUMERS = frozenset(
    {"list", "tuple", "set", "frozenset", "sorted", "dict", "sum", "min", "max", "any", "all"}
)
LAZY = (
    "it returns a lazy iterator: the work happens where the result is iterated, not "
    "here, so a thread would move nothing; iterate it in a for loop or wrap it in list()"
)
#: Where an ``await`` cannot go, and why.
BLOCKERS = {
    "genexp": "it is inside a generator expression (an await there would make it an "
    "async generator); offload the whole expression by hand",
    "bridge": "it is an argument of a call that already runs code in a thread, so it "
    "runs on the loop before the thread starts; move it into the threaded function",
    "lambda": "it is inside a lambda",
    "class": "it is inside a class body",
}


@dataclass
class _Coroutine:
    plan: FunctionPlan
    effects: dict[int, Effect]  # call index -> blocking effect
    hazards: dict[int, str]  # call index -> why it must stay on the loop
    affine: dict[int, str]  # call index -> thread-bound object it makes or uses
    reported: set[int] = field(default_factory=set)
    tries: int = 0
    loops: int = 0
    helpers: set[str] = field(default_factory=set)  # local helper names handed out
    #: helpers of blocks moved inside a loop, defined once before the outermost loop
    hoisted: list[cst.FunctionDef] = field(default_factory=list)


@dataclass
class _Hop:
    coroutine: _Coroutine
    effect: Effect
    inner: set[int] = field(default_factory=set)  # ids of blocking calls it also covers
    refusal: str | None = None  # why the chain as a whole must stay
    materialise: bool = False  # a lazy iterator, consumed with list() in the thread


@dataclass
class _Cleanup:
    """A ``finally`` (or re-raising ``except``) of a coroutine: new awaits in it run
    shielded (``cancel_scope``), or, when that cannot be written, not at all (``refusal``)."""

    coroutine: _Coroutine
    cancel_scope: Spelled | None
    refusal: str | None = None


@dataclass
class _Block:
    coroutine: _Coroutine
    helper: str
    params: list[str]
    returns: list[str]
    covered: list[Effect]


def _hazards(plan: FunctionPlan) -> dict[int, str]:
    """Calls of project helpers whose work must not move to another thread."""
    found: dict[int, str] = {}
    reasons = (
        (plan.loop_bound, "needs the running event loop ({name})"),
        (plan.context_writes, "sets a ContextVar ({name}), which a thread would set in a copy"),
        (plan.shared_writes, "writes shared state ({name}), which would race in a thread"),
        (plan.thread_affine, "uses {name}, which only works in the thread that made it"),
        (
            plan.shared_reads,
            "reads shared state ({name}) that coroutines change on the loop; in a thread "
            "it could see it half changed",
        ),
        (
            plan.default_sessions,
            "makes a client from the default session ({name}), which is not thread-safe; "
            "make a boto3.session.Session() per thread, or the client once at import",
        ),
    )
    for effects, reason in reasons:
        for effect in effects:
            if effect.call >= 0:
                found.setdefault(effect.call, reason.format(name=short_name(effect.name)))
    return found


class OffloadBlocking(AwaitsInPlace, Codemod):
    """## What it does
    Rewrites each blocking call inside an `async def` so that the event loop keeps
    running while it waits:

    - a call with a native async twin uses it: `time.sleep(x)` becomes
      `await anyio.sleep(x)` (`await asyncio.sleep(x)` in a module that imports asyncio
      and not anyio);
    - every other blocking call becomes `await anyio.to_thread.run_sync(fn, *args)`, or
      `await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))` when it
      has keyword arguments, in the same place in the expression:
      `x = f(a).json()` becomes `x = (await anyio.to_thread.run_sync(f, a)).json()`;
    - a chain whose inner calls block too (`open(p).read()`) costs one thread hop:
      `await anyio.to_thread.run_sync(lambda p: open(p).read(), p)`;
    - a `with` block whose context manager blocks (`with open(p) as fh: ...`) moves as a
      whole into a small local function that runs in one hop and returns the names the
      coroutine reads afterwards;
    - a call of your own sync helper that blocks (directly or further down) is offloaded
      where the coroutine calls it;
    - a lazy scan (`Path.glob`/`rglob`/`iterdir`/`walk`, `os.scandir`, `os.walk`,
      `glob.iglob`) does its work while it is iterated, so it moves with its iteration:
      `for p in root.rglob("*.txt")` becomes
      `for p in await anyio.to_thread.run_sync(lambda: list(root.rglob("*.txt")))`, and
      `sorted(root.glob("*"))` runs whole in the thread.

    `import anyio` and `import functools` are added once, unless the module already
    imports what is needed (`from anyio import to_thread` gives `to_thread.run_sync`).

    ## Why is this bad?
    A coroutine runs on the event loop. While a blocking call inside it waits, nothing
    else on that worker runs: other requests, health checks, timeouts. Awaiting a thread
    (or a native async function) gives the loop back until the result is ready.

    ## Example
    ```python
    @app.get("/report")
    async def report(user: User = Depends(current_user)):
        await audit.log(user)
        time.sleep(0.5)
        with open(REPORT) as fh:
            text = fh.read()
        return {"text": text, "owner": requests.get(OWNER_URL, timeout=5).json()}
    ```

    Use instead:
    ```python
    @app.get("/report")
    async def report(user: User = Depends(current_user)):
        await audit.log(user)
        await anyio.sleep(0.5)
        def _with_open():
            with open(REPORT) as fh:
                text = fh.read()
            return text
        text = await anyio.to_thread.run_sync(_with_open)
        return {
            "text": text,
            "owner": (
                await anyio.to_thread.run_sync(
                    functools.partial(requests.get, OWNER_URL, timeout=5)
                )
            ).json(),
        }
    ```
    (a line past the project's line length is wrapped the way black and ruff format
    wrap it; the line length is read from `[tool.ruff]` or `[tool.black]`, else 88).

    ## Fix safety
    Safe. Every value the call needs (receiver, arguments) is still evaluated once, on
    the loop, in the original order; only the call itself runs in the thread, and its
    result or exception comes back where it was. No lambda or helper captures a variable
    of the coroutine: values are passed as arguments.

    In cleanup code (a `finally`, or an `except` that re-raises or catches
    cancellation), the new await runs inside `with anyio.CancelScope(shield=True):`.
    Cleanup also runs when the request is cancelled (a client disconnect, a timeout),
    and under anyio an await in a cancelled scope fails at once: unshielded, the cleanup
    would never run. A cleanup block that yields cannot be shielded and stays as it is.

    It leaves the call as it is, and reports why in `unjam check`, when:
    - it is inside a generator expression, a lambda, a nested `def` or a class body (an
      `await` there is a syntax error or changes what the code means);
    - it is already an argument of `run_sync`, `run_in_threadpool`, `run_in_executor` or
      `asyncio.to_thread`;
    - the helper it calls needs the running event loop, sets a `ContextVar`, writes
      shared state, reads module-level state that coroutines change on the loop, makes
      a boto3 client from the default session, or uses a module-level `sqlite3` object
      (each works differently, or races, in a thread); a call that hands such state to
      the thread (`json.dump(SESSIONS, fh)`) stays too;
    - it is a lazy scan whose result is not iterated where it stands (assigned, returned,
      passed on): moving the call would move nothing; or a walk whose loop prunes it by
      changing the lists it yields;
    - a later argument of a blocking chain calls code (moving it before the inner
      blocking call could change what it sees);
    - the line or function is marked `# unjam: ignore[offload-blocking]`.

    A `with` block whose exit blocks (a file is closed, `with smtp:` sends QUIT) moves
    as a whole, also when its value was made earlier. When it cannot move, the calls in
    it are offloaded one by one and the report says that leaving the block still blocks
    ("partly: ..."). Calls cheaper than a thread hop (`[cheap]` in the catalog, each with
    its reason, such as `Path.absolute`) are never offloaded.

    A `with` block moves as a whole only if it does not await, return, yield, `break`
    out, delete names, declare `global`/`nonlocal` or define functions, and (when the
    coroutine reads names it assigns) is not inside a `try` that could observe a
    half-run block; otherwise its calls are offloaded one by one.

    An `async def` that never awaits is left to `demote-sync` when that pass can demote
    it (it runs first); sync `def` routes are never touched: FastAPI already threads them.

    ## run_sync is a bridge
    `anyio.to_thread.run_sync` uses anyio's default thread limiter: 40 threads per
    process, shared with FastAPI's own threadpool for `def` routes. A route that fans out
    many offloaded calls, or a service where most routes offload, can queue on that
    limit; raise it (`anyio.to_thread.current_default_thread_limiter().total_tokens`) or
    prefer a truly async library where one exists: `httpx.AsyncClient` instead of
    `requests` (see `requests-to-httpx`), SQLAlchemy's `AsyncSession`, `asyncpg`,
    `aiofiles`/`anyio.Path`, `redis.asyncio`. A thread also keeps running when the
    request is cancelled: `run_sync` waits for it before the cancellation is delivered.
    """

    NAME = "offload-blocking"
    WALKS_DECIDED_ONLY = True
    DESCRIPTION = (
        "Move blocking calls inside coroutines off the event loop (async twin or worker thread)."
    )
    SAFETY = Safety.SAFE
    EXAMPLES: ClassVar[tuple[Example, ...]] = (
        Example(
            before=(
                "import asyncio\nimport time\n\nfrom fastapi import FastAPI\n\n"
                "app = FastAPI()\n\n\n"
                '@app.get("/nap")\nasync def nap() -> dict:\n'
                "    await asyncio.sleep(0)\n    time.sleep(1)  # slow\n    return {}\n"
            ),
            after=(
                "import asyncio\n\nfrom fastapi import FastAPI\n\n"
                "app = FastAPI()\n\n\n"
                '@app.get("/nap")\nasync def nap() -> dict:\n'
                "    await asyncio.sleep(0)\n    await asyncio.sleep(1)  # slow\n    return {}\n"
            ),
        ),
        Example(
            before=(
                "import time\n\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
                '@app.get("/sync")\ndef sync_route() -> dict:\n'
                "    time.sleep(1)\n    return {}\n"
            ),
        ),
    )

    @classmethod
    def decide(cls, plan: FunctionPlan, options: Options) -> Decision | None:
        if not plan.facts.is_async or is_suppressed(plan.facts.suppressed, cls.NAME):
            return None
        if not plan.blocking:
            return None
        count = sum(1 for effect in plan.blocking if not effect.deferred)
        if not count:
            return Decision("blocking calls in generator expressions: offload by hand", False)
        return Decision(f"offload {count} blocking call{'s' if count > 1 else ''}", True)

    # -- the walk ----------------------------------------------------------------------
    def visit_Module(self, node: cst.Module) -> None:
        self.code = self.code_of(node)
        self.metadata_of: dict[int, LocalMetadata] = {}
        self.function_nodes: list[cst.FunctionDef] = []
        self.start_placing()
        self.spelling = Spelling.of(node)
        self.names = NameCheck(node, self.code, self.spelling)
        self.frames: list[str | _Coroutine] = []
        self.hops: dict[int, _Hop] = {}
        self.hop_stack: list[_Hop] = []
        self.blocks: dict[int, _Block] = {}
        self.with_notes: dict[int, str] = {}
        self.bridges: set[int] = set()
        self.cleanups: list[_Cleanup | None] = []
        self.catalog = default_catalog()
        #: Lazy scans iterated where they stand (by ``id``), and why others must stay.
        self.iterated: set[int] = set()
        self.lazy_refusals: dict[int, str] = {}

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.function_nodes.append(node)
        qualname = self.qualnames.get(id(node))
        plan = self.view.functions.get(qualname) if qualname else None
        if plan is None or not plan.facts.is_async or self.is_suppressed(self.view, plan):
            self.frames.append("sync")
            return
        effects = {e.call: e for e in plan.blocking if e.call >= 0}
        catalog = self.catalog
        affine = {
            index: f"makes or uses a {effect.name.split('.')[0]} object, which "
            "works only in the thread that made it, and each hop may run in another thread"
            for index, effect in effects.items()
            if not effect.via and catalog.thread_affine(effect.name)
        }
        self.frames.append(_Coroutine(plan, effects, _hazards(plan), affine))

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        frame = self.frames.pop()
        self.function_nodes.pop()
        if isinstance(frame, _Coroutine):
            for effect in frame.plan.blocking:
                if effect.call not in frame.reported and not self._line_ignored(effect):
                    self._refuse(
                        frame,
                        effect,
                        "unjam could not place an await there (a decorator "
                        "or default value of a nested function)",
                    )
        return updated_node

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.frames.append("lambda")

    def leave_Lambda(self, original_node: cst.Lambda, updated_node: cst.Lambda) -> cst.Lambda:
        self.frames.pop()
        return updated_node

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.frames.append("class")

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.ClassDef:
        self.frames.pop()
        return updated_node

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self.frames.append("genexp")

    def leave_GeneratorExp(
        self, original_node: cst.GeneratorExp, updated_node: cst.GeneratorExp
    ) -> cst.GeneratorExp:
        self.frames.pop()
        return updated_node

    def visit_Try(self, node: cst.Try) -> None:
        if isinstance(coroutine := self._enclosing(), _Coroutine):
            coroutine.tries += 1

    def leave_Try(self, original_node: cst.Try, updated_node: cst.Try) -> cst.Try:
        if isinstance(coroutine := self._enclosing(), _Coroutine):
            coroutine.tries -= 1
        return updated_node

    def visit_For(self, node: cst.For) -> None:
        if isinstance(coroutine := self._enclosing(), _Coroutine):
            coroutine.loops += 1
            if node.asynchronous is None:
                self._note_iterated(coroutine, node.iter, node.target, node.body)

    def visit_ListComp(self, node: cst.ListComp) -> None:
        self._note_comprehension(node)

    def visit_SetComp(self, node: cst.SetComp) -> None:
        self._note_comprehension(node)

    def visit_DictComp(self, node: cst.DictComp) -> None:
        self._note_comprehension(node)

    def _note_comprehension(self, node: cst.ListComp | cst.SetComp | cst.DictComp) -> None:
        """The first ``for`` of a comprehension is evaluated where it stands."""
        coroutine, blocker = self._coroutine()
        if coroutine is not None and blocker is None and node.for_in.asynchronous is None:
            self._note_iterated(coroutine, node.for_in.iter, node.for_in.target, node)

    def _note_iterated(
        self,
        coroutine: _Coroutine,
        iterable: cst.BaseExpression,
        target: cst.BaseExpression,
        body: cst.CSTNode,
    ) -> None:
        """A lazy scan iterated right here can be materialised in the thread: its
        items are then read from a list, in the same order. A walk whose loop changes
        the lists it yields (to prune the walk) must see the walk react, so it stays."""
        if not isinstance(iterable, cst.Call):
            return
        effect = coroutine.effects.get(self.indexes.get(id(iterable), -1))
        if effect is None or effect.via or effect.name not in self.catalog.lazy:
            return
        if effect.name in self.catalog.pruned and _changes_items(target, body):
            self.lazy_refusals[id(iterable)] = (
                "the loop changes the lists the walk yields (pruning it), which a walk "
                "listed in advance would ignore"
            )
            return
        self.iterated.add(id(iterable))

    def leave_For(
        self, original_node: cst.For, updated_node: cst.For
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        return self._left_loop(original_node, updated_node)

    def visit_While(self, node: cst.While) -> None:
        if isinstance(coroutine := self._enclosing(), _Coroutine):
            coroutine.loops += 1

    def leave_While(
        self, original_node: cst.While, updated_node: cst.While
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        return self._left_loop(original_node, updated_node)

    def _left_loop(
        self, original: cst.For | cst.While, loop: cst.For | cst.While
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        """The loop, after the helpers of the blocks moved inside it once it is the
        outermost loop: a ``def`` per iteration would build the same function again
        each time (the helpers read no local but their parameters, so where they are
        defined does not change what they do)."""
        coroutine = self._enclosing()
        if not isinstance(coroutine, _Coroutine):
            return loop
        coroutine.loops -= 1
        if coroutine.loops or not coroutine.hoisted:
            return loop
        first, *others = coroutine.hoisted
        coroutine.hoisted.clear()
        above = blank_lines_above(loop) or (0 if self._opens_block(original) else 1)
        helpers = [
            with_blank_lines_above(first, above),
            *(with_blank_lines_above(helper, 1) for helper in others),
        ]
        return cst.FlattenSentinel([*helpers, with_blank_lines_above(loop, 1)])

    def _lines(self, node: cst.With) -> tuple[int, int]:
        """First and last module line of a ``with`` statement: the analysis of the tree
        being walked knows them; otherwise the function is written out to learn them."""
        index = self.walked_index
        known = index.with_lines.get(id(node)) if index is not None else None
        if known is not None:
            return known
        metadata = self._metadata()
        position = metadata.positions[node]
        return position.start.line + metadata.offset, position.end.line + metadata.offset

    def _enclosing(self) -> str | _Coroutine | None:
        """The innermost frame that decides where an await can go."""
        return self.frames[-1] if self.frames else None

    def _coroutine(self) -> tuple[_Coroutine | None, str | None]:
        """The coroutine this point belongs to, and what stands in the way of an await."""
        blocker = None
        for frame in reversed(self.frames):
            if isinstance(frame, _Coroutine):
                return frame, blocker
            if frame == "sync":
                return None, None
            if blocker is None:
                blocker = frame
        return None, None

    # -- cleanup code --------------------------------------------------------------------
    def visit_Finally(self, node: cst.Finally) -> None:
        self._enter_cleanup(node, node.body)

    def leave_Finally(self, original_node: cst.Finally, updated_node: cst.Finally) -> cst.Finally:
        return updated_node.with_changes(body=self._leave_cleanup(updated_node.body))

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self._enter_cleanup(node, node.body if shield.is_cleanup(node) else None)

    def leave_ExceptHandler(
        self, original_node: cst.ExceptHandler, updated_node: cst.ExceptHandler
    ) -> cst.ExceptHandler:
        return updated_node.with_changes(body=self._leave_cleanup(updated_node.body))

    def _enter_cleanup(self, node: cst.CSTNode, body: cst.BaseSuite | None) -> None:
        coroutine, blocker = self._coroutine()
        if body is None or coroutine is None or blocker is not None:
            self.cleanups.append(None)
            return
        why = "it runs as cleanup when the request is cancelled, where an await fails at once"
        try:
            if shield.yields(body):
                raise Rebound("the block yields, so it cannot run in a shielded scope")
            cancel_scope = self._spelled(self.spelling.callable("anyio.CancelScope"), node)
        except Rebound as refusal:
            self.cleanups.append(_Cleanup(coroutine, None, f"{why}; {refusal}"))
            return
        self.cleanups.append(_Cleanup(coroutine, cancel_scope))

    def _leave_cleanup(self, body: cst.BaseSuite) -> cst.BaseSuite:
        cleanup = self.cleanups.pop()
        if cleanup is None or cleanup.cancel_scope is None:
            return body
        shielded = shield.shield(body, lambda node: id(node) in self.produced, cleanup.cancel_scope)
        if shielded is not body:
            self._import(cleanup.cancel_scope)
        return shielded

    def _cleanup_refusal(self, coroutine: _Coroutine) -> str | None:
        """Why no await may be added here, when this point is cleanup code of
        ``coroutine`` that cannot be shielded."""
        for cleanup in reversed(self.cleanups):
            if cleanup is not None and cleanup.coroutine is coroutine:
                if cleanup.refusal is not None:
                    return cleanup.refusal
        return None

    # -- calls -------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        index = self.indexes.get(id(node), -1)
        coroutine, blocker = self._coroutine()
        if coroutine is None:
            return
        effect = coroutine.effects.get(index)
        if effect is None:
            effect = self._consumed_lazy(node, coroutine, blocker)
            if effect is None:
                self._note_bridge(node)
                return
            self.hops[id(node)] = _Hop(coroutine, effect)
            self.hop_stack.append(self.hops[id(node)])
            self.frames.append("hop")
            return
        if blocker == "block":
            return
        if blocker == "hop":
            current = self._current_hop()
            current.inner.add(id(node))
            reason = coroutine.hazards.get(index) or coroutine.affine.get(index)
            if self._line_ignored(effect):
                reason = "a call in the chain is marked unjam: ignore"
            if reason is not None and current.refusal is None:
                current.refusal = f"a call in the chain {reason}"
            return
        if self._line_ignored(effect):
            coroutine.reported.add(index)
            return
        if blocker is not None:
            self._refuse(coroutine, effect, BLOCKERS[blocker])
            return
        reason = coroutine.hazards.get(index) or coroutine.affine.get(index)
        if reason is not None:
            self._refuse(coroutine, effect, f"it {reason}")
            return
        if (cleanup := self._cleanup_refusal(coroutine)) is not None:
            self._refuse(coroutine, effect, cleanup)
            return
        if (handed := self._hands_shared_state(node, coroutine)) is not None:
            self._refuse(coroutine, effect, handed)
            return
        materialise = False
        if not effect.via and effect.name in self.catalog.lazy:
            if id(node) not in self.iterated:
                self._refuse(coroutine, effect, self.lazy_refusals.get(id(node), LAZY))
                return
            materialise = True
        self.hops[id(node)] = planned = _Hop(coroutine, effect, materialise=materialise)
        self.hop_stack.append(planned)
        self.frames.append("hop")

    def _note_bridge(self, node: cst.Call) -> None:
        name = get_full_name_for_node(node.func)
        if name is not None and name.rsplit(".", 1)[-1] in BRIDGES:
            self.bridges.add(id(node))
            self.frames.append("bridge")

    def _hands_shared_state(self, node: cst.Call, coroutine: _Coroutine) -> str | None:
        """Why the call must stay when it hands the thread a module-level object that
        coroutines change on the loop (``json.dump(SESSIONS, fh)``): the thread would
        read it while they change it."""
        changed = {
            effect.name.rsplit(".", 1)[-1]: effect.name
            for effect in coroutine.plan.shared_reads
            if not effect.via
        }
        if not changed:
            return None
        for found in find_all(node, m.Name()):
            assert isinstance(found, cst.Name)
            if found.value in changed and not self._metadata().is_local(found):
                return (
                    f"it hands {short_name(changed[found.value])}, which coroutines change "
                    "on the loop, to the thread, which could see it half changed"
                )
        return None

    def _consumed_lazy(
        self, node: cst.Call, coroutine: _Coroutine, blocker: str | None
    ) -> Effect | None:
        """``list(path.glob(...))``: the consumer and the lazy scan move in one hop;
        the scan's effect, when ``node`` is such a consumer."""
        if blocker is not None or not isinstance(node.func, cst.Name):
            return None
        if node.func.value not in CONSUMERS or not node.args:
            return None
        first = node.args[0]
        if first.keyword is not None or first.star or not isinstance(first.value, cst.Call):
            return None
        effect = coroutine.effects.get(self.indexes.get(id(first.value), -1))
        if effect is None or effect.via or effect.name not in self.catalog.lazy:
            return None
        if self._metadata().is_local(node.func):
            return None
        return effect

    def _current_hop(self) -> _Hop:
        return self.hop_stack[-1]

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        updated_node = self.keep_bound(updated_node)
        if id(original_node) in self.bridges:
            self.frames.pop()
            return updated_node
        planned = self.hops.get(id(original_node))
        if planned is None:
            return updated_node
        self.frames.pop()
        self.hop_stack.pop()
        coroutine, effect = planned.coroutine, planned.effect
        covered = self._covered(planned, original_node)
        inner = [e for e in covered if e is not effect]
        result: cst.Await
        try:
            if planned.refusal is not None:
                raise hop.Refused(planned.refusal)
            if planned.materialise:
                run_sync = self._spelled(self.spelling.run_sync(), original_node)
                result = self._materialised(original_node, planned, run_sync)
                how = (
                    "now runs in a worker thread, read into a list there (it returns a "
                    "lazy iterator)"
                )
                self._import(run_sync)
            elif planned.inner:
                run_sync = self._spelled(self.spelling.run_sync(), original_node)
                result = hop.chained_hop(
                    original_node, planned.inner | {id(original_node)}, self._is_global, run_sync
                )
                how = "now runs in a worker thread, one hop for the whole chain"
                self._import(run_sync)
            elif effect.twin is not None and not effect.via:
                twin = self._spelled(self.spelling.twin(effect.twin), original_node)
                result = hop.with_twin(updated_node, twin)
                how = f"now awaits {twin.dotted}"
                self._import(twin)
            else:
                run_sync = self._spelled(self.spelling.run_sync(), original_node)
                partial = None
                if any(arg.keyword is not None or arg.star == "**" for arg in updated_node.args):
                    partial = self._spelled(self.spelling.partial(), original_node)
                result = hop.simple_hop(updated_node, run_sync, partial)
                how = f"now runs in a worker thread ({run_sync.dotted})"
                self._import(run_sync, *([partial] if partial else []))
        except (hop.Refused, Rebound) as refusal:
            for each in covered:
                self._refuse(coroutine, each, str(refusal))
            return updated_node
        note = self.with_notes.get(effect.call)
        self._fixed(coroutine, effect, how + (f" ({note})" if note else ""))
        for each in inner:
            self._fixed(
                coroutine, each, f"moved to a worker thread with line {effect.location.line}"
            )
        return self.placed(result)

    def _materialised(self, node: cst.Call, planned: _Hop, run_sync: Spelled) -> cst.Await:
        """``for p in d.glob("*")`` becomes
        ``for p in await run_sync(lambda d: list(d.glob("*")), d)``."""
        listing = cst.Name("list")
        if self._metadata().binds(node, "list"):
            raise hop.Refused("the name list means something else here")
        whole = cst.Call(listing, args=[cst.Arg(node)])
        result = hop.chained_hop(
            whole,
            planned.inner | {id(node), id(whole)},
            lambda name: name is listing or self._is_global(name),
            run_sync,
        )
        return result.with_changes(lpar=node.lpar, rpar=node.rpar)

    def _covered(self, planned: _Hop, node: cst.Call) -> list[Effect]:
        indexes = sorted(self.indexes[call_id] for call_id in {id(node), *planned.inner})
        effects = planned.coroutine.effects
        return [effects[index] for index in indexes if index in effects]

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.Attribute:
        return self.keep_bound(updated_node)

    # -- metadata, resolved only when a rewrite needs it -----------------------------------
    def _metadata(self) -> LocalMetadata:
        """Scopes and positions of the outermost function around this point, computed on
        that function alone (see ``LocalMetadata``)."""
        outermost = self.function_nodes[0]
        found = self.metadata_of.get(id(outermost))
        if found is None:
            qualname = self.qualnames.get(id(outermost))
            plan = self.view.functions.get(qualname) if qualname else None
            found = LocalMetadata(outermost, plan.facts.location.line if plan else None)
            self.metadata_of[id(outermost)] = found
        return found

    def _is_global(self, name: cst.Name) -> bool:
        """Whether a name the thread would look up is module-level or a builtin."""
        # Seen from the function alone, a module-level name has no binding at all.
        return self._metadata().binds(name, name.value) is False

    def _spelled(self, spelled: Spelled, at: cst.CSTNode) -> Spelled:
        """Use ``spelled``, adding its import, unless its root name means something
        else where the rewrite goes (see ``NameCheck``)."""
        return self.names.check(spelled, at)

    def _import(self, *used: Spelled) -> None:
        """Add what a finished rewrite needs; ``AddImportsVisitor`` adds each once."""
        for spelled in used:
            if spelled.needs is not None:
                AddImportsVisitor.add_needed_import(self.context, *spelled.needs)

    # -- with blocks -------------------------------------------------------------------
    def visit_With(self, node: cst.With) -> None:
        coroutine, blocker = self._coroutine()
        if coroutine is None or blocker is not None:
            return
        items = [
            coroutine.effects[self.indexes[id(item.item)]]
            for item in node.items
            if isinstance(item.item, cst.Call)
            and self.indexes.get(id(item.item), -1) in coroutine.effects
        ]
        exits = self._blocking_exits(node, coroutine, items)
        if not items and not exits:
            return
        try:
            block = self._block(node, coroutine)
            if not block.covered:
                raise hop.Refused("nothing in it blocks but leaving it")
        except hop.Refused as refusal:
            note = f"its with block stays: {refusal}"
            if exits:
                note = (
                    f"partly: leaving the with block ({', '.join(exits)}) still blocks "
                    f"the loop, because {note}"
                )
            calls = {self.indexes[id(call)] for call in find_all(node, m.Call())}
            for effect in coroutine.effects.values():
                if effect in items or (exits and effect.call in calls):
                    self.with_notes.setdefault(effect.call, note)
            return
        self.blocks[id(node)] = block
        self.frames.append("block")

    def _blocking_exits(
        self, node: cst.With, coroutine: _Coroutine, items: list[Effect]
    ) -> list[str]:
        """What leaving the block calls that blocks: the exit of a value a blocking item
        makes (``open`` -> closing the file), or of a catalog value named as an item
        (``with smtp:``, from the analysis)."""
        found = [
            f"{short_name(made)}.__exit__"
            for effect in items
            if (made := self.catalog.returned_type(effect.name)) is not None
            and self.catalog.exit_blocks(made)
        ]
        if coroutine.plan.facts.blocking_exits:
            first = self._lines(node)[0]
            found += [
                f"{short_name(kind)}.__exit__"
                for line, kind in coroutine.plan.facts.blocking_exits
                if line == first
            ]
        return list(dict.fromkeys(found))

    def _block(self, node: cst.With, coroutine: _Coroutine) -> _Block:
        check_body(node)
        if (cleanup := self._cleanup_refusal(coroutine)) is not None:
            raise hop.Refused(cleanup)
        first, last = self._lines(node)
        calls = {self.indexes[id(call)] for call in find_all(node, m.Call())}
        inside = [effect for index, effect in coroutine.effects.items() if index in calls]
        if any(self._line_ignored(effect) for effect in inside):
            raise hop.Refused("a call in it is marked unjam: ignore")
        for index, reason in coroutine.hazards.items():
            if index in calls:
                raise hop.Refused(f"a call in it {reason}")
        for effects in (coroutine.plan.shared_writes, coroutine.plan.context_writes):
            for effect in effects:
                if first <= effect.location.line <= last:
                    raise hop.Refused(
                        f"it writes {short_name(effect.name)} at line {effect.location.line}"
                    )
        for effect in coroutine.plan.shared_reads:
            if first <= effect.location.line <= last:
                raise hop.Refused(
                    f"it reads {short_name(effect.name)} at line {effect.location.line}, "
                    "which coroutines change on the loop"
                )
        metadata = self._metadata()  # the function's scopes: only for a block that may move
        scope = metadata.scopes.get(node)
        if scope is None:
            raise hop.Refused("unjam could not resolve its names")
        params, returns = names_in_and_out(node, scope, metadata.order, coroutine.loops > 0)
        params = inputs(node, scope, params, metadata.parents, self.function_nodes[-1])
        if returns and coroutine.tries:
            raise hop.Refused("it sits in a try statement that could see it half done")
        unsure = [name for name in returns if name not in params and not bound_for_sure(node, name)]
        if unsure:
            raise hop.Refused(f"{unsure[0]} is not assigned on every path through it")
        helper = self._helper_name(node, scope, coroutine)
        return _Block(coroutine, helper, params, returns, inside)

    @staticmethod
    def _helper_name(node: cst.With, scope: Scope, coroutine: _Coroutine) -> str:
        first = node.items[0].item
        callee = get_full_name_for_node(first.func if isinstance(first, cst.Call) else first)
        base = "_with_" + (callee or "block").rsplit(".", 1)[-1].lstrip("_")
        name = unique_name(base, lambda name: name in scope or name in coroutine.helpers)
        coroutine.helpers.add(name)
        return name

    def leave_With(
        self, original_node: cst.With, updated_node: cst.With
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        block = self.blocks.get(id(original_node))
        if block is None:
            return updated_node
        self.frames.pop()
        try:
            run_sync = self._spelled(self.spelling.run_sync(), original_node)
        except Rebound as refusal:
            for effect in block.covered:
                self._refuse(block.coroutine, effect, str(refusal))
            return updated_node
        extracted = extract(updated_node, block.helper, block.params, block.returns, run_sync)
        for placed in find_all(extracted.call, m.Await()):
            assert isinstance(placed, cst.Await)
            self.placed(placed)
        self._import(run_sync)
        line = self._lines(original_node)[0]
        first, *others = block.covered
        for effect in others:
            block.coroutine.reported.add(effect.call)
        calls = list(dict.fromkeys(short_name(effect.name) for effect in others))
        also = f" with {', '.join(calls)} inside" if calls else ""
        self._fixed(  # one finding per block: one rewrite
            block.coroutine,
            first,
            f"the with block at line {line}{also} now runs in a worker thread as a whole "
            f"({block.helper})",
        )
        if block.coroutine.loops:  # defined once, before the outermost loop
            block.coroutine.hoisted.append(extracted.helper.with_changes(leading_lines=()))
            return extracted.call.with_changes(leading_lines=updated_node.leading_lines)
        helper, call = _spaced(extracted.helper, extracted.call, self._opens_block(original_node))
        return cst.FlattenSentinel([helper, call])

    def _opens_block(self, node: cst.BaseStatement) -> bool:
        """Whether ``node`` is the first statement of its block."""
        parent = self._metadata().parents.parent.get(node)
        return isinstance(parent, cst.IndentedBlock) and parent.body[:1] == [node]

    # -- reporting ---------------------------------------------------------------------
    def _line_ignored(self, effect: Effect) -> bool:
        codes = self.view.suppressed_lines.get(effect.location.line, frozenset())
        return is_suppressed(codes, self.NAME)

    def _describe(self, coroutine: _Coroutine, effect: Effect) -> str:
        via = f" via {' → '.join(short_name(v) for v in effect.via)}" if effect.via else ""
        return (
            f"{short_name(effect.name)}{via} blocks the event loop in async def "
            f"{coroutine.plan.facts.name}"
        )

    def _fixed(self, coroutine: _Coroutine, effect: Effect, how: str) -> None:
        coroutine.reported.add(effect.call)
        if any(c is not None and c.coroutine is coroutine for c in self.cleanups):
            how += ", shielded from cancellation (cleanup code must run to its end)"
        self.report(
            effect.location,
            f"{self._describe(coroutine, effect)}: {how}",
            True,
            coroutine.plan.facts.qualname,
        )

    def _refuse(self, coroutine: _Coroutine, effect: Effect, why: str) -> None:
        coroutine.reported.add(effect.call)
        self.report(
            effect.location,
            f"{self._describe(coroutine, effect)} but stays: {why}",
            False,
            coroutine.plan.facts.qualname,
        )


def _changes_items(target: cst.BaseExpression, body: cst.CSTNode) -> bool:
    """Whether the loop may change a list it is handed: a method called on a target
    name (``dirs.remove(x)``), or an item or slice of it assigned or deleted."""
    names = {found.value for found in find_all(target, m.Name()) if isinstance(found, cst.Name)}
    on_target = m.Name(m.MatchIfTrue(lambda value: value in names))
    changed = (
        m.Call(func=m.Attribute(value=on_target))
        | m.AssignTarget(target=m.Subscript(value=on_target))
        | m.AugAssign(target=m.Subscript(value=on_target))
        | m.Del(target=m.Subscript(value=on_target))
    )
    return bool(find_all(body, changed))


def _spaced(
    helper: cst.FunctionDef, call: cst.SimpleStatementLine, first: bool
) -> tuple[cst.FunctionDef, cst.SimpleStatementLine]:
    """A blank line around the local function, as black and ruff format keep a nested
    ``def`` (none above it when it opens its block)."""
    leading = list(helper.leading_lines)
    if not first and not (leading and leading[0].comment is None):
        leading.insert(0, cst.EmptyLine(indent=False))
    return helper.with_changes(leading_lines=leading), call.with_changes(
        leading_lines=[cst.EmptyLine(indent=False)]
    )
