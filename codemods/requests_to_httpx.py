"""requests-to-httpx: requests in coroutines becomes an awaited ``httpx.AsyncClient``."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import libcst as cst
import libcst.matchers as m
from libcst.codemod.visitors import AddImportsVisitor
from libcst.helpers import get_full_name_for_node
from unjam.codemods._base import Codemod, Decision, Example, Options, Safety
from unjam.codemods._blocks import smallest_run
from unjam.codemods._httpx_mapping import HttpxMapping, mapping
from unjam.codemods._local_metadata import LocalMetadata
from unjam.codemods._nodes import AwaitsInPlace, code, find_all, unique_name
from unjam.codemods._shield import is_cleanup
from unjam.codemods._spelling import Spelled, Spelling

from unjam.analysis.model import Effect
from unjam.analysis.names import short_name
from unjam.analysis.project import FunctionPlan
from unjam.analysis.suppression import is_suppressed

SESSION = "requests.Session."
#: Extra positional parameters of requests' functions, in order, after the URL.
POSITIONAL = {
    "get": ("params",),
    "options": (),
    "head": (),
    "post": ("data", "json"),
    "put": ("data",),
    "patch": ("data",),
    "delete": (),
    "request": (),
}
#: Builtins whose result is never None.
CONVERSIONS = frozenset({"str", "int", "float", "bool", "len", "repr", "abs", "round"})
#: Methods of a string literal that return a string.
STR_METHODS = frozenset({"format", "join", "upper", "lower", "strip", "replace"})
#: ``requests.codes`` and friends: comparisons unjam cannot follow.
UNFOLLOWED = ("requests.codes", "requests.status_codes")
#: Exception types that catch what requests raises and not what httpx raises:
#: requests' own, and the OSError family its RequestException derives from.
CATCHES_REQUESTS = frozenset(
    {"*", "builtins.OSError", "builtins.IOError", "builtins.EnvironmentError"}
)
#: Names of requests' exceptions, for a handler whose type unjam cannot resolve.
REQUESTS_EXCEPTIONS = frozenset(
    {
        "RequestException",
        "HTTPError",
        "ConnectionError",
        "Timeout",
        "ConnectTimeout",
        "ReadTimeout",
        "TooManyRedirects",
        "SSLError",
        "ProxyError",
    }
)
DEPENDENCY_FILES = ("pyproject.toml", "setup.cfg", "setup.py")


class Refused(Exception):
    """This call (or function) stays on requests; the message says why."""


@dataclass
class _Call:
    node: cst.Call
    effect: Effect
    method: str
    receiver: str | None  # a session variable, or None for the function's client
    args: list[cst.Arg]
    follows: bool
    renames: dict[int, str]  # response attributes to rename
    options: dict[str, cst.BaseExpression]  # AsyncClient(...) arguments it needs


@dataclass
class _Plan:
    """Everything one coroutine's conversion changes, keyed by original node ids."""

    calls: dict[int, _Call] = field(default_factory=dict)
    renames: dict[int, str] = field(default_factory=dict)  # Attribute -> new attr / "str"
    handlers: dict[int, cst.BaseExpression] = field(default_factory=dict)
    wraps: dict[int, list[tuple[int, int, cst.WithItem, int | None]]] = field(
        default_factory=dict
    )  # block -> (first, last, item, index of a statement it replaces)
    drops: dict[int, set[int]] = field(default_factory=dict)  # block -> statement indexes
    withs: dict[int, cst.WithItem] = field(default_factory=dict)  # With -> new item
    client_options: dict[str, cst.BaseExpression] = field(default_factory=dict)
    client_name: str = "client"

    def copy(self) -> _Plan:
        return _Plan(
            calls=dict(self.calls),
            renames=dict(self.renames),
            handlers=dict(self.handlers),
            wraps={block: list(runs) for block, runs in self.wraps.items()},
            drops={block: set(lines) for block, lines in self.drops.items()},
            withs=dict(self.withs),
            client_options=dict(self.client_options),
            client_name=self.client_name,
        )


