"""Facts about one module: functions, what they await and block on, what FastAPI calls.

One visitor, run once per module. Scoped state lives on a stack of frames (function,
class, lambda) so that a nested ``def`` or a lambda never switches detection off or on
for the rest of the enclosing function.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import libcst as cst
import libcst.matchers as m
from libcst.helpers import get_absolute_module_from_package_for_import
from libcst.metadata import MetadataWrapper, PositionProvider, ScopeProvider

from unjam.analysis import fastapi as fa
from unjam.analysis.catalog import (
    DEFAULT_SESSION,
    MUTATES,
    READS_SHARED,
    SHARED,
    THREAD_AFFINE,
    Catalog,
)
from unjam.analysis.locator import AstLocator, Locator, ProviderLocator
from unjam.analysis.model import (
    CallSite,
    ClassFacts,
    Effect,
    FunctionFacts,
    Inclusion,
    Kind,
    Location,
    ModuleFacts,
    PendingEffect,
    Reference,
    Registration,
    RouterDef,
    TypeRef,
)
from unjam.analysis.node_index import NodeIndex
from unjam.analysis.positions import AstPositions, PositionMismatch, first_line
from unjam.analysis.qualnames import ModuleName, _Qualnames, is_staticmethod, qualified_names
from unjam.analysis.reuse import FACT_LISTS, StatementText, Unit, carried_over, stub
from unjam.analysis.suppression import parse_suppression, suppressions
from unjam.analysis.types import TypeResolver


def is_dotted(node: cst.BaseExpression) -> bool:
    """``name`` or ``a.b.c``: callees whose qualified name means the callable itself."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, cst.Name)


@dataclass(slots=True)
class _Frame:
    kind: str  # "module", "function", "class", "lambda"
    qualname: str
    is_async: bool = False
    awaits: int = 0
    is_generator: bool = False
    effects: list[Effect] = field(default_factory=list)
    pending: list[PendingEffect] = field(default_factory=list)
    calls: list[CallSite] = field(default_factory=list)
    local_types: dict[str, TypeRef] = field(default_factory=dict)
    self_name: str | None = None
    class_qualname: str | None = None
    nested_async_generators: list[int] = field(default_factory=list)
    returns_streaming: bool = False
    globals_declared: set[str] = field(default_factory=set)
    await_runs: int = 0
    #: Types of the values it returns (or, for a generator, yields); None for a value
    #: of unknown type. Stands for a missing return annotation (see ``_inferred``).
    returned: list[TypeRef | None] = field(default_factory=list)
    yielded: list[TypeRef | None] = field(default_factory=list)
    annotated: bool = False  # a return annotation says the type: nothing to infer
    #: Depth of ``if G is None:`` blocks that set the global ``G``: lazy initialisation,
    #: run once per process, so what it calls is no per-request work (see ``_once_guard``).
    once: int = 0
    blocking_exits: list[tuple[int, str]] = field(default_factory=list)
    #: Per enclosing ``try`` body: the exception types its handlers catch.
    catching: list[tuple[str, ...]] = field(default_factory=list)
    awaited_shared: list[tuple[int, str, str]] = field(default_factory=list)


