"""What FastAPI calls: endpoints, websockets, dependencies (all three places), handlers,
middleware, startup/shutdown, lifespan, background tasks, factories, class-based and
partial dependencies, routers imported from other modules."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import kinds_of, project_of
from unjam.analysis.model import Kind


def test_router_in_other_module_with_prefixes(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "svc/__init__.py": "",
            "svc/api/__init__.py": "",
            "svc/api/users.py": """
                from fastapi import APIRouter
                router = APIRouter(prefix="/users")

                @router.get("/{uid}")
                async def get_user(uid: int): ...

                @router.api_route("/bulk", methods=["PUT", "patch"])
                async def bulk(): ...
            """,
            "svc/main.py": """
                from fastapi import FastAPI
                from svc.api.users import router as users_router

                app = FastAPI()
                app.include_router(users_router, prefix="/v1")
            """,
        },
    )
    routes = {(r.function, r.methods, r.path) for r in project.routes()}
    assert ("svc.api.users.get_user", ("GET",), "/v1/users/{uid}") in routes
    assert ("svc.api.users.bulk", ("PUT", "PATCH"), "/v1/users/bulk") in routes


def test_every_http_method_decorator_and_add_api_route(tmp_path: Path) -> None:
    methods = ["get", "post", "put", "patch", "delete", "head", "options", "trace"]
    body = "from fastapi import FastAPI\napp = FastAPI()\n" + "".join(
        f"@app.{m}('/{m}')\nasync def h_{m}(): ...\n" for m in methods
    )
    body += "async def added(): ...\napp.add_api_route('/added', added, methods=['POST'])\n"
    project = project_of(tmp_path, {"m.py": body})
    found = {(r.function, r.methods, r.path) for r in project.routes()}
    for m in methods:
        assert (f"m.h_{m}", (m.upper(),), f"/{m}") in found
    assert ("m.added", ("POST",), "/added") in found


def test_decorator_on_something_that_is_not_a_router_is_not_a_route(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "m.py": """
                import fastapi
                class Cache:
                    def get(self, key): ...
                cache = Cache()

                @cache.get("/x")
                async def not_a_route(): ...
            """
        },
    )
    assert kinds_of(project, "m.not_a_route") == set()


def test_websockets(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "m.py": """
                from fastapi import APIRouter, WebSocket
                router = APIRouter()

                @router.websocket("/ws")
                async def ws(websocket: WebSocket): ...

                async def ws2(websocket: WebSocket): ...
                router.add_api_websocket_route("/ws2", ws2)
            """
        },
    )
    assert kinds_of(project, "m.ws") == {Kind.WEBSOCKET}
    assert kinds_of(project, "m.ws2") == {Kind.WEBSOCKET}


def test_dependencies_in_all_three_places(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "deps.py": """
                from typing import Annotated
                from fastapi import Depends, Security
                async def in_default(): ...
                async def in_annotated(): ...
                async def in_decorator(): ...
                async def in_router(): ...
                async def in_app(): ...
                async def nested(): ...
                async def security(): ...
                async def in_alias(): ...
                AliasDep = Annotated[int, Depends(in_alias)]
                async def uses_nested(x=Depends(nested)): ...
            """,
            "main.py": """
                from typing import Annotated
                from fastapi import APIRouter, Depends, FastAPI, Security
                import deps
                from deps import AliasDep

                app = FastAPI(dependencies=[Depends(deps.in_app)])
                router = APIRouter(dependencies=[Depends(deps.in_router)])

                @router.get("/", dependencies=[Depends(deps.in_decorator)])
                async def endpoint(
                    a=Depends(deps.in_default),
                    b: Annotated[int, Depends(deps.in_annotated)] = 0,
                    c=Depends(deps.uses_nested),
                    d=Security(deps.security, scopes=["x"]),
                    e: AliasDep = 0,
                ): ...
            """,
        },
    )
    for name in (
        "in_default",
        "in_annotated",
        "in_decorator",
        "in_router",
        "in_app",
        "nested",
        "uses_nested",
        "security",
        "in_alias",
    ):
        assert kinds_of(project, f"deps.{name}") == {Kind.DEPENDENCY}, name


def test_class_based_and_partial_dependencies(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "m.py": """
                import functools
                from fastapi import Depends, FastAPI

                class Checker:
                    def __init__(self, role: str): self.role = role
                    async def __call__(self): ...

                class Limiter:
                    async def __call__(self): ...

                async def paged(limit: int, offset: int = 0): ...

                limiter = Limiter()
                app = FastAPI()

                @app.get("/")
                async def endpoint(
                    a=Depends(Checker("admin")),
                    b=Depends(limiter),
                    c=Depends(functools.partial(paged, 10)),
                ): ...
            """
        },
    )
    assert kinds_of(project, "m.Checker.__call__") == {Kind.DEPENDENCY}
    assert kinds_of(project, "m.Limiter.__call__") == {Kind.DEPENDENCY}
    assert kinds_of(project, "m.paged") == {Kind.DEPENDENCY}
    assert kinds_of(project, "m.Checker.__init__") == set()


def test_handlers_middleware_events_lifespan_background(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "m.py": """
                from contextlib import asynccontextmanager
                from fastapi import BackgroundTasks, FastAPI
                from starlette.middleware import Middleware
                from starlette.middleware.base import BaseHTTPMiddleware

                async def on_error(request, exc): ...
                async def on_key_error(request, exc): ...
                async def on_type_error(request, exc): ...
                async def boot(): ...
                async def stop(): ...
                async def added_boot(): ...
                async def dispatch_a(request, call_next): ...
                async def dispatch_b(request, call_next): ...
                async def send_mail(to: str): ...

                @asynccontextmanager
                async def lifespan(app):
                    yield

                class Timing(BaseHTTPMiddleware):
                    async def dispatch(self, request, call_next): ...

                app = FastAPI(
                    lifespan=lifespan,
                    on_startup=[boot],
                    on_shutdown=[stop],
                    exception_handlers={KeyError: on_key_error},
                    middleware=[Middleware(BaseHTTPMiddleware, dispatch=dispatch_a)],
                )
                app.add_exception_handler(TypeError, on_type_error)
                app.add_event_handler("startup", added_boot)
                app.add_middleware(BaseHTTPMiddleware, dispatch=dispatch_b)

                @app.exception_handler(ValueError)
                async def on_value_error(request, exc): ...

                @app.middleware("http")
                async def mw(request, call_next): ...

                @app.on_event("shutdown")
                async def bye(): ...

                @app.post("/signup")
                async def signup(tasks: BackgroundTasks):
                    tasks.add_task(send_mail, "a@b.c")
            """
        },
    )
    expected = {
        "m.on_key_error": Kind.EXCEPTION_HANDLER,
        "m.on_type_error": Kind.EXCEPTION_HANDLER,
        "m.on_value_error": Kind.EXCEPTION_HANDLER,
        "m.boot": Kind.STARTUP,
        "m.added_boot": Kind.STARTUP,
        "m.stop": Kind.SHUTDOWN,
        "m.bye": Kind.SHUTDOWN,
        "m.dispatch_a": Kind.MIDDLEWARE,
        "m.dispatch_b": Kind.MIDDLEWARE,
        "m.mw": Kind.MIDDLEWARE,
        "m.Timing.dispatch": Kind.MIDDLEWARE,
        "m.lifespan": Kind.LIFESPAN,
        "m.send_mail": Kind.BACKGROUND_TASK,
        "m.signup": Kind.ENDPOINT,
    }
    for qualname, kind in expected.items():
        assert kinds_of(project, qualname) == {kind}, qualname
    assert kinds_of(project, "m.on_error") == set()


def test_app_and_router_built_in_factory_functions(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "m.py": """
                from fastapi import APIRouter, FastAPI

                def make_router():
                    router = APIRouter(prefix="/r")
                    @router.get("/x")
                    async def inner(): ...
                    return router

                def create_app():
                    app = FastAPI()
                    @app.get("/health")
                    async def health(): ...
                    return app
            """
        },
    )
    routes = {(r.function, r.path) for r in project.routes()}
    assert ("m.create_app.<locals>.health", "/health") in routes
    assert ("m.make_router.<locals>.inner", "/r/x") in routes


def test_routes_survive_aliased_fastapi_imports(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "m.py": """
                import fastapi as fa
                from fastapi import APIRouter as R
                app = fa.FastAPI()
                r = R()
                @app.get("/a")
                async def a(): ...
                @r.post("/b")
                async def b(): ...
            """
        },
    )
    assert kinds_of(project, "m.a") == {Kind.ENDPOINT}
    assert kinds_of(project, "m.b") == {Kind.ENDPOINT}


def test_subclassed_routers_nested_two_deep_list_every_route_with_its_path() -> None:
    from tests.helpers import FIXTURES, analyse

    project = analyse(FIXTURES / "apps" / "routers", every_route=True).project
    found = {(route.methods, route.path, route.function) for route in project.routes()}
    assert found == {
        (("GET",), "/api/v1/items", "shop.items.list_items"),  # prefix from the class
        (("GET",), "/api/v1/admin/stats", "shop.items.stats"),  # APIRouter two bases up
        (("POST",), "/api/v1/orders/{order_id}/cancel", "shop.items.cancel"),
        (("GET",), "/health", "shop.main.create_app.<locals>.health"),
    }


def test_a_class_that_is_not_a_router_registers_nothing(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "m.py": """
                class Registry:
                    def get(self, path):
                        return lambda f: f

                class Special(Registry):
                    pass

                registry = Special()

                @registry.get("/not-a-route")
                async def handler(): ...
            """
        },
    )
    assert project.routes() == []


def test_middleware_classes_given_to_the_app_are_listed(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "m.py": """
                from fastapi import FastAPI
                from starlette.middleware import Middleware

                class Timing:
                    def __init__(self, app):
                        self.app = app

                    async def __call__(self, scope, receive, send):
                        await self.app(scope, receive, send)

                class Audit(Timing):
                    pass

                def build():
                    app = FastAPI(middleware=[Middleware(Timing)])
                    app.add_middleware(Audit)
                    return app
            """
        },
    )
    middleware = {r.function for r in project.routes() if r.kind is Kind.MIDDLEWARE}
    # Audit inherits __call__: Starlette runs Timing.__call__ for it.
    assert middleware == {"m.Timing.__call__"}
    assert len([r for r in project.registrations if r.kind is Kind.MIDDLEWARE]) == 2