class RequestsToHttpx(AwaitsInPlace, Codemod):
    """## What it does
    Inside an `async def`, turns calls through `requests` into awaited calls on an
    `httpx.AsyncClient`, opened with `async with` around the smallest run of statements
    that uses it: one client per function, shared by all of its calls. A
    `requests.Session()` made in the function becomes the `AsyncClient` itself.

    ## Why is this bad?
    `requests` blocks: while it waits for the other server, the event loop (every other
    request on the worker, health checks included) waits too. `httpx.AsyncClient` gives
    the loop back while the network is slow, without a thread per call.

    ## Example
    ```python
    @app.get("/weather")
    async def weather(city: str):
        await audit(city)
        response = requests.get(API, params={"q": city}, timeout=5)
        if not response.ok:
            return {"error": response.reason}
        return response.json()
    ```

    Use instead:
    ```python
    @app.get("/weather")
    async def weather(city: str):
        await audit(city)
        async with httpx.AsyncClient(follow_redirects=True, timeout=None) as client:
            response = await client.get(API, params={"q": city}, timeout=5)
        if not response.is_success:
            return {"error": response.reason_phrase}
        return response.json()
    ```

    ## Keeping requests' behaviour
    - Redirects: requests follows them (except for `head`), httpx does not:
      the client gets `follow_redirects=True`; `allow_redirects=` becomes
      `follow_redirects=`.
    - Timeouts: requests has none by default, httpx waits 5 s: the client gets
      `timeout=None` (`--httpx-default-timeout` keeps httpx's default); explicit
      timeouts stay, a `(connect, read)` tuple becomes `httpx.Timeout(None, connect=...,
      read=...)`.
    - `data=` holding text or bytes becomes `content=`; `params` that may hold `None`
      values drop them as requests does; `verify=` and `cert=` move to the client.
    - Response attributes: `.ok` -> `.is_success`, `.reason` -> `.reason_phrase`,
      `.url` -> `str(.url)`; `.json()`, `.text`, `.content`, `.status_code`,
      `.headers`, `.raise_for_status()` stay.
    - `except requests.X` around converted calls catches the httpx exceptions that
      cover the same failures (table below); when other requests calls stay in the same
      `try`, both are caught.
    - `import httpx` is added (`httpx2` when the project already uses it, or as
      `[tool.unjam] http-client` says); `import requests` goes when nothing uses it.
      `unjam check` says so when the project's declared dependencies lack httpx.

    ## Fix safety
    Safe: where the mapping is not exact, the call stays on requests, `unjam check`
    says why, and `offload-blocking` moves it to a thread instead. That is the case for
    `stream=True`, `hooks=`, `proxies=`, `**kwargs`, timeouts or `params` whose shape
    unjam cannot see, auth objects other than a `(user, password)` tuple or
    `HTTPBasicAuth`/`HTTPDigestAuth`, a response that leaves the function (returned,
    passed on, used as a bool), `.iter_content()`/`.iter_lines()`/`.raw`, sessions made
    at module level, mounted or configured beyond headers and auth, `requests.codes`,
    and functions other code calls whose callers catch requests exceptions.

    Known differences that remain: the default `User-Agent` header; `.text` of a
    response without a charset (requests guesses, httpx assumes UTF-8); `.json()` on a
    bad body raises `json.JSONDecodeError` (a `ValueError`), not
    `requests.JSONDecodeError`.

    ## Mapping
    {table}
    """

    NAME = "requests-to-httpx"
    WALKS_DECIDED_ONLY = True
    DESCRIPTION = "Replace requests in async code with an awaited httpx.AsyncClient."
    SAFETY = Safety.SAFE
    EXAMPLES: ClassVar[tuple[Example, ...]] = (
        Example(
            before=(
                "import requests\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
                '@app.get("/price")\nasync def price() -> dict:\n'
                '    response = requests.get("http://prices.internal/latest")\n'
                "    response.raise_for_status()\n    return response.json()\n"
            ),
            after=(
                "import httpx\nfrom fastapi import FastAPI\n\n"
                "# shared by every AsyncClient in this module\n"
                "_SSL_CONTEXT = httpx.create_ssl_context()\n\napp = FastAPI()\n\n\n"
                '@app.get("/price")\nasync def price() -> dict:\n'
                "    async with httpx.AsyncClient(\n"
                "        follow_redirects=True, timeout=None, verify=_SSL_CONTEXT\n"
                "    ) as client:\n"
                '        response = await client.get("http://prices.internal/latest")\n'
                "    response.raise_for_status()\n    return response.json()\n"
            ),
        ),
        Example(
            before=(
                "import requests\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
                '@app.get("/price")\ndef price() -> dict:\n'
                '    return requests.get("http://prices.internal/latest").json()\n'
            ),
        ),
    )

    @classmethod
    def documentation(cls) -> str:
        return super().documentation().replace("{table}", mapping().table())

    @classmethod
    def decide(cls, plan: FunctionPlan, options: Options) -> Decision | None:
        if not plan.facts.is_async or is_suppressed(plan.facts.suppressed, cls.NAME):
            return None
        if not any(_kind(effect, mapping()) for effect in plan.blocking):
            return None
        return Decision("use httpx.AsyncClient", True)

    # -- the walk ----------------------------------------------------------------------
    def visit_Module(self, node: cst.Module) -> None:
        self.table = mapping()
        self.spelling = Spelling.of(node)
        self.target = self._target()
        self.plans: list[_Plan] = []
        self.converted = 0
        self.start_placing()
        self.needs_ssl = False
        code = self.code_of(node)
        names: set[str] = set()

        def taken(name: str) -> bool:
            """A name the module's code uses (a mention in a comment does not count);
            the text only says whether the names are worth collecting."""
            if name not in code:
                return False
            if not names:
                names.update(n.value for n in find_all(node, m.Name()) if isinstance(n, cst.Name))
            return name in names

        self.ssl_name = unique_name("_SSL_CONTEXT", taken)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        qualname = self.qualnames.get(id(node))
        plan = self.view.functions.get(qualname) if qualname else None
        if plan is None or self.decide(plan, self.options) is None:
            return
        found = _Planner(self, node, plan).plan()
        if found is not None:
            self.plans.append(found)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self.converted:
            return updated_node
        if self.needs_ssl:
            updated_node = self._with_ssl_context(updated_node)
        AddImportsVisitor.add_needed_import(self.context, self.target)
        self._check_dependencies()
        return updated_node

    def _lookup(self, table: str, node: cst.CSTNode) -> object | None:
        for plan in self.plans:
            found: object | None = getattr(plan, table).get(id(node))
            if found is not None:
                return found
        return None

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        updated_node = self.keep_bound(updated_node)
        call = self._lookup("calls", original_node)
        if not isinstance(call, _Call):
            return updated_node
        receiver = call.receiver or self._client_name(original_node)
        func = cst.Attribute(cst.Name(receiver), cst.Name(call.method))
        result = cst.Await(
            updated_node.with_changes(
                func=func, args=_commas(call.args, _trailing(original_node)), lpar=(), rpar=()
            ),
            lpar=updated_node.lpar,
            rpar=updated_node.rpar,
        )
        return self.placed(result)

    def _client_name(self, node: cst.Call) -> str:
        for plan in self.plans:
            if id(node) in plan.calls:
                return plan.client_name
        raise AssertionError("a planned call without a plan")

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        updated_node = self.keep_bound(updated_node)
        rename = self._lookup("renames", original_node)
        if rename == "str":
            return cst.Call(cst.Name("str"), [cst.Arg(updated_node)])
        if isinstance(rename, str):
            return updated_node.with_changes(attr=cst.Name(rename))
        return updated_node

    def leave_ExceptHandler(
        self, original_node: cst.ExceptHandler, updated_node: cst.ExceptHandler
    ) -> cst.ExceptHandler:
        caught = self._lookup("handlers", original_node)
        if isinstance(caught, cst.BaseExpression):
            return updated_node.with_changes(type=caught)
        return updated_node

    def leave_With(self, original_node: cst.With, updated_node: cst.With) -> cst.With:
        item = self._lookup("withs", original_node)
        if isinstance(item, cst.WithItem):
            first = updated_node.items[0].with_changes(item=item.item)
            return updated_node.with_changes(
                asynchronous=cst.Asynchronous(), items=[first, *updated_node.items[1:]]
            )
        return updated_node

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        wraps: list[tuple[int, int, cst.WithItem, int | None]] = []
        drops: set[int] = set()
        for plan in self.plans:
            wraps += plan.wraps.get(id(original_node), [])
            drops |= plan.drops.get(id(original_node), set())
        if not wraps and not drops:
            return updated_node
        statements = list(updated_node.body)
        starts = {first: (first, last, item, replaced) for first, last, item, replaced in wraps}
        replaced_at = {r for _, _, _, r in wraps if r is not None}
        body: list[cst.BaseStatement] = []
        index = 0
        while index < len(statements):
            if index in starts:
                first, last, item, replaced = starts[index]
                inner = [statements[i] for i in range(first, last + 1) if i not in drops] or [
                    cst.SimpleStatementLine([cst.Pass()])
                ]
                lead = statements[replaced] if replaced is not None else inner[0]
                block = cst.With(
                    items=[item],
                    body=cst.IndentedBlock([inner[0].with_changes(leading_lines=()), *inner[1:]]),
                    asynchronous=cst.Asynchronous(),
                    leading_lines=getattr(lead, "leading_lines", ()),
                )
                body.append(block)
                index = last + 1
            elif index in drops or index in replaced_at:
                index += 1
            else:
                body.append(statements[index])
                index += 1
        return updated_node.with_changes(body=body)

    def _with_ssl_context(self, module: cst.Module) -> cst.Module:
        """One SSL context for the module's clients, made at import: building one
        loads the CA bundle (40-90 ms of CPU, on the loop) and httpx would do it again
        for every AsyncClient, that is for every request."""
        body = list(module.body)
        after = 0
        for index, statement in enumerate(body):
            if m.matches(statement, m.SimpleStatementLine([m.Import() | m.ImportFrom()])):
                after = index + 1
            elif index == 0 and m.matches(
                statement, m.SimpleStatementLine([m.Expr(m.SimpleString())])
            ):
                after = 1
            elif after:
                break
        line = cst.parse_statement(f"{self.ssl_name} = {self.target}.create_ssl_context()\n")
        assert isinstance(line, cst.SimpleStatementLine)
        # the comment stands above: after the call it would push the line past 79
        comment = cst.EmptyLine(comment=cst.Comment("# shared by every AsyncClient in this module"))
        line = line.with_changes(leading_lines=[cst.EmptyLine(), comment])
        return module.with_changes(body=[*body[:after], line, *body[after:]])

    # -- project-level facts -----------------------------------------------------------
    def _target(self) -> str:
        """httpx, or httpx2 where the project already uses it or the user says so."""
        if self.options.http_client:
            return self.options.http_client
        if "httpx2" in self.spelling.modules or any(
            module.startswith("httpx2") for module, _ in self.spelling.objects
        ):
            return "httpx2"
        declared = _declared_dependencies(self.context.filename or "")
        if declared is not None and re.search(r"\bhttpx2\b", declared[1]):
            return "httpx2"
        return "httpx"

    def _check_dependencies(self) -> None:
        declared = _declared_dependencies(self.context.filename or "")
        if declared is None or re.search(rf"\b{re.escape(self.target)}\b", declared[1]):
            return
        first = min(
            (call.effect.location for plan in self.plans for call in plan.calls.values()),
            default=None,
        )
        if first is not None:
            self.report(
                first,
                f"{declared[0]} does not declare {self.target}: add it to the project's "
                "dependencies",
                False,
            )