class ModuleAnalyser(cst.CSTVisitor):
    """Collects ``ModuleFacts`` for one module.

    ``project_roots`` are the top-level package names of the project: a qualified name
    under one of them may be a project function, anything else is a library.
    """

    METADATA_DEPENDENCIES = (ScopeProvider,)

    def __init__(
        self,
        path: str,
        name: ModuleName,
        catalog: Catalog,
        project_roots: frozenset[str],
        locator: Locator,
        record: frozenset[int] = frozenset(),
        reuse: Mapping[int, tuple[cst.FunctionDef | cst.ClassDef, Unit]] | None = None,
    ) -> None:
        """``record``: ``id`` of the top-level statements to keep a ``Unit`` of (with
        CPython's positions only); ``reuse``: stubs standing for statements carried over,
        by ``id`` of the stub (see ``reuse``)."""
        super().__init__()
        self.locator = locator
        # Comments are all this walk reads in whitespace, and only without CPython's
        # positions (``visit_Comment``): otherwise the walk skips it (see fastwalk).
        self.skips_trivia = isinstance(locator, AstLocator)
        self.path = path
        self.name = name
        self.catalog = catalog
        self.project_roots = project_roots
        self.frames: list[_Frame] = [_Frame("module", name.module)]
        self.functions: list[FunctionFacts] = []
        self.registrations: list[Registration] = []
        self.candidates: list[Registration] = []
        self.routers: list[RouterDef] = []
        self.inclusions: list[Inclusion] = []
        self.references: list[Reference] = []
        self.value_types: dict[str, TypeRef] = {}
        self.aliases: dict[str, TypeRef] = {}
        self.instances: dict[str, str] = {}
        self.classes: list[ClassFacts] = []
        self.candidate_routers: list[RouterDef] = []
        # Per class being walked: its bases, attribute types (None: seen with types
        # that disagree, or unknown), and the prefix its ``__init__`` gives ``super()``.
        self.class_bases: dict[str, tuple[str, ...]] = {}
        self.class_attributes: dict[str, dict[str, TypeRef | None]] = {}
        self.class_prefix: dict[str, str] = {}
        self.suppressed: dict[int, frozenset[str]] = suppressions(locator.comments(), path)
        self.call_locations: dict[int, Location] = {}
        # Passes find a call again by its index: calls at one position (a chain such as
        # ``open(p).read()``) share a location but never an index.
        self.call_indexes: dict[int, int] = {}
        self.qualified: dict[int, set[str]] = {}
        self.awaited_calls: set[int] = set()
        self.registered_args: set[int] = set()
        self.genexp_depth = 0
        self.prepared: dict[int, _Frame] = {}
        self.decorators: dict[int, tuple[str, ...]] = {}
        self.once_guards: set[int] = set()
        self.shared_names: dict[tuple[int, str], str] = {}
        self.not_reads: set[int] = set()
        self.types = TypeResolver(self)
        self.reexports: dict[str, str] = {}
        self.star_imports: list[str] = []
        # For the passes (see ``NodeIndex``): functions named as a pass names them.
        self.function_names = _Qualnames(name.module)
        self.with_lines: dict[int, tuple[int, int]] = {}
        # For carrying statements over to the next analysis (see ``reuse``).
        self.record = record if isinstance(locator, AstLocator) else frozenset()
        self.reuse = reuse or {}
        self.units: dict[int, Unit] = {}
        self.function_events: list[tuple[int, str]] = []
        self.recording: tuple[cst.CSTNode, dict[str, int]] | None = None

    # -- helpers -------------------------------------------------------------------------
    def qnames(self, node: cst.CSTNode) -> set[str]:
        key = id(node)
        found = self.qualified.get(key)
        if found is None:
            scope = self.get_metadata(ScopeProvider, node, None)
            found = qualified_names(scope, node, self.name)
            if not found and self.star_imports and isinstance(node, cst.Name):
                # Bound by ``from x import *`` (libcst cannot tell): a name of this
                # module, which the linker follows into the star-imported modules.
                found = {f"{self.name.module}.{node.value}"}
            self.qualified[key] = found
        return found

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.reuse and id(node) in self.reuse:
            self._carry_over(*self.reuse[id(node)])
            return False
        if id(node) in self.record:
            self._start_unit(node)
        self.locator.enter(node)
        return super().on_visit(node)

    # -- units carried over to the next analysis (see ``reuse``) ---------------------------
    def _start_unit(self, node: cst.CSTNode) -> None:
        assert isinstance(self.locator, AstLocator)
        counts = {name: len(getattr(self, name)) for name in FACT_LISTS}
        counts.update(
            statements=self.locator.statements_seen,
            calls=len(self.call_indexes),
            withs=len(self.with_lines),
            function_names=len(self.function_events),
        )
        self.recording = (node, counts)

    def _end_unit(self, node: cst.FunctionDef | cst.ClassDef) -> None:
        if self.recording is None or self.recording[0] is not node:
            return
        start = self.recording[1]
        self.recording = None
        assert isinstance(self.locator, AstLocator)
        self.units[id(node)] = Unit(
            name=node.name.value,
            is_class=isinstance(node, cst.ClassDef),
            first_line=first_line(self.locator.entered[id(node)]),
            last_line=self.locator.statement_at(self.locator.statements_seen - 1).lineno,
            statements=self.locator.statements_seen - start["statements"],
            first_call=start["calls"],
            # calls are numbered in the order they are met: the newest keys are the unit's
            calls=tuple(itertools.islice(self.call_indexes, start["calls"], None)),
            withs=tuple(itertools.islice(self.with_lines.items(), start["withs"], None)),
            function_names=tuple(self.function_events[start["function_names"] :]),
            **{name: tuple(getattr(self, name)[start[name] :]) for name in FACT_LISTS},
        )

    def _carry_over(self, statement: cst.FunctionDef | cst.ClassDef, unit: Unit) -> None:
        """Stand ``statement`` (unchanged since ``unit`` was made) where its stub is."""
        assert isinstance(self.locator, AstLocator)
        lines = self.locator.skip(statement, unit)
        moved = unit.moved(lines, len(self.call_indexes))
        for call_id in moved.calls:
            self.call_indexes[call_id] = len(self.call_indexes)
        self.with_lines.update(moved.withs)
        for node_id, qualname in moved.function_names:
            self.function_names.named(node_id, qualname)
        self.function_events.extend(moved.function_names)
        for name in FACT_LISTS:
            getattr(self, name).extend(getattr(moved, name))
        self.units[id(statement)] = moved

    # The only attribute hooks are the bodies of a function and of an ``if``: dispatch
    # those directly instead of libcst's lookup of ``visit_<Node>_<field>`` on every
    # field of every node.
    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        if attribute == "body":
            if isinstance(node, cst.FunctionDef):
                self.visit_FunctionDef_body(node)
            elif isinstance(node, cst.If):
                self.visit_If_body(node)
            elif isinstance(node, cst.Try | cst.TryStar):
                self._enter_try_body(node)

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        if attribute == "body":
            if isinstance(original_node, cst.FunctionDef):
                self.leave_FunctionDef_body(original_node)
            elif isinstance(original_node, cst.If):
                self.leave_If_body(original_node)
            elif isinstance(original_node, cst.Try | cst.TryStar):
                frame = self.function_frame()
                if frame is not None:
                    frame.catching.pop()

    def _enter_try_body(self, node: cst.Try | cst.TryStar) -> None:
        """What the handlers of a ``try`` catch, for the calls in its body."""
        frame = self.function_frame()
        if frame is None:
            return
        caught: list[str] = []
        for handler in node.handlers:
            if handler.type is None:
                caught.append("*")
                continue
            kinds = (
                [element.value for element in handler.type.elements]
                if isinstance(handler.type, cst.Tuple)
                else [handler.type]
            )
            for kind in kinds:
                names = self.qnames(kind)
                caught.append(min(names) if names else cst.Module([]).code_for_node(kind))
        frame.catching.append(tuple(caught))

    def _caught(self, frame: _Frame | None) -> tuple[str, ...]:
        if frame is None or not frame.catching:
            return ()
        return tuple(dict.fromkeys(name for caught in frame.catching for name in caught))

    def call_location(self, node: cst.Call) -> Location:
        return self.call_locations[id(node)]

    def is_project(self, qualname: str) -> bool:
        return qualname.split(".", 1)[0] in self.project_roots

    @property
    def frame(self) -> _Frame:
        return self.frames[-1]

    def function_frame(self) -> _Frame | None:
        for frame in reversed(self.frames):
            if frame.kind == "function":
                return frame
            if frame.kind in ("class", "lambda"):
                return None
        return None

    def local_qualname(self, name: str) -> str:
        frame = self.frame
        if frame.kind == "module":
            return f"{self.name.module}.{name}" if self.name.module else name
        if frame.kind == "class":
            return f"{frame.qualname}.{name}"
        return f"{frame.qualname}.<locals>.{name}"

    # -- comments ------------------------------------------------------------------------
    def visit_Comment(self, node: cst.Comment) -> None:
        line = self.locator.comment_line(node)
        if line is None:
            return  # the locator read the comments already
        codes = parse_suppression(node.value)
        if codes is not None:
            self.suppressed[line] = self.suppressed.get(line, frozenset()) | codes

    # -- scopes --------------------------------------------------------------------------
    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.function_names.visit_ClassDef(node)
        qualname = self.local_qualname(node.name.value)
        bases: list[str] = []
        for base in node.bases:
            if base.keyword is not None or base.star:
                continue  # ``metaclass=...``, ``*mixins``
            head = base.value.value if isinstance(base.value, cst.Subscript) else base.value
            found = min(self.qnames(head), default=None)  # ``Repo[Item]``: ``Repo``
            if found is not None:
                bases.append(found)
        self.class_bases[qualname] = tuple(bases)
        self.class_attributes[qualname] = {}
        for base in node.bases:
            if any(name in fa.BASE_HTTP_MIDDLEWARE for name in self.qnames(base.value)):
                self.registrations.append(
                    Registration(
                        Kind.MIDDLEWARE,
                        f"{qualname}.dispatch",
                        self.locator.definition(node),
                        self.path,
                    )
                )
        self.frames.append(_Frame("class", qualname))

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        if id(original_node) in self.reuse:
            return  # a stub: nothing was entered
        self.function_names.leave_ClassDef(original_node)
        frame = self.frames.pop()
        attributes = self.class_attributes.pop(frame.qualname, {})
        self.classes.append(
            ClassFacts(
                qualname=frame.qualname,
                bases=self.class_bases.pop(frame.qualname, ()),
                attributes=tuple((k, v) for k, v in attributes.items() if v is not None),
                prefix=self.class_prefix.pop(frame.qualname, None),
            )
        )
        self._end_unit(original_node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.function_names.visit_FunctionDef(node)
        self.function_events.append((id(node), self.function_names.stack[-1][1]))
        parent = self.frame
        qualname = self.local_qualname(node.name.value)
        frame = _Frame(
            "function",
            qualname,
            is_async=node.asynchronous is not None,
            annotated=node.returns is not None,
        )
        if parent.kind == "class":
            frame.class_qualname = parent.qualname
            params = node.params.params or node.params.posonly_params
            if params and not is_staticmethod(node):
                frame.self_name = params[0].name.value
                # ``self`` (or ``cls``) is the class: the linker resolves its methods
                # and attributes through the class table.
                frame.local_types[frame.self_name] = TypeRef(parent.qualname, pending=True)
        for param in (
            *node.params.posonly_params,
            *node.params.params,
            *node.params.kwonly_params,
        ):
            ref = None
            if param.annotation is not None:
                ref = self.types.annotation(param.annotation.annotation)
            elif param.default is not None:
                ref = self.types.dependency(param.default)
            if ref is not None:
                frame.local_types[param.name.value] = ref
        self._register_decorators(node, qualname)
        self.prepared[id(node)] = frame
        self.decorators[id(node)] = tuple(self._decorator_name(d) for d in node.decorators)

    def visit_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        # Decorators and parameter defaults run in the enclosing scope, at definition
        # time: the function's own frame starts with its body.
        self.frames.append(self.prepared.pop(id(node)))

    def leave_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        frame = self.frames.pop()
        location = self.locator.definition(node)
        lines = {location.line, *self.locator.decorator_lines(node)}
        suppressed = frozenset().union(*(self.suppressed.get(line, frozenset()) for line in lines))
        returns = (
            self.types.annotation(node.returns.annotation, unwrap_iterators=True)
            if node.returns
            else _inferred(frame.yielded if frame.is_generator else frame.returned)
        )
        if frame.class_qualname is not None and returns is not None:
            decorators = {name for d in node.decorators for name in self.qnames(d.decorator)}
            if decorators & fa.PROPERTIES:
                self._attribute(frame.class_qualname, node.name.value, returns)
        facts = FunctionFacts(
            qualname=frame.qualname,
            name=node.name.value,
            path=self.path,
            location=location,
            is_async=frame.is_async,
            is_generator=frame.is_generator,
            awaits=frame.awaits,
            effects=tuple(frame.effects),
            pending=tuple(frame.pending),
            calls=tuple(frame.calls),
            returns=returns,
            suppressed=suppressed,
            nested_async_generators=tuple(frame.nested_async_generators),
            returns_streaming=frame.returns_streaming,
            decorators=(decorator_names := self.decorators.pop(id(node), ())),
            returns_head=self._returns_head(node),
            await_runs=frame.await_runs,
            blocking_exits=tuple(frame.blocking_exits),
            awaited_shared=tuple(frame.awaited_shared),
            once_only=_takes_nothing(node)
            and not frame.is_async
            and bool(CACHES & set(decorator_names)),
        )
        self.functions.append(facts)
        outer = self.function_frame()
        if outer is not None and frame.is_async and frame.is_generator:
            outer.nested_async_generators.append(facts.location.line)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        if id(original_node) in self.reuse:
            return  # a stub: nothing was entered
        self.function_names.leave_FunctionDef(original_node)
        self._end_unit(original_node)

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        frame = self.frame
        if frame.kind == "function" and frame.is_async:
            frame.await_runs += _await_runs(node.body)

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.frames.append(_Frame("lambda", f"{self.frame.qualname}.<lambda>"))

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.frames.pop()

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self.genexp_depth += 1

    def leave_GeneratorExp(self, original_node: cst.GeneratorExp) -> None:
        self.genexp_depth -= 1

    # -- awaits and yields ---------------------------------------------------------------
    def visit_Await(self, node: cst.Await) -> None:
        frame = self.function_frame()
        if frame is not None:
            frame.awaits += 1
        if isinstance(node.expression, cst.Call):
            self.awaited_calls.add(id(node.expression))

    def visit_For(self, node: cst.For) -> None:
        if node.asynchronous is not None and (frame := self.function_frame()) is not None:
            frame.awaits += 1

    def visit_With(self, node: cst.With) -> None:
        self.with_lines[id(node)] = self.locator.lines()
        frame = self.function_frame()
        if node.asynchronous is not None and frame is not None:
            frame.awaits += 1
        if node.asynchronous is None and frame is not None and not frame.once:
            for item in node.items:
                if isinstance(item.item, cst.Call):
                    continue
                ref = self.types.of(item.item)
                if ref is not None and not ref.pending and self.catalog.exit_blocks(ref.base):
                    rule = self.catalog.type(ref.base)
                    assert rule is not None
                    frame.blocking_exits.append((self.with_lines[id(node)][0], rule.name))
        for item in node.items:
            if item.asname is not None and isinstance(item.asname.name, cst.Name):
                ref = self.types.of(item.item)
                if ref is not None:
                    self._bind(item.asname.name.value, ref)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        if node.asynchronous is not None and (frame := self.function_frame()) is not None:
            frame.awaits += 1

    def visit_Yield(self, node: cst.Yield) -> None:
        frame = self.function_frame()
        if frame is not None:
            frame.is_generator = True
            value = node.value
            if not frame.annotated and value is not None and not isinstance(value, cst.From):
                frame.yielded.append(self.types.of(value))

    # -- once-only work ------------------------------------------------------------------
    def visit_If_body(self, node: cst.If) -> None:
        frame = self.function_frame()
        if frame is not None and _once_guard(node, frame.globals_declared):
            frame.once += 1
            self.once_guards.add(id(node))

    def leave_If_body(self, node: cst.If) -> None:
        if id(node) in self.once_guards:
            self.once_guards.discard(id(node))
            frame = self.function_frame()
            assert frame is not None
            frame.once -= 1

    # -- writes to shared state --------------------------------------------------------
    def visit_Global(self, node: cst.Global) -> None:
        frame = self.function_frame()
        if frame is not None:
            frame.globals_declared.update(item.name.value for item in node.names)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._shared_write(node.target)

    def _shared_write(self, target: cst.BaseExpression) -> None:
        """Record ``target = ...`` when ``target`` is state other requests share."""
        frame = self.function_frame()
        if frame is None:
            return
        shown = dotted_target(target)
        if isinstance(target, cst.Name):
            shared = target.value in frame.globals_declared
        else:
            root = _root_name(target)
            shared = root is not None and self._is_shared_root(root, frame)
        if shared and shown is not None and not frame.once:
            frame.effects.append(Effect(shown, SHARED, self.locator.statement()))
            root = target if isinstance(target, cst.Name) else _root_name(target)
            self._mutates(root, frame, self.locator.statement(), -1)

    def _is_shared_root(self, root: cst.Name, frame: _Frame) -> bool:
        if root.value == frame.self_name:
            # A constructor writes an object nobody else holds yet.
            return frame.qualname != f"{frame.class_qualname}.__init__"
        if root.value in frame.globals_declared:
            return True
        if self._is_module(root):  # ``os.remove(path)`` calls a function, writes nothing
            return False
        names = self.qnames(root)
        return bool(names) and all(
            "<locals>" not in name and not name.startswith("builtins.") for name in names
        )

    def _mutates(self, root: cst.Name | None, frame: _Frame, at: Location, index: int) -> None:
        """A change to a module-level object, under its qualified name (``self`` is not
        module-level: its changes are the instance's)."""
        if root is None or root.value == frame.self_name:
            return
        for name in self.qnames(root):
            if "<locals>" not in name:
                frame.effects.append(Effect(name, MUTATES, at, call=index))
                return

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.not_reads.add(id(node.attr))  # ``x.EVENTS`` reads ``x``, not ``EVENTS``

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self.not_reads.add(id(node.keyword))

    def visit_Name(self, node: cst.Name) -> None:
        """A read of a module-level object that is not a module, function or class:
        run in a thread while a coroutine changes it, the thread may see it half
        changed (see ``Project.shared_reads``)."""
        frame = self.function_frame()
        if frame is None or frame.once or id(node) in self.not_reads:
            return
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is None:
            return
        key = (id(scope), node.value)
        shared = self.shared_names.get(key)
        if shared is None:
            shared = self.shared_names[key] = self._shared_name(node, scope)
        if shared:
            frame.effects.append(Effect(shared, READS_SHARED, self.locator.statement()))

    def _shared_name(self, node: cst.Name, scope: object) -> str:
        """The qualified name of a module-level object ``node`` reads, or ""."""
        assert isinstance(scope, cst.metadata.Scope)
        bindings = list(scope[node.value])
        if not bindings:
            return ""
        for binding in bindings:
            if not isinstance(binding.scope, cst.metadata.GlobalScope):
                return ""
            if not isinstance(binding, cst.metadata.Assignment):
                return ""
            if isinstance(binding.node, cst.Import | cst.FunctionDef | cst.ClassDef):
                return ""
        names = [name for name in self.qnames(node) if "<locals>" not in name]
        return min(names, default="")

    def _is_module(self, name: cst.Name) -> bool:
        """Whether ``name`` is bound only by ``import x`` statements."""
        scope = self.get_metadata(ScopeProvider, name, None)
        if scope is None:
            return False
        bindings = list(scope[name.value])
        return bool(bindings) and all(
            isinstance(getattr(binding, "node", None), cst.Import) for binding in bindings
        )

    def _mutating_call(self, node: cst.Call) -> None:
        if not isinstance(node.func, cst.Attribute) or node.func.attr.value not in MUTATORS:
            return
        frame = self.function_frame()
        root = _root_name(node.func.value)
        if (
            frame is not None
            and not frame.once
            and root is not None
            and self._is_shared_root(root, frame)
        ):
            shown = dotted_target(node.func) or node.func.attr.value
            index = self.call_indexes[id(node)]
            frame.effects.append(Effect(f"{shown}()", SHARED, self.call_location(node), call=index))
            self._mutates(root, frame, self.call_location(node), index)

    # -- bindings ------------------------------------------------------------------------
    def _bind(self, name: str, ref: TypeRef) -> None:
        frame = self.frame
        if frame.kind == "module":
            self.value_types[self.local_qualname(name)] = ref
        elif frame.kind == "function":
            frame.local_types[name] = ref

    def visit_Assign(self, node: cst.Assign) -> None:
        ref = self.types.of(node.value)
        for target in node.targets:
            self._shared_write(target.target)
            self._attribute_assigned(target.target, ref, node.value)
            if not isinstance(target.target, cst.Name):
                continue
            name = target.target.value
            if ref is not None:
                self._bind(name, ref)
            self._record_binding(name, node.value)
        self._reference_values([node.value])

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._shared_write(node.target)
        annotation = node.annotation.annotation
        if not isinstance(node.target, cst.Name):
            declared = self.types.annotation(annotation)
            self._attribute_assigned(node.target, declared, node.value or annotation)
            return
        name = node.target.value
        if self.frame.kind == "class":  # a field: ``x: X``, ``x: X = Field(...)``
            self._attribute(self.frame.qualname, name, self.types.annotation(annotation))
            return
        if self.frame.kind == "module" and self.qnames(annotation) & fa.TYPE_ALIAS_MARKERS:
            if node.value is not None and (ref := self.types.annotation(node.value)) is not None:
                self.aliases[self.local_qualname(name)] = ref
            return
        ref = self.types.annotation(annotation)
        if ref is None and node.value is not None:
            ref = self.types.of(node.value)
        if ref is not None:
            self._bind(name, ref)
        if node.value is not None:
            self._record_binding(name, node.value)
            self._reference_values([node.value])

    def visit_TypeAlias(self, node: cst.TypeAlias) -> None:
        ref = self.types.annotation(node.value)
        if ref is not None and self.frame.kind == "module":
            self.aliases[self.local_qualname(node.name.value)] = ref

    def _attribute_assigned(
        self, target: cst.BaseExpression, ref: TypeRef | None, value: cst.BaseExpression
    ) -> None:
        """``self.x = value`` in a method, or ``x = value`` in a class body."""
        if m.matches(value, m.Name("None")):
            return  # ``self.x = None`` until set: the other assignments tell the type
        if isinstance(target, cst.Name) and self.frame.kind == "class":
            self._attribute(self.frame.qualname, target.value, ref)
            return
        frame = self.function_frame()
        if (
            frame is not None
            and frame.class_qualname is not None
            and frame.self_name is not None
            and isinstance(target, cst.Attribute)
            and m.matches(target.value, m.Name(frame.self_name))
        ):
            self._attribute(frame.class_qualname, target.attr.value, ref)

    def _attribute(self, class_qualname: str, name: str, ref: TypeRef | None) -> None:
        """An attribute with one known type keeps it; any other assignment unsets it."""
        attributes = self.class_attributes.get(class_qualname)
        if attributes is None:
            return
        if name in attributes and attributes[name] != ref:
            attributes[name] = None
        else:
            attributes.setdefault(name, ref)

    def _record_binding(self, name: str, value: cst.BaseExpression) -> None:
        """Module-level facts the linker needs: apps, routers, instances, type aliases."""
        qualname = self.local_qualname(name)
        if isinstance(value, cst.Call):
            callee = self.qnames(value.func)
            if callee & fa.APP_FACTORIES or callee & fa.ROUTER_FACTORIES:
                self.routers.append(
                    RouterDef(
                        qualname=qualname,
                        prefix=fa.string_arg(value, "prefix", None) or "",
                        path=self.path,
                        location=self.locator.statement(),
                    )
                )
            else:
                prefix = fa.string_arg(value, "prefix", None) or ""
                for target in sorted(callee):
                    if not self.is_project(target):
                        continue
                    if self.frame.kind == "module":
                        self.instances[qualname] = target
                    self.candidate_routers.append(
                        RouterDef(qualname, prefix, self.path, self.locator.statement(), target)
                    )
        elif self.frame.kind == "module" and isinstance(value, cst.Subscript):
            if self.qnames(value.value) & fa.ANNOTATED:
                ref = self.types.annotation(value)
                if ref is not None:
                    self.aliases[qualname] = ref

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is None:
            return
        self._reference_values([node.value])
        frame = self.function_frame()
        if (
            frame is not None
            and not frame.annotated
            and not (isinstance(node.value, cst.Name) and node.value.value == "None")
        ):
            frame.returned.append(self.types.of(node.value))
        if frame is not None and isinstance(node.value, cst.Call):
            if self.qnames(node.value.func) & fa.STREAMING_RESPONSES:
                frame.returns_streaming = True

    def visit_Call(self, node: cst.Call) -> None:
        location = self.call_locations[id(node)] = self.locator.call(node)
        index = self.call_indexes[id(node)] = len(self.call_indexes)
        awaited = id(node) in self.awaited_calls
        callee = self.qnames(node.func)
        frame = self.function_frame()
        if (
            frame is not None
            and frame.class_qualname is not None
            and frame.qualname == f"{frame.class_qualname}.__init__"
            and m.matches(node.func, _SUPER_INIT)
        ):
            prefix = fa.string_arg(node, "prefix", None)
            if prefix is not None:
                self.class_prefix[frame.class_qualname] = prefix
        deferred = self.genexp_depth > 0
        if awaited and frame is not None and isinstance(node.func, cst.Attribute):
            self._awaited_shared(node.func.value, frame, index)
        if callee & fa.STREAMING_RESPONSES and frame is not None:
            frame.returns_streaming = True
        self._registrations_in_call(node, callee, location)
        self._mutating_call(node)
        matched = False
        # Every binding the name may have must be the catalog's: a module that imports
        # ``sleep`` and later defines its own ``sleep`` calls its own.
        # libcst names ``open(p).read`` "builtins.open": only a dotted name names a callable.
        named = callee if is_dotted(node.func) else set()
        session = named & self.catalog.default_session
        if session and frame is not None and not awaited and not frame.once:
            frame.effects.append(Effect(min(session), DEFAULT_SESSION, location, call=index))
        rules = [(name, self.catalog.call(name)) for name in sorted(named)]
        if rules and all(rule is not None and rule.category for _, rule in rules):
            name, rule = rules[0]
            assert rule is not None and rule.category is not None
            matched = True
            if frame is not None and not awaited and not frame.once:
                frame.effects.append(
                    Effect(
                        name,
                        rule.category,
                        location,
                        twin=rule.twin,
                        deferred=deferred,
                        call=index,
                    )
                )
        if not matched and isinstance(node.func, cst.Attribute):
            matched = self._method_effect(node, frame, location, awaited, deferred)
        if not matched:
            self._project_call(node, named, frame, location, awaited)
        self._reference_arguments(node)

    def _method_effect(
        self,
        node: cst.Call,
        frame: _Frame | None,
        location: Location,
        awaited: bool,
        deferred: bool,
    ) -> bool:
        assert isinstance(node.func, cst.Attribute)
        method = node.func.attr.value
        index = self.call_indexes[id(node)]
        receiver = self.types.of(node.func.value)
        if receiver is None:
            return False
        shared = self._shared_receiver(node.func.value, frame)
        if receiver.pending:
            if frame is not None and (awaited or not frame.once):
                frame.pending.append(
                    PendingEffect(
                        receiver,
                        method,
                        location,
                        deferred,
                        shared,
                        index,
                        awaited,
                        self._caught(frame),
                    )
                )
            return False
        rule = self.catalog.type(receiver.base)
        if rule is None or rule.category is None or not rule.method_blocks(method):
            return False
        if frame is not None and not awaited and not frame.once:
            frame.effects.append(
                Effect(
                    f"{rule.name}.{method}", rule.category, location, deferred=deferred, call=index
                )
            )
            if rule.thread_affine and shared is not None:
                frame.effects.append(
                    Effect(f"{rule.name} {shared}", THREAD_AFFINE, location, call=index)
                )
        return True

    def _awaited_shared(self, receiver: cst.BaseExpression, frame: _Frame, index: int) -> None:
        """``await database.fetch_one(...)`` on a module-level or imported object."""
        root = _root_name(receiver)
        if root is None or root.value == frame.self_name or self._is_module(root):
            return
        if root.value in frame.local_types or not self._is_shared_root(root, frame):
            return
        name = min(self.qnames(root), default=root.value)
        dotted = dotted_target(receiver)
        if dotted is not None and "." in dotted:
            name += dotted[len(root.value) :]
        ref = self.types.of(receiver)
        kind = ref.base if ref is not None and not ref.pending else ""
        frame.awaited_shared.append((index, name, kind))

    def _shared_receiver(self, value: cst.BaseExpression, frame: _Frame | None) -> str | None:
        """The receiver's spelling if it is a module-level or imported object."""
        root = _root_name(value)
        if frame is None or root is None or root.value == frame.self_name:
            return None
        return dotted_target(value) if self._is_shared_root(root, frame) else None

    def _project_call(
        self,
        node: cst.Call,
        callee: set[str],
        frame: _Frame | None,
        location: Location,
        awaited: bool,
    ) -> None:
        targets = {name for name in callee if self.is_project(name)}
        if not targets and frame is not None and frame.class_qualname and frame.self_name:
            if m.matches(node.func, m.Attribute(value=m.Name(frame.self_name))):
                assert isinstance(node.func, cst.Attribute)
                targets = {f"{frame.class_qualname}.{node.func.attr.value}"}
        for target in sorted(targets):
            caught = self._caught(frame)
            if frame is not None and (awaited or not frame.once):
                frame.calls.append(
                    CallSite(target, location, awaited, self.call_indexes[id(node)], caught)
                )
            self.references.append(
                Reference(target, "await" if awaited else "call", self.path, location, caught)
            )

    # -- references ----------------------------------------------------------------------
    def _reference_arguments(self, node: cst.Call) -> None:
        if id(node) in self.registered_args:
            return
        self._reference_values([arg.value for arg in node.args], self.call_location(node))

    def _reference_values(
        self, values: list[cst.BaseExpression], location: Location | None = None
    ) -> None:
        for value in values:
            elements: list[cst.BaseExpression] = [value]
            if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
                elements = [element.value for element in value.elements]
            for element in elements:
                if not isinstance(element, (cst.Name, cst.Attribute)):
                    continue
                for target in self.qnames(element):
                    if self.is_project(target):
                        self.references.append(
                            Reference(
                                target,
                                "value",
                                self.path,
                                location or self.locator.statement(),
                            )
                        )

    def _returns_head(self, node: cst.FunctionDef) -> str | None:
        if node.returns is None or not isinstance(node.returns.annotation, cst.Subscript):
            return None
        return min(self.qnames(node.returns.annotation.value), default=None)

    def _decorator_name(self, decorator: cst.Decorator) -> str:
        expr = decorator.decorator
        target = expr.func if isinstance(expr, cst.Call) else expr
        names = self.qnames(target)
        if names:
            return min(names)
        return cst.Module([]).code_for_node(target)

    # -- FastAPI registrations -----------------------------------------------------------
    def _register_decorators(self, node: cst.FunctionDef, qualname: str) -> None:
        for decorator in node.decorators:
            expr = decorator.decorator
            if not isinstance(expr, cst.Call) or not isinstance(expr.func, cst.Attribute):
                continue
            found = fa.decorator_registration(expr)
            if found is None:
                continue
            kind, methods, route = found
            owner = min(self.qnames(expr.func.value), default=None)
            self.candidates.append(
                Registration(
                    kind, qualname, self.locator.definition(node), self.path, owner, methods, route
                )
            )

    def _registrations_in_call(self, node: cst.Call, callee: set[str], location: Location) -> None:
        for kind, target_expr, owner_expr, methods, route in fa.call_registrations(node, callee):
            self.registered_args.add(id(node))
            for target in self._callable_targets(target_expr):
                owner = None
                if owner_expr is not None:
                    owner = next(iter(sorted(self.qnames(owner_expr))), None)
                registration = Registration(
                    kind, target, location, self.path, owner, methods, route
                )
                if owner_expr is None:
                    self.registrations.append(registration)
                else:
                    self.candidates.append(registration)
        middleware = fa.middleware_class(node, callee)
        if middleware is not None:
            found, on_owner = middleware
            owner = None
            if on_owner:
                assert isinstance(node.func, cst.Attribute)
                owner = min(self.qnames(node.func.value), default=None)
            for target in self._callable_targets(found):
                registration = Registration(
                    Kind.MIDDLEWARE, f"{target}.__call__", location, self.path, owner
                )
                (self.candidates if on_owner else self.registrations).append(registration)
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "include_router":
            if node.args:
                parents = self.qnames(node.func.value)
                children = self.qnames(node.args[0].value)
                prefix = fa.string_arg(node, "prefix", None) or ""
                for parent in parents:
                    for child in children:
                        self.inclusions.append(Inclusion(parent, child, prefix))
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "add_task":
            receiver = self.types.of(node.func.value)
            if receiver is not None and receiver.base in fa.BACKGROUND_TASKS and node.args:
                self.registered_args.add(id(node))
                for target in self._callable_targets(node.args[0].value):
                    self.registrations.append(
                        Registration(Kind.BACKGROUND_TASK, target, location, self.path)
                    )

    def _callable_targets(self, expr: cst.BaseExpression | None) -> list[str]:
        """What FastAPI will call when handed ``expr``: a function, ``Cls().__call__``,
        or the function inside ``functools.partial``."""
        if expr is None:
            return []
        if isinstance(expr, cst.Call):
            callee = self.qnames(expr.func)
            if callee & fa.PARTIAL and expr.args:
                return self._callable_targets(expr.args[0].value)
            return [f"{name}.__call__" for name in sorted(callee) if self.is_project(name)]
        if isinstance(expr, (cst.Name, cst.Attribute)):
            return sorted(name for name in self.qnames(expr) if self.is_project(name))
        return []

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        """A module-level ``from x import name`` makes ``<this module>.name`` another
        name for ``x.name``: code elsewhere may import it from here."""
        if self.frames[-1].kind != "module":
            return
        source = get_absolute_module_from_package_for_import(self.name.package or None, node)
        if source is None:
            return
        source = self.name.namespace.scoped(source)  # a relative one is scoped already
        if isinstance(node.names, cst.ImportStar):
            self.star_imports.append(source)
            return
        for alias in node.names:
            local = alias.evaluated_alias or alias.evaluated_name
            self.reexports[f"{self.name.module}.{local}"] = f"{source}.{alias.evaluated_name}"

    # -- result --------------------------------------------------------------------------
    def facts(self) -> ModuleFacts:
        return ModuleFacts(
            path=self.path,
            module=self.name.module,
            functions=tuple(self.functions),
            registrations=tuple(self.registrations),
            routers=tuple(self.routers),
            inclusions=tuple(self.inclusions),
            references=tuple(self.references),
            value_types=tuple(self.value_types.items()),
            aliases=tuple(self.aliases.items()),
            instances=tuple(self.instances.items()),
            suppressed_lines=tuple(sorted(self.suppressed.items())),
            candidate_registrations=tuple(self.candidates),
            reexports=tuple(self.reexports.items()),
            star_imports=tuple(self.star_imports),
            classes=tuple(self.classes),
            candidate_routers=tuple(self.candidate_routers),
        )

    def node_index(self, tree: cst.Module) -> NodeIndex:
        first_lines = self.locator.first_lines(tree) if isinstance(self.locator, AstLocator) else ()
        return NodeIndex(
            tree,
            self.function_names.found,
            self.call_indexes,
            self.with_lines,
            first_lines,
            self.units,
        )


_SUPER_INIT = m.Attribute(value=m.Call(func=m.Name("super")), attr=m.Name("__init__"))

#: Methods that change the container they are called on.
MUTATORS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "pop",
        "remove",
        "clear",
        "update",
        "setdefault",
        "add",
        "discard",
        "popitem",
        "sort",
        "reverse",
        "appendleft",
        "extendleft",
        "popleft",
        "rotate",
    }
)


