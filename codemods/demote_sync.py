"""demote-sync: async FastAPI callables that never await but block become ``def``."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor
from unjam.codemods._base import Codemod, Decision, Example, Options, Safety, Site

from unjam.analysis.model import Kind
from unjam.analysis.names import short_name
from unjam.analysis.project import FunctionPlan, ModuleView

#: FastAPI runs these in its threadpool when they are plain functions.
THREADED = frozenset({Kind.ENDPOINT, Kind.DEPENDENCY, Kind.EXCEPTION_HANDLER, Kind.BACKGROUND_TASK})
#: These must stay coroutines: Starlette awaits them or drives them as async iterators.
MUST_STAY_ASYNC = {
    Kind.WEBSOCKET: "websocket endpoints must stay async",
    Kind.MIDDLEWARE: "middleware must stay async",
    Kind.LIFESPAN: "lifespan handlers must stay async",
}
#: Async iterator annotations and their sync counterparts, per module that defines them.
SYNC_TWINS = {
    "AsyncGenerator": "Generator",
    "AsyncIterator": "Iterator",
    "AsyncIterable": "Iterable",
}
TWIN_MODULES = frozenset({"typing", "typing_extensions", "collections.abc"})
#: How many callers a refusal names before "and N more".
SHOWN_CALLERS = 3


@dataclass(frozen=True, slots=True)
class Verdict:
    demote: bool
    message: str


def verdict(plan: FunctionPlan) -> Verdict | None:
    """Whether to demote ``plan``'s function, and why; None when this pass has no say."""
    facts = plan.facts
    if not facts.is_async or not plan.kinds or not plan.blocking or facts.awaits:
        return None
    first = plan.blocking[0]
    blocks = f"{short_name(first.name)} (line {first.location.line})"
    refused = _refusal(plan)
    if refused is not None:
        return Verdict(
            False, f"async def {facts.name} blocks on {blocks} but stays async: {refused}"
        )
    return Verdict(
        True,
        f"async def {facts.name} never awaits and blocks on {blocks}: "
        "made def so FastAPI runs it in its threadpool",
    )


def _refusal(plan: FunctionPlan) -> str | None:
    facts = plan.facts
    for kind, reason in MUST_STAY_ASYNC.items():
        if kind in plan.kinds:
            return reason
    if not plan.kinds & THREADED:
        return (
            "FastAPI calls sync startup/shutdown handlers on the event loop as well, so "
            "demoting would not help; offload the blocking calls instead"
        )
    if facts.is_generator and plan.kinds != {Kind.DEPENDENCY}:
        return "only dependencies may be generators"
    if plan.used_by:
        return f"{_callers(plan)} (a def would hand them a result, not a coroutine)"
    if plan.loop_bound:
        effect = plan.loop_bound[0]
        return (
            f"{short_name(effect.name)} at line {effect.location.line} needs the running event loop"
        )
    if plan.unawaited_coroutines:
        call = plan.unawaited_coroutines[0]
        return (
            f"it creates a coroutine with {short_name(call.target)}() at line {call.location.line}"
        )
    if plan.context_writes:
        effect = plan.context_writes[0]
        return (
            f"it sets a ContextVar at line {effect.location.line}; in the threadpool the "
            "value would not reach the request's own context"
        )
    if plan.thread_affine:
        effect = plan.thread_affine[0]
        return (
            f"it uses {effect.name} at line {effect.location.line}, made at module level; "
            "sqlite3 objects only work in the thread that made them"
        )
    if plan.default_sessions:
        effect = plan.default_sessions[0]
        return (
            f"it makes a client from the default session ({short_name(effect.name)} at line "
            f"{effect.location.line}), which is not thread-safe; in the threadpool "
            "requests would make clients at the same time"
        )
    if plan.shared_writes:
        effect = plan.shared_writes[0]
        via = f" via {short_name(effect.via[0])}" if effect.via else ""
        return (
            f"it writes shared state ({effect.name} at line {effect.location.line}{via}); "
            "on the event loop no other request runs in between, in the threadpool one can"
        )
    if plan.shared_reads:
        effect = plan.shared_reads[0]
        return (
            f"it reads shared state ({short_name(effect.name)} at line "
            f"{effect.location.line}) that coroutines change on the loop; in the "
            "threadpool it could see it half changed"
        )
    if facts.nested_async_generators:
        what = (
            "streams an async generator"
            if facts.returns_streaming
            else "defines an async generator"
        )
        return f"it {what} defined inside it (line {facts.nested_async_generators[0]})"
    if plan.foreign_decorators:
        return f"decorator {plan.foreign_decorators[0]} may await it"
    return None