class _Planner:
    """Decides one coroutine's conversion; reports what it refuses."""

    def __init__(self, owner: RequestsToHttpx, function: cst.FunctionDef, plan: FunctionPlan):
        self.owner = owner
        self.function = function
        self.facts = plan
        self.table: HttpxMapping = owner.table
        self.local = LocalMetadata(function, plan.facts.location.line)
        self.parents = self.local.parents
        self.calls = {
            owner.indexes[id(node)]: node
            for node in find_all(function, m.Call())
            if isinstance(node, cst.Call) and id(node) in owner.indexes
        }
        self.result = _Plan()

    def plan(self) -> _Plan | None:
        mine = [e for e in self.facts.blocking if not e.via and _kind(e, self.table)]
        try:
            self._whole_function()
        except Refused as refusal:
            for effect in mine:
                self._refuse(effect, str(refusal))
            return None
        sessions: dict[str, list[_Call]] = {}
        plain: list[_Call] = []
        for effect in mine:
            node = self.calls.get(effect.call)
            if node is None or self._ignored(effect):
                continue
            try:
                self._placeable(node)
                receiver = None
                if _kind(effect, self.table) == "session":
                    value = node.func.value if isinstance(node.func, cst.Attribute) else None
                    if not isinstance(value, cst.Name):
                        raise Refused("the session is not a plain local name")
                    receiver = value.value
                call = self._convert(effect, node, receiver)
            except Refused as refusal:
                self._refuse(effect, str(refusal))
                continue
            (sessions.setdefault(receiver, []) if receiver else plain).append(call)
        kept = self._handlers_allow([*plain, *(c for calls in sessions.values() for c in calls)])
        plain = [call for call in plain if id(call.node) in kept]
        for name, calls in sessions.items():
            if all(id(call.node) in kept for call in calls):
                self._session(name, calls)
            else:
                for call in calls:
                    if id(call.node) in kept:
                        self._refuse(call.effect, "another call on the same session stays")
        if plain:
            self._client_block(plain)
        if not self.result.calls:
            return None
        self._exceptions()
        self.owner.converted += len(self.result.calls)
        for call in self.result.calls.values():
            self._fixed(call)
        return self.result

    def _commit(
        self, call: _Call, renames: dict[int, str], options: dict[str, cst.BaseExpression]
    ) -> None:
        self.result.calls[id(call.node)] = call
        self.result.renames.update(renames)
        for name, value in options.items():
            known = self.result.client_options.get(name)
            if known is not None and code(known) != code(value):
                raise Refused(f"calls in it pass different {name}= values; one client has one")
            self.result.client_options[name] = value

    # -- refusals that concern the whole function ---------------------------------------
    def _whole_function(self) -> None:
        for node in find_all(self.function, m.Attribute()):
            name = get_full_name_for_node(node)
            qualified = self.owner.spelling.qualified(name) if name else None
            if qualified and qualified.startswith(UNFOLLOWED):
                raise Refused(f"it compares with {name}, which unjam does not follow")
        for caller in self.facts.used_by:
            caught = [name for name in caller.caught if _catches_requests(name)]
            if caller.how in ("await", "call") and caught:
                shown = "a bare except" if caught[0] == "*" else f"except {caught[0]}"
                raise Refused(
                    f"{caller.path}:{caller.location.line} calls it inside a try with "
                    f"{shown}, which catches requests' exceptions and not httpx's"
                )

    def _placeable(self, node: cst.Call) -> None:
        for ancestor in self.parents.ancestors(node):
            if ancestor is self.function:
                return
            if isinstance(ancestor, (cst.Lambda, cst.GeneratorExp, cst.ClassDef)):
                raise Refused("it is inside a lambda, generator expression or class body")
            if isinstance(ancestor, cst.FunctionDef):
                raise Refused("it is inside a nested function")
            if isinstance(ancestor, cst.Finally) or (
                isinstance(ancestor, cst.ExceptHandler) and is_cleanup(ancestor)
            ):
                raise Refused(
                    "it is cleanup code (finally, or an except that re-raises), where an "
                    "await fails at once when the request is cancelled; offload-blocking "
                    "moves it to a thread in a shielded cancel scope"
                )

    # -- one call ----------------------------------------------------------------------
    def _convert(self, effect: Effect, node: cst.Call, receiver: str | None) -> _Call:
        method = (
            self.table.functions[effect.name] if receiver is None else effect.name[len(SESSION) :]
        )
        keywords: dict[str, cst.Arg] = {}
        positional: list[cst.Arg] = []
        extra = list(POSITIONAL.get(method, ()))
        wanted_positional = 2 if method == "request" else 1
        for arg in node.args:
            if arg.star:
                raise Refused("it passes *args or **kwargs, which unjam cannot map")
            if arg.keyword is None:
                if len(positional) < wanted_positional:
                    positional.append(arg)
                elif extra:
                    name = extra.pop(0)
                    keywords[name] = arg.with_changes(
                        keyword=cst.Name(name),
                        equal=cst.AssignEqual(
                            whitespace_before=cst.SimpleWhitespace(""),
                            whitespace_after=cst.SimpleWhitespace(""),
                        ),
                    )
                else:
                    raise Refused("it passes more positional arguments than unjam maps")
            else:
                keywords[arg.keyword.value] = arg
        follows = method != "head"
        converted: list[cst.Arg] = list(positional)
        options: dict[str, cst.BaseExpression] = {}
        for name, arg in keywords.items():
            how = self.table.arguments.get(name)
            if how is None:
                raise Refused(f"{name}= has no exact httpx counterpart")
            if how == "client":
                options[name] = arg.value
            elif how == "drop-if-false":
                if not m.matches(arg.value, m.Name("False")):
                    raise Refused(f"{name}={code(arg.value)} needs a streaming rewrite")
            elif how == "follow_redirects":
                follows = _truthy(arg.value)
                converted.append(_keyword(arg, "follow_redirects"))
            else:
                converted.append(self._argument(name, arg))
        if not follows and not any(
            a.keyword and a.keyword.value == "follow_redirects" for a in converted
        ):
            converted.append(_new_keyword("follow_redirects", cst.Name("False")))
        renames: dict[int, str] = {}
        self._response(node, follows, renames)
        call = _Call(node, effect, method, receiver, converted, follows, renames, options)
        return call

    def _argument(self, name: str, arg: cst.Arg) -> cst.Arg:
        value = arg.value
        if name == "timeout":
            if _is_number(value) or m.matches(value, m.Name("None")):
                return arg
            if isinstance(value, cst.Tuple) and len(value.elements) == 2:
                connect, read = (element.value for element in value.elements)
                timeout = cst.parse_expression(
                    f"{self.owner.target}.Timeout(None, connect={code(connect)}, read={code(read)})"
                )
                return arg.with_changes(value=timeout)
            raise Refused(
                f"timeout={code(value)}: unjam cannot tell a number from a (connect, read) "
                "tuple, which httpx spells differently"
            )
        if name == "data" and _is_text(value, self.owner.spelling):
            return _keyword(arg, "content")
        if name == "params":
            return arg.with_changes(value=self._params(value))
        if name == "auth":
            return arg.with_changes(value=self._auth(value))
        return arg

    def _params(self, value: cst.BaseExpression) -> cst.BaseExpression:
        """requests drops ``None`` values from params; httpx sends them empty."""
        if isinstance(value, cst.Dict):
            if all(
                isinstance(e, cst.DictElement) and self._never_none(e.value) for e in value.elements
            ):
                return value  # nothing to drop: a filter would do nothing
            return _without_none(value)
        if isinstance(value, cst.Name) and self._is_dict(value):
            return _without_none(value)
        raise Refused(f"params={code(value)}: unjam cannot see whether it is a dict")

    def _never_none(self, value: cst.BaseExpression) -> bool:
        """A value that cannot be None: a literal, an f-string, a conversion by a
        builtin (``str(n)``, ``len(xs)``) not rebound in the function, text built from
        a string literal (``"a" + b``, ``"{}".format(b)``)."""
        if _is_constant(value) or _is_text(value, self.owner.spelling):
            return True
        if isinstance(value, cst.List | cst.Tuple | cst.Dict | cst.Set | cst.ListComp):
            return True
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
            return value.func.value in CONVERSIONS and not self.local.is_local(value.func)
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute):
            return _is_constant(value.func.value) and value.func.attr.value in STR_METHODS
        if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add):
            return _is_constant(value.left) or _is_constant(value.right)
        return False

    def _is_dict(self, name: cst.Name) -> bool:
        scope = self.local.scopes.get(name)
        if scope is None:
            return False
        assignments = list(scope[name.value])
        if not assignments:
            return False
        for assignment in assignments:
            node = getattr(assignment, "node", None)
            parent = self.parents.parent.get(node) if node is not None else None
            if isinstance(parent, cst.AssignTarget):
                statement = self.parents.parent.get(parent)
                if isinstance(statement, cst.Assign) and isinstance(
                    statement.value, (cst.Dict, cst.DictComp)
                ):
                    continue
            if isinstance(parent, cst.Param) and parent.annotation is not None:
                head = parent.annotation.annotation
                head = head.value if isinstance(head, cst.Subscript) else head
                if m.matches(head, m.Name("dict") | m.Name("Dict")):
                    continue
            return False
        return True

    def _auth(self, value: cst.BaseExpression) -> cst.BaseExpression:
        if isinstance(value, cst.Tuple) and len(value.elements) == 2:
            return value
        if isinstance(value, cst.Call):
            name = get_full_name_for_node(value.func)
            qualified = self.owner.spelling.qualified(name) if name else None
            twin = self.table.auth.get(qualified or "")
            if twin is not None:
                return value.with_changes(func=Spelled(f"{self.owner.target}.{twin}").expression())
        raise Refused(
            f"auth={code(value)}: only (user, password) and requests' basic/digest auth map exactly"
        )

    # -- the response ------------------------------------------------------------------
    def _response(self, node: cst.Call, follows: bool, renames: dict[int, str]) -> None:
        parent = self.parents.parent.get(node)
        if isinstance(parent, cst.Expr):
            return
        if isinstance(parent, cst.Attribute) and parent.value is node:
            self._attribute(parent, follows, renames)
            return
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
            target = parent.targets[0].target
            if isinstance(target, cst.Name):
                self._response_variable(target, follows, renames)
                return
        raise Refused(
            "the response leaves the expression (returned, passed on or stored); "
            "an httpx.Response is not a requests.Response"
        )

    def _response_variable(self, target: cst.Name, follows: bool, renames: dict[int, str]) -> None:
        scope = self.local.scopes.get(target)
        assignments = [
            a
            for a in (scope[target.value] if scope else ())
            if getattr(a, "node", None) is not None
        ]
        if len(assignments) != 1:
            raise Refused(f"{target.value} is assigned more than once")
        for access in assignments[0].references:
            parent = self.parents.parent.get(access.node)
            if not (isinstance(parent, cst.Attribute) and parent.value is access.node):
                raise Refused(
                    f"the response {target.value} is used as a value; an httpx.Response is "
                    "not a requests.Response"
                )
            self._attribute(parent, follows, renames)

    def _attribute(self, node: cst.Attribute, follows: bool, renames: dict[int, str]) -> None:
        name = node.attr.value
        how = self.table.response.get(name)
        if how is None or how == "refuse":
            raise Refused(f"response.{name} has no exact httpx counterpart")
        if name == "raise_for_status" and not follows:
            raise Refused("httpx's raise_for_status() also raises for redirects it did not follow")
        if how != "keep":
            renames[id(node)] = how

    # -- clients -----------------------------------------------------------------------
    def _client_item(self, name: str, options: dict[str, cst.BaseExpression]) -> cst.WithItem:
        options = dict(options)
        if "verify" not in options and "cert" not in options:
            options["verify"] = cst.Name(self.owner.ssl_name)
            self.owner.needs_ssl = True
        arguments = [_new_keyword("follow_redirects", cst.Name("True"))]
        if not self.owner.options.httpx_default_timeout:
            arguments.append(_new_keyword("timeout", cst.Name("None")))
        arguments += [_new_keyword(key, value) for key, value in options.items()]
        call = cst.Call(
            Spelled(f"{self.owner.target}.AsyncClient").expression(), _commas(arguments)
        )
        return cst.WithItem(call, asname=cst.AsName(cst.Name(name)))

    def _client_block(self, calls: list[_Call]) -> None:
        run = smallest_run([c.node for c in calls], self.parents, self.function)
        if run is None:
            for call in calls:
                self.result.calls.pop(id(call.node), None)
                self._refuse(call.effect, "the function body is not a block of statements")
            return
        for call in calls:
            try:
                self._commit(call, call.renames, call.options)
            except Refused as refusal:
                self.result.calls.pop(id(call.node), None)
                self._refuse(call.effect, str(refusal))
        if not any(id(call.node) in self.result.calls for call in calls):
            return
        name = self._free_name("client")
        self.result.client_name = name
        self.result.wraps.setdefault(id(run.block), []).append(
            (run.first, run.last, self._client_item(name, self.result.client_options), None)
        )

    def _session(self, name: str, calls: list[_Call]) -> None:
        saved = self.result.copy()
        try:
            binding = self._session_binding(name)
            options: dict[str, cst.BaseExpression] = {}
            for call in calls:
                for key, value in call.options.items():
                    if key in options and code(options[key]) != code(value):
                        raise Refused(f"calls on {name} pass different {key}= values")
                    options[key] = value
                self.result.calls[id(call.node)] = call
                self.result.renames.update(call.renames)
            self._session_block(name, binding, calls, options)
        except Refused as refusal:
            self.result = saved
            for call in calls:
                self._refuse(call.effect, str(refusal))

    def _session_binding(self, name: str) -> cst.CSTNode:
        """The one statement or with item that makes the session; every other use of
        the name must be a request method, ``.close()`` or ``.headers``."""
        metadata_name = next(
            (n for n in find_all(self.function, m.Name(name)) if isinstance(n, cst.Name)), None
        )
        scope = self.local.scopes.get(metadata_name) if metadata_name is not None else None
        assignments = [a for a in (scope[name] if scope else ()) if hasattr(a, "node")]
        if len(assignments) != 1:
            raise Refused(f"the session {name} is not made once inside the function")
        assignment = assignments[0]
        made = self.parents.parent.get(assignment.node)
        if isinstance(made, (cst.AsName, cst.AssignTarget)):
            made = self.parents.parent.get(made)
        value = made.item if isinstance(made, cst.WithItem) else getattr(made, "value", None)
        callee = get_full_name_for_node(value.func) if isinstance(value, cst.Call) else None
        qualified = self.owner.spelling.qualified(callee) if callee else None
        if qualified not in self.table.session_constructors or not isinstance(
            made, (cst.Assign, cst.WithItem)
        ):
            raise Refused(f"{name} is not made by requests.Session() in the function")
        assert isinstance(value, cst.Call)
        if value.args:
            raise Refused("requests.Session() with arguments")
        for access in assignment.references:
            parent = self.parents.parent.get(access.node)
            grand = self.parents.parent.get(parent) if parent is not None else None
            if isinstance(parent, cst.Attribute) and isinstance(grand, cst.Call):
                method = parent.attr.value
                if method in self.table.session_methods or method == "close":
                    continue
            if parent is not None and m.matches(parent, m.Attribute(attr=m.Name("headers"))):
                continue
            raise Refused(f"the session {name} is used in ways httpx does not share")
        return made

    def _session_block(
        self,
        name: str,
        made: cst.CSTNode,
        calls: list[_Call],
        options: dict[str, cst.BaseExpression],
    ) -> None:
        item = self._client_item(name, options)
        closes = [
            node
            for node in find_all(
                self.function, m.Expr(m.Call(m.Attribute(m.Name(name), m.Name("close"))))
            )
        ]
        if isinstance(made, cst.WithItem):
            with_node = self.parents.parent.get(made)
            if not isinstance(with_node, cst.With) or with_node.items[0] is not made:
                raise Refused("the session is not the first item of its with statement")
            self.result.withs[id(with_node)] = item
        else:
            statement = self.parents.parent.get(made)
            nodes: list[cst.CSTNode] = [statement] if statement else []
            nodes += [c.node for c in calls] + closes
            run = smallest_run(nodes, self.parents, self.function)
            if run is None or run.block.body[run.first] is not statement:
                raise Refused("the session is made in a different block from its uses")
            if run.first == run.last:
                raise Refused("the session is never used after it is made")
            self.result.wraps.setdefault(id(run.block), []).append(
                (run.first + 1, run.last, item, run.first)
            )
        for close in closes:
            line = self.parents.parent.get(close)
            block = self.parents.parent.get(line) if line is not None else None
            if isinstance(block, cst.IndentedBlock):
                index = next(i for i, s in enumerate(block.body) if s is line)
                self.result.drops.setdefault(id(block), set()).add(index)

    # -- exceptions --------------------------------------------------------------------
    def _requests_handlers(
        self,
    ) -> list[tuple[cst.ExceptHandler, set[int], list[tuple[cst.BaseExpression, str | None]]]]:
        """Handlers of this function's try statements, with the calls their try body
        holds and each caught expression's requests name (None: not requests')."""
        found = []
        for handler in find_all(self.function, m.ExceptHandler()):
            assert isinstance(handler, cst.ExceptHandler)
            try_node = self.parents.parent.get(handler)
            if handler.type is None or not isinstance(try_node, cst.Try):
                continue
            elements = handler.type.elements if isinstance(handler.type, cst.Tuple) else None
            caught = [e.value for e in elements] if elements is not None else [handler.type]
            named = []
            for expression in caught:
                name = get_full_name_for_node(expression)
                qualified = self.owner.spelling.qualified(name) if name else None
                is_requests = qualified is not None and qualified.split(".")[0] == "requests"
                named.append((expression, qualified if is_requests else None))
            if any(qualified for _, qualified in named):
                covers = {id(n) for n in find_all(try_node.body, m.Call())}
                found.append((handler, covers, named))
        return found

    def _handlers_allow(self, calls: list[_Call]) -> set[int]:
        """Calls whose surrounding handlers all map to httpx; the rest are refused."""
        kept = {id(call.node) for call in calls}
        for _, covers, named in self._requests_handlers():
            missing = [q for _, q in named if q is not None and q not in self.table.exceptions]
            if not missing:
                continue
            for call in calls:
                if id(call.node) in covers and id(call.node) in kept:
                    kept.discard(id(call.node))
                    self._refuse(
                        call.effect, f"except {missing[0]}: no httpx exception covers it exactly"
                    )
        return kept

    def _exceptions(self) -> None:
        converted = set(self.result.calls)
        unconverted = {
            id(node)
            for effect in self.facts.blocking
            if not effect.via
            and (node := self.calls.get(effect.call)) is not None
            and id(node) not in converted
            and effect.category == "http"
        }
        for handler, covers, named in self._requests_handlers():
            if not covers & converted:
                continue
            keep_requests = bool(covers & unconverted)
            spelled: list[str] = []
            for expression, qualified in named:
                if qualified is None or keep_requests:
                    spelled.append(code(expression))
                if qualified is not None:
                    twins = self.table.exceptions[qualified]
                    spelled += [f"{self.owner.target}.{twin}" for twin in twins]
            unique = list(dict.fromkeys(spelled))
            text = unique[0] if len(unique) == 1 else "(" + ", ".join(unique) + ")"
            self.result.handlers[id(handler)] = cst.parse_expression(text)

    # -- naming and reporting ----------------------------------------------------------
    def _free_name(self, base: str) -> str:
        taken = {n.value for n in find_all(self.function, m.Name()) if isinstance(n, cst.Name)}
        return unique_name(base, taken.__contains__, second=f"http_{base}")

    def _ignored(self, effect: Effect) -> bool:
        codes = self.owner.view.suppressed_lines.get(effect.location.line, frozenset())
        return is_suppressed(codes, self.owner.NAME)

    def _fixed(self, call: _Call) -> None:
        self.owner.report(
            call.effect.location,
            f"{short_name(call.effect.name)} in async def {self.facts.facts.name}: now awaits "
            f"{self.owner.target}.AsyncClient.{call.method}",
            True,
            self.facts.facts.qualname,
        )

    def _refuse(self, effect: Effect, why: str) -> None:
        self.owner.report(
            effect.location,
            f"{short_name(effect.name)} in async def {self.facts.facts.name} stays on "
            f"requests: {why}",
            False,
            self.facts.facts.qualname,
        )


