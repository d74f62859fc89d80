"""How FastAPI (and Starlette underneath it) is told to call a function.

Shapes are matched on qualified names where the callee is a FastAPI name, and on the
method name where the receiver is an app or router object; those candidates are confirmed
by the project linker, which knows every app and router in the project.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from unjam.analysis.model import Kind


def _spellings(*names: str) -> frozenset[str]:
    return frozenset(names)


APP_FACTORIES = _spellings(
    "fastapi.FastAPI", "fastapi.applications.FastAPI", "starlette.applications.Starlette"
)
ROUTER_FACTORIES = _spellings("fastapi.APIRouter", "fastapi.routing.APIRouter")
DEPENDS = _spellings(
    "fastapi.Depends",
    "fastapi.Security",
    "fastapi.params.Depends",
    "fastapi.params.Security",
    "fastapi.param_functions.Depends",
    "fastapi.param_functions.Security",
)
MIDDLEWARE_WRAPPERS = _spellings("starlette.middleware.Middleware", "fastapi.middleware.Middleware")
BASE_HTTP_MIDDLEWARE = _spellings(
    "starlette.middleware.base.BaseHTTPMiddleware", "fastapi.middleware.base.BaseHTTPMiddleware"
)
BACKGROUND_TASK = _spellings(
    "starlette.background.BackgroundTask", "fastapi.background.BackgroundTask"
)
BACKGROUND_TASKS = _spellings(
    "fastapi.BackgroundTasks",
    "fastapi.background.BackgroundTasks",
    "starlette.background.BackgroundTasks",
)
STREAMING_RESPONSES = _spellings(
    "fastapi.responses.StreamingResponse",
    "starlette.responses.StreamingResponse",
    "sse_starlette.EventSourceResponse",
    "sse_starlette.sse.EventSourceResponse",
)
PARTIAL = _spellings("functools.partial")
ANNOTATED = _spellings("typing.Annotated", "typing_extensions.Annotated")
OPTIONAL = _spellings("typing.Optional", "typing.Union", "typing_extensions.Optional")
ITERATORS = _spellings(
    "typing.Iterator",
    "typing.Generator",
    "typing.Iterable",
    "collections.abc.Iterator",
    "collections.abc.Generator",
    "collections.abc.Iterable",
    "typing.AsyncIterator",
    "typing.AsyncGenerator",
    "collections.abc.AsyncIterator",
    "collections.abc.AsyncGenerator",
)
TYPE_ALIAS_MARKERS = _spellings("typing.TypeAlias", "typing_extensions.TypeAlias")
PROPERTIES = _spellings("builtins.property", "functools.cached_property")

HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")


def string_arg(call: cst.Call, keyword: str, position: int | None) -> str | None:
    """A plain string literal argument, by keyword or position."""
    for index, arg in enumerate(call.args):
        matches = (arg.keyword is not None and arg.keyword.value == keyword) or (
            arg.keyword is None and position is not None and index == position
        )
        if matches and isinstance(arg.value, cst.SimpleString):
            value = arg.value.evaluated_value
            return value if isinstance(value, str) else None
    return None


def keyword_arg(call: cst.Call, keyword: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    return None


def positional_arg(call: cst.Call, index: int) -> cst.BaseExpression | None:
    positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
    return positional[index].value if index < len(positional) else None


def _methods(call: cst.Call, default: tuple[str, ...]) -> tuple[str, ...]:
    value = keyword_arg(call, "methods")
    if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
        found = [
            element.value.evaluated_value
            for element in value.elements
            if isinstance(element.value, cst.SimpleString)
        ]
        return tuple(str(method).upper() for method in found) or default
    return default


def decorator_registration(
    call: cst.Call,
) -> tuple[Kind, tuple[str, ...], str | None] | None:
    """``@owner.<method>(...)``: the kind of registration it would be on an app/router."""
    assert isinstance(call.func, cst.Attribute)
    method = call.func.attr.value
    route = string_arg(call, "path", 0)
    if method in HTTP_METHODS:
        return Kind.ENDPOINT, (method.upper(),), route
    if method in ("api_route", "route"):
        return Kind.ENDPOINT, _methods(call, ("GET",)), route
    if method in ("websocket", "websocket_route"):
        return Kind.WEBSOCKET, (), route
    if method == "exception_handler":
        return Kind.EXCEPTION_HANDLER, (), None
    if method == "middleware":
        return Kind.MIDDLEWARE, (), None
    if method == "on_event":
        event = string_arg(call, "event_type", 0)
        return (Kind.SHUTDOWN if event == "shutdown" else Kind.STARTUP), (), None
    return None


Found = tuple[
    Kind, cst.BaseExpression | None, cst.BaseExpression | None, tuple[str, ...], str | None
]


def call_registrations(call: cst.Call, callee: set[str]) -> Iterator[Found]:
    """Registrations made by a call: ``Depends(f)``, ``add_api_route``, ``FastAPI(lifespan=f)``…

    Yields (kind, target expression, owner expression or None, methods, route). An owner
    means the registration holds only if the owner is an app or router.
    """
    if callee & DEPENDS:
        target = keyword_arg(call, "dependency") or positional_arg(call, 0)
        if target is not None:
            yield Kind.DEPENDENCY, target, None, (), None
        return
    if callee & (MIDDLEWARE_WRAPPERS | BASE_HTTP_MIDDLEWARE):
        dispatch = keyword_arg(call, "dispatch")
        if dispatch is not None:
            yield Kind.MIDDLEWARE, dispatch, None, (), None
        return
    if callee & BACKGROUND_TASK:
        yield (
            Kind.BACKGROUND_TASK,
            positional_arg(call, 0) or keyword_arg(call, "func"),
            None,
            (),
            None,
        )
        return
    if callee & (APP_FACTORIES | ROUTER_FACTORIES):
        yield from _constructor_registrations(call)
        return
    if not isinstance(call.func, cst.Attribute):
        return
    owner = call.func.value
    method = call.func.attr.value
    if method == "add_api_route":
        endpoint = keyword_arg(call, "endpoint") or positional_arg(call, 1)
        yield Kind.ENDPOINT, endpoint, owner, _methods(call, ("GET",)), string_arg(call, "path", 0)
    elif method in ("add_api_websocket_route", "add_websocket_route"):
        endpoint = keyword_arg(call, "endpoint") or positional_arg(call, 1)
        yield Kind.WEBSOCKET, endpoint, owner, (), string_arg(call, "path", 0)
    elif method == "add_exception_handler":
        yield (
            Kind.EXCEPTION_HANDLER,
            keyword_arg(call, "handler") or positional_arg(call, 1),
            owner,
            (),
            None,
        )
    elif method == "add_event_handler":
        event = string_arg(call, "event_type", 0)
        kind = Kind.SHUTDOWN if event == "shutdown" else Kind.STARTUP
        yield kind, keyword_arg(call, "func") or positional_arg(call, 1), owner, (), None
    elif method == "add_middleware":
        dispatch = keyword_arg(call, "dispatch")
        if dispatch is not None:
            yield Kind.MIDDLEWARE, dispatch, owner, (), None


def middleware_class(call: cst.Call, callee: set[str]) -> tuple[cst.BaseExpression, bool] | None:
    """The class of ``Middleware(Cls, ...)`` or ``app.add_middleware(Cls, ...)``, and
    whether the registration holds only if the receiver is an app (Starlette calls
    the instance: its ``__call__``, or ``dispatch`` for ``BaseHTTPMiddleware``)."""
    if callee & MIDDLEWARE_WRAPPERS:
        found = keyword_arg(call, "cls") or positional_arg(call, 0)
        return (found, False) if found is not None else None
    if isinstance(call.func, cst.Attribute) and call.func.attr.value == "add_middleware":
        found = keyword_arg(call, "middleware_class") or positional_arg(call, 0)
        return (found, True) if found is not None else None
    return None


def _constructor_registrations(call: cst.Call) -> Iterator[Found]:
    lifespan = keyword_arg(call, "lifespan")
    if lifespan is not None:
        yield Kind.LIFESPAN, lifespan, None, (), None
    for keyword, kind in (("on_startup", Kind.STARTUP), ("on_shutdown", Kind.SHUTDOWN)):
        handlers = keyword_arg(call, keyword)
        if isinstance(handlers, (cst.List, cst.Tuple)):
            for element in handlers.elements:
                yield kind, element.value, None, (), None
    mapping = keyword_arg(call, "exception_handlers")
    if isinstance(mapping, cst.Dict):
        for entry in mapping.elements:
            if isinstance(entry, cst.DictElement):
                yield Kind.EXCEPTION_HANDLER, entry.value, None, (), None