def _root_name(node: cst.BaseExpression) -> cst.Name | None:
    """``a`` for ``a.b[c].d``."""
    while isinstance(node, (cst.Attribute, cst.Subscript)):
        node = node.value
    return node if isinstance(node, cst.Name) else None


def dotted_target(node: cst.BaseExpression) -> str | None:
    """A short spelling of an assignment target: ``app._token``, ``CACHE[...]``."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = dotted_target(node.value)
        return f"{head}.{node.attr.value}" if head else None
    if isinstance(node, cst.Subscript):
        head = dotted_target(node.value)
        return f"{head}[...]" if head else None
    return None


def analyse_and_index(
    module: cst.Module,
    path: str,
    name: ModuleName,
    catalog: Catalog,
    project_roots: frozenset[str],
    source: AstPositions | None = None,
    previous: NodeIndex | None = None,
    text: StatementText | None = None,
) -> tuple[ModuleFacts, NodeIndex]:
    """Facts for one parsed module, and what the analysis learnt about its nodes for the
    passes. The module is not copied: callers pass a fresh parse.

    With ``source`` (CPython's view of the same text) positions come from it; if the two
    parsers disagree anywhere, libcst's PositionProvider decides instead. ``previous``:
    the index of an earlier analysis of the module, before a rewrite that gave
    ``module``; what it says of statements the rewrite left alone is carried over (see
    ``reuse``), their source read with ``text``. The facts are the same as without.
    """
    if source is not None and previous is not None and text is not None:
        carried = carried_over(previous.units, previous.tree, module, text)
        if carried:
            try:
                return _analysed(module, path, name, catalog, project_roots, source, carried)
            except PositionMismatch:
                pass
    if source is not None:
        try:
            return _analysed(module, path, name, catalog, project_roots, source)
        except PositionMismatch:
            pass
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    analyser = ModuleAnalyser(path, name, catalog, project_roots, ProviderLocator(positions))
    wrapper.visit(analyser)
    return analyser.facts(), analyser.node_index(module)


def _analysed(
    module: cst.Module,
    path: str,
    name: ModuleName,
    catalog: Catalog,
    project_roots: frozenset[str],
    source: AstPositions,
    carried: Mapping[int, Unit] | None = None,
) -> tuple[ModuleFacts, NodeIndex]:
    """The analysis with CPython's positions; the statements in ``carried`` stand in a
    copy of the module as stubs, and their units are carried over."""
    locator = AstLocator(source)
    walked = module
    reuse: dict[int, tuple[cst.FunctionDef | cst.ClassDef, Unit]] = {}
    if carried:
        body: list[cst.BaseStatement] = []
        for statement in module.body:
            unit = carried.get(id(statement))
            if unit is not None and isinstance(statement, cst.FunctionDef | cst.ClassDef):
                standing = stub(statement)
                reuse[id(standing)] = (statement, unit)
                body.append(standing)
            else:
                body.append(statement)
        walked = module.with_changes(body=body)
    record = frozenset(
        id(statement)
        for statement in module.body
        if isinstance(statement, cst.FunctionDef | cst.ClassDef)
    )
    analyser = ModuleAnalyser(path, name, catalog, project_roots, locator, record, reuse)
    MetadataWrapper(walked, unsafe_skip_copy=True).visit(analyser)
    locator.finish()
    return analyser.facts(), analyser.node_index(module)


def _awaits_alone(statement: cst.BaseStatement) -> bool:
    """``x = await f()``, ``x: T = await f()`` or ``await f()`` as a whole statement."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    value = small.value if isinstance(small, (cst.Assign, cst.AnnAssign, cst.Expr)) else None
    return isinstance(value, cst.Await)


def _await_runs(body: Sequence[cst.BaseStatement]) -> int:
    """Places in one block where awaits follow each other, or a loop appends awaited
    results: where ``asyncio.gather`` could help (gather-awaits looks closer)."""
    runs = streak = 0
    for statement in body:
        if _awaits_alone(statement):
            streak += 1
            runs += streak == 2
        else:
            streak = 0
        if isinstance(statement, cst.For) and m.matches(
            statement.body,
            m.IndentedBlock([m.SimpleStatementLine([m.Expr(m.Call(args=[m.Arg(m.Await())]))])]),
        ):
            runs += 1
    return runs


def _inferred(types: Sequence[TypeRef | None]) -> TypeRef | None:
    """The type a function without a return annotation returns: the one type every
    ``return`` (``yield`` for a generator) gives, None when any is unknown or they
    differ."""
    if not types or any(t is None for t in types) or len(set(types)) > 1:
        return None
    return types[0]


#: Decorators that run the function's body once per distinct arguments.
CACHES = frozenset({"functools.cache", "functools.lru_cache"})


def _takes_nothing(node: cst.FunctionDef) -> bool:
    """No parameters at all: a cached call of it runs its body once per process."""
    params = node.params
    return not (
        params.params
        or params.posonly_params
        or params.kwonly_params
        or isinstance(params.star_arg, cst.Param)
        or params.star_kwarg
    )


def _once_guard(node: cst.If, declared: set[str]) -> bool:
    """``if G is None:`` / ``if not G:`` whose body sets the global ``G``: lazy
    initialisation, which runs on the first call only."""
    test = node.test
    name: cst.BaseExpression | None = None
    if m.matches(test, m.Comparison(comparisons=[m.ComparisonTarget(m.Is(), m.Name("None"))])):
        assert isinstance(test, cst.Comparison)
        name = test.left
    elif m.matches(test, m.UnaryOperation(m.Not())):
        assert isinstance(test, cst.UnaryOperation)
        name = test.expression
    if not isinstance(name, cst.Name) or name.value not in declared:
        return False
    assigned = m.AssignTarget(m.Name(name.value))
    return bool(m.findall(node.body, assigned | m.AnnAssign(target=m.Name(name.value))))
