"""The facts the analysis produces: frozen, picklable values.

Workers analyse one module each and return ``ModuleFacts``; the project linker
(``project.py``) joins them. Nothing here holds a libcst node, so facts cross process
boundaries cheaply and can be cached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from unjam._speed.pickling import by_fields


class Kind(str, Enum):
    """What FastAPI does with a callable."""

    ENDPOINT = "endpoint"
    WEBSOCKET = "websocket"
    DEPENDENCY = "dependency"
    EXCEPTION_HANDLER = "exception_handler"
    MIDDLEWARE = "middleware"
    STARTUP = "startup"
    SHUTDOWN = "shutdown"
    LIFESPAN = "lifespan"
    BACKGROUND_TASK = "background_task"


@by_fields
@dataclass(frozen=True, slots=True, order=True)
class Location:
    line: int
    column: int  # 1-based, as editors and ruff show it


@by_fields
@dataclass(frozen=True, slots=True)
class TypeRef:
    """A type as far as one module can see it.

    ``base`` is a catalog type name, or (``pending``) a project qualified name whose type
    only the linker can tell: the value bound to it, or (``called``) what calling it returns.
    ``ops`` then replays attribute reads (``.name``), calls (``()``) and method calls
    (``.name()``) on that value.
    """

    base: str
    pending: bool = False
    called: bool = False
    ops: tuple[str, ...] = ()

    def then(self, op: str) -> TypeRef:
        return TypeRef(self.base, self.pending, self.called, (*self.ops, op))


@by_fields
@dataclass(frozen=True, slots=True)
class Effect:
    """A call with a catalog category: blocking work, a loop-bound API, a ContextVar or
    shared-state write. Only calls that are not awaited on the spot are effects."""

    name: str  # the callable as the catalog names it: "time.sleep", "sqlalchemy.orm.Query.all"
    category: str
    location: Location
    twin: str | None = None
    deferred: bool = False  # inside a generator expression: runs when consumed
    via: tuple[str, ...] = ()  # project helpers between the function and the call
    call: int = -1  # the call's index among the module's calls, in libcst visiting order


@by_fields
@dataclass(frozen=True, slots=True)
class PendingEffect:
    """A method call whose receiver type depends on another module."""

    receiver: TypeRef
    method: str
    location: Location
    deferred: bool = False
    shared_receiver: str | None = None  # spelling of a module-level/imported receiver
    call: int = -1
    #: Awaited on the spot: no blocking effect, but a use of the method the linker may
    #: resolve to a project coroutine (``await self.repo.get()``).
    awaited: bool = False
    caught: tuple[str, ...] = ()  # what the try statements around it catch (see Reference)


@by_fields
@dataclass(frozen=True, slots=True)
class CallSite:
    """A call to something that may be a project function."""

    target: str
    location: Location
    awaited: bool = False
    call: int = -1
    caught: tuple[str, ...] = ()  # what the try statements around it catch (see Reference)


@by_fields
@dataclass(frozen=True, slots=True)
class Reference:
    """A use of a project callable other than FastAPI registering it.

    ``how`` is "await" (awaited directly), "call" (called, result used some other way) or
    "value" (passed or stored as a value, e.g. to ``create_task`` or a callback list).
    """

    target: str
    how: str
    path: str
    location: Location
    #: Exception types the ``try`` statements around the use catch, qualified ("*": a
    #: bare ``except``), within its function: whether the caller handles what it raises.
    caught: tuple[str, ...] = ()


@by_fields
@dataclass(frozen=True, slots=True)
class FunctionFacts:
    qualname: str
    name: str
    path: str
    location: Location
    is_async: bool
    is_generator: bool
    awaits: int
    effects: tuple[Effect, ...] = ()
    pending: tuple[PendingEffect, ...] = ()
    calls: tuple[CallSite, ...] = ()
    returns: TypeRef | None = None
    suppressed: frozenset[str] = frozenset()  # codemod names, or "*" for all
    nested_async_generators: tuple[int, ...] = ()  # lines of nested async generator defs
    returns_streaming: bool = False
    decorators: tuple[str, ...] = ()  # qualified names of decorator callables
    returns_head: str | None = None  # ``typing.AsyncIterator`` for ``-> AsyncIterator[T]``
    await_runs: int = 0  # blocks where awaited statements follow each other (or a loop)
    #: A parameterless ``functools.cache``/``lru_cache`` function: its body runs once per
    #: process, so calling it is no per-request work.
    once_only: bool = False
    #: ``with value:`` statements (first line, type) on a catalog value whose exit blocks
    #: (``with smtp:`` quits the session): not a call, yet leaving the block blocks.
    blocking_exits: tuple[tuple[int, str], ...] = ()
    #: Awaited method calls on module-level or imported objects: (call index, the
    #: object's qualified name, its type as far as known, else ""). Two awaits that
    #: reach one such object (a connection, a ``databases.Database``) may not overlap.
    awaited_shared: tuple[tuple[int, str, str], ...] = ()


@by_fields
@dataclass(frozen=True, slots=True)
class Registration:
    """FastAPI (or Starlette) will invoke ``target``."""

    kind: Kind
    target: str
    location: Location
    path: str
    owner: str | None = None  # qualified name of the app/router it is registered on
    methods: tuple[str, ...] = ()
    route: str | None = None  # the path template, as written


@by_fields
@dataclass(frozen=True, slots=True)
class RouterDef:
    qualname: str
    prefix: str
    path: str
    location: Location
    #: A project class it is an instance of (``router = VersionedRouter(prefix=...)``):
    #: a router only if the linker finds ``APIRouter`` or ``FastAPI`` among its bases.
    made_by: str | None = None


@by_fields
@dataclass(frozen=True, slots=True)
class ClassFacts:
    """One class of the project, as far as its own module tells.

    ``bases`` are qualified names (project classes are linked across modules; library
    ones may be catalog types). ``attributes`` are the types of instance and class
    attributes: ``self.x = X(...)`` or ``self.x = param`` (annotated) in a method,
    ``x: X`` in the class body (dataclass, pydantic and attrs fields), ``@property``
    return annotations. An attribute assigned values of different types has none.
    """

    qualname: str
    bases: tuple[str, ...] = ()
    attributes: tuple[tuple[str, TypeRef], ...] = ()
    #: ``super().__init__(prefix="/x")`` in ``__init__``: a router subclass's own prefix.
    prefix: str | None = None


@by_fields
@dataclass(frozen=True, slots=True)
class Inclusion:
    parent: str
    child: str
    prefix: str


@by_fields
@dataclass(frozen=True, slots=True)
class ModuleFacts:
    path: str
    module: str
    functions: tuple[FunctionFacts, ...] = ()
    registrations: tuple[Registration, ...] = ()
    routers: tuple[RouterDef, ...] = ()
    inclusions: tuple[Inclusion, ...] = ()
    references: tuple[Reference, ...] = ()
    value_types: tuple[tuple[str, TypeRef], ...] = ()  # module-level name -> type
    aliases: tuple[tuple[str, TypeRef], ...] = ()  # type aliases (Annotated[...] etc.)
    instances: tuple[tuple[str, str], ...] = ()  # module-level name -> class it instantiates
    suppressed_lines: tuple[tuple[int, frozenset[str]], ...] = ()
    candidate_registrations: tuple[Registration, ...] = field(default=())
    #: Module-level ``from x import name``: ``pkg.name`` -> ``x.name``. Other modules may
    #: reach a function under the importing module's name (a package re-exporting it).
    reexports: tuple[tuple[str, str], ...] = ()
    #: Modules this one imports with ``from x import *`` at module level.
    star_imports: tuple[str, ...] = ()
    classes: tuple[ClassFacts, ...] = ()
    #: Instances of project classes that may be routers (see ``RouterDef.made_by``).
    candidate_routers: tuple[RouterDef, ...] = ()