# -- small helpers ---------------------------------------------------------------------
def _kind(effect: Effect, table: HttpxMapping) -> str | None:
    if effect.via:
        return None
    if effect.name in table.functions:
        return "function"
    if effect.name.startswith(SESSION) and effect.name[len(SESSION) :] in table.session_methods:
        return "session"
    return None


def _commas(args: list[cst.Arg], trailing: cst.Comma | None = None) -> list[cst.Arg]:
    """Commas between arguments; the last keeps ``trailing`` (the call's own trailing
    comma, with the line break before ``)``) or none."""
    space = cst.SimpleWhitespace(" ")
    result = []
    for index, arg in enumerate(args):
        if index < len(args) - 1:
            comma = arg.comma if isinstance(arg.comma, cst.Comma) else None
            result.append(arg.with_changes(comma=comma or cst.Comma(whitespace_after=space)))
        else:
            result.append(arg.with_changes(comma=trailing or cst.MaybeSentinel.DEFAULT))
    return result


def _trailing(call: cst.Call) -> cst.Comma | None:
    last = call.args[-1].comma if call.args else None
    return last if isinstance(last, cst.Comma) else None


def _keyword(arg: cst.Arg, name: str) -> cst.Arg:
    return arg.with_changes(keyword=cst.Name(name))