def _callers(plan: FunctionPlan) -> str:
    verbs = {"await": "awaited", "call": "called", "value": "passed on"}
    places = [f"{verbs[r.how]} at {r.path}:{r.location.line}" for r in plan.used_by]
    more = len(places) - SHOWN_CALLERS
    shown = ", ".join(places[:SHOWN_CALLERS]) + (f" and {more} more" if more > 0 else "")
    return f"other code uses it as a coroutine: {shown}"


class DemoteSync(Codemod):
    """## What it does
    Turns an `async def` that FastAPI calls itself (an endpoint, a `Depends` dependency,
    an exception handler or a background task) into a plain `def` when it never awaits
    and calls blocking code, directly or through a helper of your project. An async
    generator dependency becomes a plain generator dependency.

    ## Why is this bad?
    FastAPI runs `async def` callables on the event loop and plain `def` ones in its
    threadpool. A blocking call (`time.sleep`, `requests.get`, a sync SQLAlchemy query,
    `open().read()`, password hashing) inside an `async def` freezes every request on the
    worker, health checks included, until it returns. As a `def`, the same code runs in a
    worker thread and the loop keeps serving.

    ## Example
    ```python
    @router.get("/items/{item_id}")
    async def read_item(item_id: int, db: Session = Depends(get_db)):
        return db.query(Item).filter(Item.id == item_id).first()
    ```

    Use instead:
    ```python
    @router.get("/items/{item_id}")
    def read_item(item_id: int, db: Session = Depends(get_db)):
        return db.query(Item).filter(Item.id == item_id).first()
    ```

    Only the `async` keyword goes; decorators, comments, annotations and docstrings stay.
    For a generator dependency, an `AsyncIterator`/`AsyncGenerator`/`AsyncIterable`
    return annotation becomes its sync counterpart, so type checkers stay happy.

    ## Fix safety
    Safe: the pass demotes a function only when nothing else can tell the difference.
    It leaves the function async, and reports why in `unjam check`, when:
    - it is a websocket endpoint, middleware or lifespan handler (they must stay async);
    - it is a startup/shutdown handler (FastAPI calls sync ones on the event loop, so
      demoting would not help);
    - other code anywhere in the project awaits it, calls it or passes it on (a `def`
      would hand them a result instead of a coroutine), for instance a test that does
      `await read_item(1)`; the callers' locations are listed;
    - it, or a sync helper it calls, uses the running event loop (`asyncio.create_task`,
      `get_running_loop`, `run_in_executor`, asyncio queues, events and locks) or creates a
      coroutine of your project without awaiting it;
    - it sets a `ContextVar` (threadpool code runs in a copy of the context, so the
      value would not be seen by the request's own task);
    - it, or a sync helper it calls, writes shared state: a `global`, an attribute or item
      of a module-level or imported object, a container method such as `append` or
      `update` on one, or `self` in a class-based dependency. On the event loop no other
      request runs between two awaits; in the threadpool one can, and the write races;
    - it uses a module-level object that works only in the thread that made it (a
      `sqlite3` connection or cursor);
    - it streams an async generator defined inside it;
    - it has a decorator other than FastAPI's own, which might await it;
    - it is marked `# unjam: ignore` or `# unjam: ignore[demote-sync]`.

    An `async def` that never awaits and never blocks is left alone: it is cheaper on the
    loop than a hop to the threadpool.

    ## Known problems
    The threadpool has 40 threads by default (anyio's limit): a service that demotes
    many slow routes may want a larger limit, or a truly async client instead of a
    blocking one (see `requests-to-httpx`).
    """

    NAME = "demote-sync"
    DESCRIPTION = "Make async FastAPI callables that never await but block plain def functions."
    SAFETY = Safety.SAFE
    WALKS_DECIDED_ONLY = True
    EXAMPLES: ClassVar[tuple[Example, ...]] = (
        Example(
            before=(
                "import time\n\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
                '@app.get("/report")\nasync def report() -> dict:\n'
                '    time.sleep(1)  # slow work\n    return {"ok": True}\n'
            ),
            after=(
                "import time\n\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
                '@app.get("/report")\ndef report() -> dict:\n'
                '    time.sleep(1)  # slow work\n    return {"ok": True}\n'
            ),
        ),
        Example(
            before=(
                "import asyncio\nimport time\n\nfrom fastapi import FastAPI\n\n"
                "app = FastAPI()\n\n\n"
                '@app.get("/mixed")\nasync def mixed() -> dict:\n'
                "    await asyncio.sleep(0)\n    time.sleep(1)\n    return {}\n"
            ),
        ),
    )

    @classmethod
    def decide(cls, plan: FunctionPlan, options: Options) -> Decision | None:
        if "*" in plan.facts.suppressed or cls.NAME in plan.facts.suppressed:
            return None
        found = verdict(plan)
        if found is None:
            return None
        if found.demote:
            return Decision("make def (FastAPI threads it)", True)
        return Decision("stays async: " + found.message.split(": ", 1)[1], False)

    @classmethod
    def sites_from_view(cls, view: ModuleView, options: Options) -> list[Site] | None:
        """Every decision is about a whole function and comes from the project view, so
        ``check`` needs no rewrite; a test holds this equal to what the rewrite reports."""
        found = []
        for qualname, plan in view.functions.items():
            if cls.is_suppressed(view, plan):
                continue
            decided = verdict(plan)
            if decided is not None:
                found.append(
                    Site(cls.NAME, plan.facts.location, decided.message, decided.demote, qualname)
                )
        return found

    @classmethod
    def view_after(cls, view: ModuleView, sites: list[Site]) -> ModuleView | None:
        """Demoting removes ``async`` (and makes iterator annotations sync): no call
        moves, so only the demoted functions' facts change."""
        demoted = {site.function for site in sites if site.fixed}
        functions = {
            qualname: replace(plan, facts=replace(plan.facts, is_async=False))
            if qualname in demoted
            else plan
            for qualname, plan in view.functions.items()
        }
        return replace(view, functions=functions)

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        qualname = self.qualnames.get(id(original_node))
        plan = self.view.functions.get(qualname) if qualname else None
        if plan is None or self.is_suppressed(self.view, plan):
            return updated_node
        found = verdict(plan)
        if found is None:
            return updated_node
        self.report(plan.facts.location, found.message, found.demote, qualname)
        if not found.demote:
            return updated_node
        returns = updated_node.returns
        if plan.facts.is_generator and returns is not None and plan.facts.returns_head:
            returns = self._sync_iterator(returns, plan.facts.returns_head)
        return updated_node.with_changes(asynchronous=None, returns=returns)

    def _sync_iterator(self, returns: cst.Annotation, head_name: str) -> cst.Annotation:
        """``AsyncIterator[T]`` -> ``Iterator[T]``; ``AsyncGenerator[T, S]`` ->
        ``Generator[T, S, None]``; anything else is left as written."""
        annotation = returns.annotation
        module, _, name = head_name.rpartition(".")
        if not isinstance(annotation, cst.Subscript) or module not in TWIN_MODULES:
            return returns
        twin = SYNC_TWINS.get(name)
        head = annotation.value
        if twin is None:
            return returns
        if isinstance(head, cst.Name):
            AddImportsVisitor.add_needed_import(self.context, module, twin)
            new_head: cst.BaseExpression = cst.Name(twin)
        elif isinstance(head, cst.Attribute):
            new_head = head.with_changes(attr=cst.Name(twin))
        else:
            return returns
        elements = list(annotation.slice)
        if name == "AsyncGenerator":
            elements = self._generator_slice(elements)
        return returns.with_changes(
            annotation=annotation.with_changes(value=new_head, slice=elements)
        )

    @staticmethod
    def _generator_slice(elements: list[cst.SubscriptElement]) -> list[cst.SubscriptElement]:
        """``[Y]`` or ``[Y, S]`` -> ``[Y, S, None]``: a sync Generator also names its return."""
        none = cst.SubscriptElement(cst.Index(cst.Name("None")))
        if len(elements) == 1:
            first = elements[0].with_changes(
                comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            )
            middle = none.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            return [first, middle, none]
        last = elements[-1].with_changes(
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        )
        return [*elements[:-1], last, none]