def _new_keyword(name: str, value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(
        value,
        keyword=cst.Name(name),
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        ),
    )


def _truthy(node: cst.BaseExpression) -> bool:
    return not m.matches(node, m.Name("False") | m.Name("None") | m.Integer("0"))


def _is_number(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.UnaryOperation):
        return _is_number(node.expression)
    return isinstance(node, (cst.Integer, cst.Float))


def _is_constant(node: cst.BaseExpression) -> bool:
    return (
        _is_number(node)
        or isinstance(node, (cst.SimpleString, cst.ConcatenatedString))
        or (m.matches(node, m.Name("True") | m.Name("False")))
    )


def _is_text(node: cst.BaseExpression, spelling: Spelling) -> bool:
    """A str or bytes value: literals, f-strings, ``json.dumps(...)``, ``.encode()``."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
        return True
    if isinstance(node, cst.Call):
        name = get_full_name_for_node(node.func)
        if name and spelling.qualified(name) == "json.dumps":
            return True
        return m.matches(node.func, m.Attribute(attr=m.Name("encode")))
    return False


def _without_none(value: cst.BaseExpression) -> cst.BaseExpression:
    return cst.parse_expression(
        f"{{key: value for key, value in {code(value)}.items() if value is not None}}"
    )


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _declared_dependencies(filename: str) -> tuple[str, str] | None:
    """(file name, text) of the nearest file declaring the project's dependencies:
    pyproject.toml / setup.cfg / setup.py, and any requirements*.txt beside it."""
    folder = Path(filename).resolve().parent
    for candidate in (folder, *folder.parents):
        found = [candidate / name for name in DEPENDENCY_FILES if (candidate / name).is_file()]
        found += _requirements_files(candidate)
        if found:
            text = "\n".join(_read(str(path)) or "" for path in found)
            return (found[0].name, text)
    return None


def _requirements_files(folder: Path) -> list[Path]:
    """The folder's ``requirements*.txt``. Listing a big folder (every file's parents
    up to ``/`` are searched) costs more than the pass's own work on the file, so each
    listing is kept while the folder's entries stay the same (its mtime)."""
    try:
        stamp = folder.stat().st_mtime_ns
    except OSError:
        return []
    return list(_listed_requirements(folder, stamp))


@functools.lru_cache(maxsize=256)
def _listed_requirements(folder: Path, stamp: int) -> tuple[Path, ...]:
    return tuple(sorted(folder.glob("requirements*.txt")))


def _catches_requests(caught: str) -> bool:
    """Whether a handler for ``caught`` (qualified) catches requests' exceptions."""
    if caught in CATCHES_REQUESTS or caught.split(".", 1)[0] == "requests":
        return True
    # an unresolved name (``except HTTPError`` from a star import): by its last part
    return "." not in caught and caught in REQUESTS_EXCEPTIONS
