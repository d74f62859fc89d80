"""Project-wide facts: the modules' facts joined.

Workers see one module each; here routers imported from other modules are matched to
their routes, types flow across imports (``SessionLocal`` made in ``db.py`` and called in
``deps.py``), and a sync helper that blocks two calls deep makes its async caller block.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from unjam.analysis import fastapi as fa
from unjam.analysis.catalog import (
    CONTEXTVAR,
    DEFAULT_SESSION,
    LOOP,
    MUTATES,
    READS_SHARED,
    SHARED,
    THREAD_AFFINE,
    Catalog,
    is_blocking,
)
from unjam.analysis.model import (
    CallSite,
    ClassFacts,
    Effect,
    FunctionFacts,
    Kind,
    Location,
    ModuleFacts,
    Reference,
    Registration,
    RouterDef,
    TypeRef,
)
from unjam.analysis.types import SELF_TYPES, apply_op

V = TypeVar("V")

#: How deep a chain of sync helpers is followed.
MAX_CHAIN = 8
#: Decorators that neither call nor await the function they wrap.
HARMLESS_DECORATORS = frozenset(
    {"builtins.staticmethod", "builtins.classmethod", "typing.overload", "typing.final"}
)
#: A class with one of these among its bases registers routes as they do.
ROUTER_CLASSES = fa.APP_FACTORIES | fa.ROUTER_FACTORIES


@dataclass(frozen=True, slots=True)
class Route:
    """One way FastAPI invokes a function, with its full path."""

    kind: Kind
    function: str
    methods: tuple[str, ...]
    path: str | None
    registered_at: str  # "file:line"


@dataclass(frozen=True, slots=True)
class FunctionPlan:
    """What the codemods need to know about one function, from the whole project."""

    facts: FunctionFacts
    kinds: frozenset[Kind]
    blocking: tuple[Effect, ...]
    loop_bound: tuple[Effect, ...]  # through sync helpers too
    context_writes: tuple[Effect, ...]  # through sync helpers too
    used_by: tuple[Reference, ...]  # uses other than FastAPI's own registration
    unawaited_coroutines: tuple[CallSite, ...] = ()
    foreign_decorators: tuple[str, ...] = ()
    shared_writes: tuple[Effect, ...] = ()  # through sync helpers too
    thread_affine: tuple[Effect, ...] = ()  # through sync helpers too
    default_sessions: tuple[Effect, ...] = ()  # through sync helpers too
    #: Reads of module-level objects that code running on the loop changes (through
    #: sync helpers too): in a thread they race with those changes.
    shared_reads: tuple[Effect, ...] = ()
    #: Awaited call index -> the module-level objects (name, type) it awaits methods
    #: of, itself or in the project coroutines it awaits.
    awaited_shared: dict[int, frozenset[tuple[str, str]]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ModuleView:
    """The part of the project model one module's codemods need (picklable)."""

    path: str
    module: str
    functions: dict[str, FunctionPlan]
    suppressed_lines: dict[int, frozenset[str]]


@dataclass
class Project:
    catalog: Catalog
    modules: dict[str, ModuleFacts] = field(default_factory=dict)  # by path
    functions: dict[str, FunctionFacts] = field(default_factory=dict)
    value_types: dict[str, TypeRef] = field(default_factory=dict)
    aliases: dict[str, TypeRef] = field(default_factory=dict)
    instances: dict[str, str] = field(default_factory=dict)
    routers: dict[str, RouterDef] = field(default_factory=dict)
    parents: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    registrations: list[Registration] = field(default_factory=list)
    references: dict[str, list[Reference]] = field(default_factory=dict)
    reexports: dict[str, str] = field(default_factory=dict)
    star_imports: dict[str, tuple[str, ...]] = field(default_factory=dict)
    classes: dict[str, ClassFacts] = field(default_factory=dict)
    _resolved: dict[TypeRef, TypeRef | None] = field(default_factory=dict)
    _mro: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _attributes: dict[str, dict[str, TypeRef]] = field(default_factory=dict)
    _calls: dict[str, tuple[CallSite, ...]] = field(default_factory=dict)
    #: Uses of project functions found only through the class table (``await
    #: self.repo.get()``), by target; built on first use (``used_by``).
    _method_references: dict[str, list[Reference]] | None = None
    _class_methods: dict[str, list[str]] | None = None
    _class_blocking: dict[str, bool] = field(default_factory=dict)
    _blocking: dict[str, tuple[Effect, ...]] = field(default_factory=dict)
    _loop: dict[str, tuple[Effect, ...]] = field(default_factory=dict)
    _context: dict[str, tuple[Effect, ...]] = field(default_factory=dict)
    _shared: dict[str, tuple[Effect, ...]] = field(default_factory=dict)
    _affine: dict[str, tuple[Effect, ...]] = field(default_factory=dict)
    _sessions: dict[str, tuple[Effect, ...]] = field(default_factory=dict)
    _awaited_shared: dict[str, frozenset[tuple[str, str]]] = field(default_factory=dict)
    _reads: dict[str, tuple[Effect, ...]] = field(default_factory=dict)
    _mutations: dict[str, tuple[Effect, ...]] = field(default_factory=dict)
    _loop_mutated: frozenset[str] | None = None
    _kinds: dict[str, set[Kind]] | None = None
    #: ``canonical``'s answers so far.
    _canonical: dict[str, str] = field(default_factory=dict)
    #: Where each module's entries are in ``registrations`` (see ``_registered_in``).
    _registered_at: dict[str, list[int]] | None = None

    @classmethod
    def link(
        cls, catalog: Catalog, modules: Iterable[ModuleFacts], earlier: Project | None = None
    ) -> Project:
        """``earlier``: a project of nearly the same modules, whose ``canonical``
        answers hold here too when the names they depend on are the same."""
        project = cls(catalog)
        for facts in modules:
            project._add(facts)
        if (
            earlier is not None
            and earlier.reexports == project.reexports
            and earlier.star_imports == project.star_imports
            and earlier.functions.keys() == project.functions.keys()
            and earlier.classes.keys() == project.classes.keys()
            and earlier.value_types.keys() == project.value_types.keys()
        ):
            project._canonical = earlier._canonical
        project._follow_reexports()
        project._promote_routers()
        project._confirm_registrations()
        return project

    def relinked(self, facts: ModuleFacts) -> Project:
        """The project with one module's facts replaced (after a pass rewrote it).

        A rewrite mostly moves things: lines shift, calls come and go, but the module
        defines, registers and references the same names. Then the new facts take the
        old ones' places in the linked tables (``_swapped``), at the cost of the module's
        own facts; linking again would cost the whole project's, once per rewritten file.
        Otherwise linking is redone, reusing ``canonical``'s answers when the rewrite
        changed no import and no function name."""
        swapped = self._swapped(self.modules[facts.path], facts)
        if swapped is not None:
            return swapped
        modules = dict(self.modules)
        modules[facts.path] = facts
        return Project.link(self.catalog, modules.values(), earlier=self)

    def _swapped_references(
        self, old: ModuleFacts, new: ModuleFacts
    ) -> dict[str, list[Reference]] | None:
        """``references`` as ``link`` would build them with ``new`` in place of ``old``.
        Under a name others use too, the module's references must be to the same names
        in the same order (each takes its counterpart's place; how it is used may change:
        offload-blocking passes a helper it called to a thread); under a name only this
        module uses, they may differ (rewritten code awaits ``client.get``). None
        otherwise."""
        merged = bool(self.reexports or self.star_imports)
        before: dict[str, list[Reference]] = defaultdict(list)
        after: dict[str, list[Reference]] = defaultdict(list)
        for mine, facts in ((before, old), (after, new)):
            for reference in facts.references:
                mine[self.canonical(reference.target) if merged else reference.target].append(
                    reference
                )
        references = dict(self.references)
        for key in before.keys() | after.keys():
            found = references.get(key, [])
            was, now = before.get(key, []), after.get(key, [])
            if [r.target for r in was] == [r.target for r in now]:
                counterpart = dict(zip(map(id, was), now, strict=True))
                if sum(id(r) in counterpart for r in found) != len(was):
                    return None  # not where linking put them: link again
                references[key] = [counterpart.get(id(r), r) for r in found]
            elif len(found) == len(was) and all(r.path == old.path for r in found):
                if now:  # ``link`` groups a merged name's references by the name used
                    order = {
                        target: i for i, target in enumerate(dict.fromkeys(r.target for r in now))
                    }
                    references[key] = sorted(now, key=lambda r: order[r.target])
                else:
                    del references[key]
            else:
                return None
        return references

    def _swapped(self, old: ModuleFacts, new: ModuleFacts) -> Project | None:
        """``link`` of the modules with ``new`` in place of ``old``, built by replacing
        ``old``'s entries; None unless both have the same shape (``_link_shape``), but
        for what a rewrite adds inside functions: functions nested in the module's own
        (offload-blocking's ``_with_open``) and locals that are not routers (its
        candidate routers, as ``link`` would find them, stay the same)."""
        if _link_shape(old) != _link_shape(new) or not self._same_routers(old, new):
            return None
        present = {function.qualname for function in old.functions}
        added = [function for function in new.functions if function.qualname not in present]
        still = [function.qualname for function in new.functions if function.qualname in present]
        if still != [function.qualname for function in old.functions] or not all(
            _nested_in(function.qualname, present) for function in added
        ):
            return None
        references = self._swapped_references(old, new)
        if references is None:
            return None
        places = self._registered_in().get(old.path, [])
        mine = [self.registrations[place] for place in places]
        project = Project(
            self.catalog,
            modules={**self.modules, new.path: new},
            functions=_with_nested(
                _replaced(
                    self.functions,
                    [(f.qualname, f) for f in old.functions],
                    [f for f in new.functions if f.qualname in present],
                ),
                new.functions,
                present,
            ),
            value_types=self.value_types,  # the same in both (``_link_shape``)
            aliases=self.aliases,
            instances=self.instances,
            routers=_replaced(
                self.routers, [(r.qualname, r) for r in old.routers], list(new.routers)
            ),
            parents=self.parents,
            references=references,
            reexports=self.reexports,
            star_imports=self.star_imports,
            classes=self.classes,  # the same in both (``_link_shape``)
            _kinds=self._kinds,  # the same targets registered the same ways
            _canonical=self._canonical,
            # A rewrite moves calls into threads or awaits; it changes no module-level
            # object that it did not change before (rebuilt, this was 15% of ``check``).
            _loop_mutated=self._loop_mutated,
        )
        confirmed = project._confirmed(new)
        if len(confirmed) != len(mine):
            return None
        if self._method_references is not None:
            # Only the module's own calls can change: the classes, the names of
            # functions and the types are the same (``_link_shape``).
            kept: dict[str, list[Reference]] = defaultdict(list)
            for target, found in self._method_references.items():
                kept[target].extend(r for r in found if r.path != old.path)
            for target, found in project._references_through_classes(new.functions).items():
                kept[target].extend(found)
            project._method_references = {t: refs for t, refs in kept.items() if refs}
        project.registrations = list(self.registrations)
        for place, registration in zip(places, confirmed, strict=True):
            project.registrations[place] = registration
        project._registered_at = self._registered_at  # the same places, each path's own
        return project

    def _same_routers(self, old: ModuleFacts, new: ModuleFacts) -> bool:
        """Whether ``link`` makes the same routers of both modules' candidates: the same
        candidates, or none of either that a project router class makes."""
        if old.candidate_routers == new.candidate_routers:
            return True
        return not any(
            self._router_class_of(candidate) is not None
            for candidate in (*old.candidate_routers, *new.candidate_routers)
        )

    def _router_class_of(self, candidate: RouterDef) -> str | None:
        """The project router class a candidate router is made by, if it is one."""
        made_by = self.canonical(candidate.made_by or "")
        return made_by if self.is_router_class(made_by) else None

    def _registered_in(self) -> dict[str, list[int]]:
        """Each module's places in ``registrations``: a rewritten module's entries are
        replaced in place once per pass, and finding them by two scans of every entry
        was 1.1% of a one-job ``check`` on the bench tree."""
        if self._registered_at is None:
            found: dict[str, list[int]] = defaultdict(list)
            for place, registration in enumerate(self.registrations):
                found[registration.path].append(place)
            self._registered_at = dict(found)
        return self._registered_at

    def _add(self, facts: ModuleFacts) -> None:
        self.modules[facts.path] = facts
        for function in facts.functions:
            self.functions[function.qualname] = function
        self.value_types.update(facts.value_types)
        self.aliases.update(facts.aliases)
        self.instances.update(facts.instances)
        for router in facts.routers:
            self.routers[router.qualname] = router
        for inclusion in facts.inclusions:
            self.parents.setdefault(inclusion.child, []).append(
                (inclusion.parent, inclusion.prefix)
            )
        for reference in facts.references:
            self.references.setdefault(reference.target, []).append(reference)
        self.reexports.update(facts.reexports)
        if facts.star_imports:
            self.star_imports[facts.module] = facts.star_imports
        for found in facts.classes:
            self.classes[found.qualname] = found

    def canonical(self, name: str) -> str:
        """The project's own name for ``name`` when it reaches a function through a
        module that imports it (``pkg.get_settings`` for ``pkg.deps.get_settings``,
        imported in ``pkg/__init__.py``, or star-imported there), a class's method
        included; ``name`` itself otherwise."""
        if name in self.functions or name in self.classes:
            return name
        known = self._canonical.get(name)
        if known is None:
            known = self._canonical[name] = self._follow(name)
        return known

    def _follow(self, name: str) -> str:
        original = name
        pending: list[str] = [name]
        seen: set[str] = set()
        while pending and len(seen) < MAX_CHAIN:
            name = pending.pop(0)
            if name in self.functions or name in self.classes or name in self.value_types:
                return name
            if name in seen:
                continue
            seen.add(name)
            head = name
            while head and head not in self.reexports and head not in self.star_imports:
                head = head.rpartition(".")[0]
            if not head:
                continue
            rest = name[len(head) :]
            if head in self.reexports:
                pending.append(self.reexports[head] + rest)
            # ``from x import *`` in ``head``: the name may come from any of them.
            pending.extend(star + rest for star in self.star_imports.get(head, ()))
        return original

    def _follow_reexports(self) -> None:
        """A use of a function through a re-export is a use of the function: demote-sync
        must see ``await get_settings()`` whichever module it was imported from."""
        if not self.reexports and not self.star_imports:
            return
        merged: dict[str, list[Reference]] = {}
        for target, found in self.references.items():
            merged.setdefault(self.canonical(target), []).extend(found)
        self.references = merged

    def _promote_routers(self) -> None:
        """Instances of project classes that subclass ``APIRouter`` or ``FastAPI`` are
        routers: their prefix is the one they are made with, else their class's own."""
        for facts in self.modules.values():
            for candidate in facts.candidate_routers:
                made_by = self._router_class_of(candidate)
                if made_by is None:
                    continue
                prefix = candidate.prefix or next(
                    (
                        own.prefix
                        for name in self.mro(made_by)
                        if (own := self.classes.get(name)) is not None and own.prefix
                    ),
                    "",
                )
                self.routers[candidate.qualname] = replace(candidate, prefix=prefix, made_by=None)

    # -- classes -------------------------------------------------------------------------
    def mro(self, name: str) -> tuple[str, ...]:
        """The class and its bases in Python's method resolution order (C3); a library
        base ends its own line (its bases are not known)."""
        known = self._mro.get(name)
        if known is not None:
            return known
        self._mro[name] = (name,)  # a cycle of bases resolves to the class alone
        facts = self.classes.get(name)
        bases = [self.canonical(base) for base in facts.bases] if facts else []
        lines = [list(self.mro(base)) for base in bases] + [bases]
        order = [name]
        while any(lines):
            head = next(
                (
                    line[0]
                    for line in lines
                    if line and not any(line[0] in other[1:] for other in lines)
                ),
                None,
            )
            if head is None:  # no consistent order: Python refuses the class
                order.extend(b for line in lines for b in line if b not in order)
                break
            order.append(head)
            lines = [line[1:] if line and line[0] == head else line for line in lines]
        self._mro[name] = result = tuple(dict.fromkeys(order))
        return result

    def method_of(self, class_name: str, method: str) -> str | None:
        """The project function ``instance.method`` runs, through the MRO."""
        for name in self.mro(class_name):
            qualname = f"{name}.{method}"
            if qualname in self.functions:
                return qualname
        return None

    def attribute_of(self, class_name: str, attribute: str) -> TypeRef | None:
        for name in self.mro(class_name):
            attributes = self._attributes.get(name)
            if attributes is None:
                facts = self.classes.get(name)
                attributes = self._attributes[name] = dict(facts.attributes) if facts else {}
            if attribute in attributes:
                return attributes[attribute]
        return None

    def is_router_class(self, class_name: str) -> bool:
        return class_name in self.classes and any(
            name in ROUTER_CLASSES for name in self.mro(class_name)
        )

    def _library_base(self, class_name: str) -> TypeRef | None:
        """The first catalog type among a project class's bases (``class Client(httpx.Client)``)."""
        for name in self.mro(class_name):
            rule = self.catalog.type(name)
            if rule is not None:
                return TypeRef(rule.name)
        return None

    def _apply(self, ref: TypeRef, op: str) -> TypeRef | None:
        """``apply_op`` for project classes too: attributes from the class table, method
        calls by their return annotation (``Self`` is the receiver's class), calling an
        instance runs ``__call__`` (calling the class itself makes an instance)."""
        if ref.pending or ref.base not in self.classes:
            return apply_op(self.catalog, ref, op)
        class_name = ref.base
        found: TypeRef | None = None
        if op == "()":
            method = self.method_of(class_name, "__call__")
            if method is None:
                return ref
            found = self.functions[method].returns
        elif op.endswith("()"):
            method = self.method_of(class_name, op[1:-2])
            if method is not None:
                found = self.functions[method].returns
            elif (library := self._library_base(class_name)) is not None:
                return apply_op(self.catalog, library, op)
        elif op.startswith("."):
            found = self.attribute_of(class_name, op[1:])
            if found is None and (library := self._library_base(class_name)) is not None:
                return apply_op(self.catalog, library, op)
        if found is not None and found.base in SELF_TYPES and not found.ops:
            return ref
        return found

    def _confirm_registrations(self) -> None:
        for facts in self.modules.values():
            self.registrations.extend(self._confirmed(facts))

    def _confirmed(self, facts: ModuleFacts) -> list[Registration]:
        """The module's registrations of callables FastAPI will invoke, as it names them."""
        confirmed: list[Registration] = []
        candidates = (c for c in facts.candidate_registrations if c.owner in self.routers)
        for registration in (*facts.registrations, *candidates):
            target = self._callable(registration.target)
            if target is None:
                continue
            if target != registration.target:
                registration = Registration(
                    registration.kind,
                    target,
                    registration.location,
                    registration.path,
                    registration.owner,
                    registration.methods,
                    registration.route,
                )
            confirmed.append(registration)
        return confirmed

    def _callable(self, target: str) -> str | None:
        """The function FastAPI ends up calling for ``target``."""
        target = self.canonical(target)
        if target in self.functions:
            return target
        if target in self.instances:
            return self._through_class(f"{target}.__call__")
        return self._through_class(target)

    # -- types ---------------------------------------------------------------------------
    def resolve(self, ref: TypeRef, depth: int = 0) -> TypeRef | None:
        """A pending type made concrete from other modules' facts, or None if unknown."""
        if not ref.pending:
            return ref
        if ref in self._resolved:
            return self._resolved[ref]
        self._resolved[ref] = None  # a cycle resolves to unknown
        result = self._resolve_base(ref, depth)
        for op in ref.ops:
            if result is None:
                break
            result = self._apply(result, op)
            if result is not None and result.pending:
                result = self.resolve(result, depth + 1)
        self._resolved[ref] = result
        return result

    def _resolve_base(self, ref: TypeRef, depth: int) -> TypeRef | None:
        if depth > MAX_CHAIN:
            return None
        name = self.canonical(ref.base)
        if name in self.classes:  # an instance: a class is called, or annotates
            return TypeRef(name)
        if ref.called:
            function = self.functions.get(name)
            if function is not None and function.returns is not None:
                return self.resolve(function.returns, depth + 1)
            if name in self.value_types:
                value = self.resolve(self.value_types[name], depth + 1)
                return self._apply(value, "()") if value else None
            return None
        for table in (self.value_types, self.aliases):
            if name in table:
                return self.resolve(table[name], depth + 1)
        return None

    # -- effects -------------------------------------------------------------------------
    def effects(self, function: FunctionFacts) -> tuple[Effect, ...]:
        """The function's own effects, with receiver types from other modules resolved."""
        found = list(function.effects)
        for pending in function.pending:
            if pending.awaited:
                continue
            receiver = self.resolve(pending.receiver)
            if receiver is not None and receiver.base in self.classes:
                if self.method_of(receiver.base, pending.method) is not None:
                    continue  # a project method: followed as a call (``calls``)
                receiver = self._library_base(receiver.base)
            if receiver is None:
                continue
            rule = self.catalog.type(receiver.base)
            if rule is None or rule.category is None or not rule.method_blocks(pending.method):
                continue
            found.append(
                Effect(
                    f"{rule.name}.{pending.method}",
                    rule.category,
                    pending.location,
                    deferred=pending.deferred,
                    call=pending.call,
                )
            )
            if rule.thread_affine and pending.shared_receiver is not None:
                found.append(
                    Effect(
                        f"{rule.name} {pending.shared_receiver}",
                        THREAD_AFFINE,
                        pending.location,
                        call=pending.call,
                    )
                )
        return tuple(sorted(found, key=lambda e: (e.location.line, e.location.column)))

    def blocking(self, qualname: str) -> tuple[Effect, ...]:
        """Blocking calls made by running ``qualname``: its own, and those of the sync
        project helpers it calls (``via`` names the chain)."""
        return self._through_helpers(qualname, is_blocking, self._blocking, ())

    def loop_bound(self, qualname: str) -> tuple[Effect, ...]:
        """Calls that need the running event loop, its own or in sync helpers it calls."""
        return self._through_helpers(qualname, lambda c: c == LOOP, self._loop, ())

    def context_writes(self, qualname: str) -> tuple[Effect, ...]:
        """``ContextVar`` writes, its own or in sync helpers it calls."""
        return self._through_helpers(qualname, lambda c: c == CONTEXTVAR, self._context, ())

    def shared_writes(self, qualname: str) -> tuple[Effect, ...]:
        """Writes to module globals, imported objects or ``self``, its own or in sync
        helpers it calls: on the loop no request runs in between, in threads one can."""
        return self._through_helpers(qualname, lambda c: c == SHARED, self._shared, ())

    def thread_affine(self, qualname: str) -> tuple[Effect, ...]:
        """Module-level objects used that only work in the thread that made them."""
        return self._through_helpers(qualname, lambda c: c == THREAD_AFFINE, self._affine, ())

    def awaited_shared(self, function: FunctionFacts) -> dict[int, frozenset[tuple[str, str]]]:
        """Per awaited call of ``function``: the shared objects it awaits methods of,
        directly or in the project coroutines it awaits."""
        found: dict[int, set[tuple[str, str]]] = defaultdict(set)
        for index, name, kind in function.awaited_shared:
            found[index].add((name, kind))
        for call in self.calls(function):
            target = self.functions.get(call.target)
            if call.awaited and call.call >= 0 and target is not None and target.is_async:
                reached = self._shared_through(call.target, ())
                if reached:
                    found[call.call] |= reached
        return {index: frozenset(objects) for index, objects in found.items()}

    def _shared_through(self, qualname: str, stack: tuple[str, ...]) -> frozenset[tuple[str, str]]:
        known = self._awaited_shared.get(qualname)
        if known is not None:
            return known
        function = self.functions.get(qualname)
        if function is None or qualname in stack or len(stack) > MAX_CHAIN:
            return frozenset()
        found = {(name, kind) for _, name, kind in function.awaited_shared}
        for call in self.calls(function):
            target = self.functions.get(call.target)
            if call.awaited and target is not None and target.is_async:
                found |= self._shared_through(call.target, (*stack, qualname))
        result = self._awaited_shared[qualname] = frozenset(found)
        return result

    def shared_reads(self, qualname: str) -> tuple[Effect, ...]:
        """Reads of module-level objects that coroutines change (on the loop, or in
        the sync helpers they call), its own or in sync helpers it calls."""
        changed = self.loop_mutated()
        if not changed:
            return ()
        reads = self._through_helpers(qualname, lambda c: c == READS_SHARED, self._reads, ())
        return tuple(effect for effect in reads if effect.name in changed)

    def loop_mutated(self) -> frozenset[str]:
        """Module-level objects that code running on the event loop changes."""
        if self._loop_mutated is None:
            self._loop_mutated = frozenset(
                effect.name
                for function in self.functions.values()
                if function.is_async
                for effect in self._through_helpers(
                    function.qualname, lambda c: c == MUTATES, self._mutations, ()
                )
            )
        return self._loop_mutated

    def default_sessions(self, qualname: str) -> tuple[Effect, ...]:
        """Clients made from a library's shared default session (``boto3.client``)."""
        return self._through_helpers(qualname, lambda c: c == DEFAULT_SESSION, self._sessions, ())

    def _through_helpers(
        self,
        qualname: str,
        wanted: Callable[[str | None], bool],
        memo: dict[str, tuple[Effect, ...]],
        stack: tuple[str, ...],
    ) -> tuple[Effect, ...]:
        if qualname in memo:
            return memo[qualname]
        function = self.functions.get(qualname)
        if function is None or qualname in stack or len(stack) > MAX_CHAIN:
            return ()
        found = [effect for effect in self.effects(function) if wanted(effect.category)]
        for call in self.calls(function):
            target = call.target
            helper = self.functions.get(target)
            # Calling a generator function (a ``@contextmanager`` too) runs none of its body.
            if helper is None or helper.is_async or helper.is_generator or call.awaited:
                continue
            if helper.once_only:  # a cached settings getter: its work is done once
                continue
            inner = self._through_helpers(target, wanted, memo, (*stack, qualname))
            if inner:
                first = inner[0]
                found.append(
                    Effect(
                        first.name,
                        first.category,
                        call.location,
                        twin=None,
                        via=(target, *first.via),
                        call=call.call,
                    )
                )
        result = tuple(found)
        memo[qualname] = result
        return result

    def unawaited_coroutines(self, function: FunctionFacts) -> tuple[CallSite, ...]:
        """Calls to project coroutine functions that are not awaited on the spot: the
        coroutine object is used some other way (scheduled, returned, gathered). Async
        generators are not coroutines: making one binds it to no loop."""
        return tuple(
            call
            for call in self.calls(function)
            if not call.awaited
            and (target := self.functions.get(call.target)) is not None
            and target.is_async
            and not target.is_generator
        )

    def calls(self, function: FunctionFacts) -> tuple[CallSite, ...]:
        """The project functions ``function`` calls, each target its canonical name:
        calls by name, a class's constructor (its ``__init__``), methods reached
        through the class (``Repo.load()``), a module-level instance (``storage.save()``)
        or a receiver of known type (``self.helper.hash()``, ``repo.count()`` with
        ``repo: Repo``), through the MRO."""
        known = self._calls.get(function.qualname)
        if known is not None and self.functions.get(function.qualname) is function:
            return known
        found: dict[int | tuple[int, int], CallSite] = {}
        for position, call in enumerate(function.calls):
            target = self.canonical(call.target)
            if target not in self.functions:
                target = self._through_class(target) or target
            key = call.call if call.call >= 0 else (-1, position)
            found[key] = replace(call, target=target) if target != call.target else call
        for pending in function.pending:
            existing = found.get(pending.call)
            if existing is not None and existing.target in self.functions:
                continue
            receiver = self.resolve(pending.receiver)
            if receiver is None or receiver.base not in self.classes:
                continue
            method = self.method_of(receiver.base, pending.method)
            if method is not None:
                found[pending.call] = CallSite(
                    method, pending.location, pending.awaited, pending.call, pending.caught
                )
        result = tuple(found.values())
        self._calls[function.qualname] = result
        return result

    def _through_class(self, target: str) -> str | None:
        """The function a call of ``target`` runs when it names a class (its
        ``__init__``), a method through a class or a module-level instance."""
        if target in self.classes:
            return self.method_of(target, "__init__")
        owner, _, method = target.rpartition(".")
        owner = self.canonical(owner) if owner else owner
        if owner in self.classes:
            return self.method_of(owner, method)
        made_by = self.instances.get(owner)
        if made_by is not None and (made_by := self.canonical(made_by)) in self.classes:
            return self.method_of(made_by, method)
        return None

    def used_by(self, qualname: str) -> tuple[Reference, ...]:
        """Uses of a project function other than FastAPI registering it, method calls
        through receivers of known type included."""
        if self._method_references is None:
            self._method_references = self._references_through_classes(self.functions.values())
        found = self._method_references.get(qualname, ())
        return (
            *self.references.get(qualname, ()),
            *sorted(found, key=lambda r: (r.path, r.location)),
        )

    def _references_through_classes(
        self, functions: Iterable[FunctionFacts]
    ) -> dict[str, list[Reference]]:
        """The calls of ``functions`` whose target only the class table tells."""
        found: dict[str, list[Reference]] = defaultdict(list)
        for function in functions:
            if not function.pending and not function.calls:
                continue
            by_name = {call.call: self.canonical(call.target) for call in function.calls}
            for call in self.calls(function):
                if call.call >= 0 and by_name.get(call.call) != call.target:
                    how = "await" if call.awaited else "call"
                    found[call.target].append(
                        Reference(call.target, how, function.path, call.location, call.caught)
                    )
        return dict(found)

    def foreign_decorators(self, function: FunctionFacts) -> tuple[str, ...]:
        """Decorators other than FastAPI registrations (``@router.get``...)."""
        return tuple(
            name
            for name in function.decorators
            if name.rpartition(".")[0] not in self.routers and name not in HARMLESS_DECORATORS
        )

    # -- views ---------------------------------------------------------------------------
    def kinds(self) -> dict[str, set[Kind]]:
        if self._kinds is None:
            kinds: dict[str, set[Kind]] = defaultdict(set)
            for registration in self.registrations:
                kinds[registration.target].add(registration.kind)
            self._kinds = dict(kinds)
        return self._kinds

    def plan(self, function: FunctionFacts, kinds: frozenset[Kind]) -> FunctionPlan:
        return FunctionPlan(
            facts=function,
            kinds=kinds,
            blocking=self.blocking(function.qualname),
            loop_bound=self.loop_bound(function.qualname),
            context_writes=self.context_writes(function.qualname),
            used_by=self.used_by(function.qualname),
            unawaited_coroutines=self.unawaited_coroutines(function),
            foreign_decorators=self.foreign_decorators(function),
            shared_writes=self.shared_writes(function.qualname),
            thread_affine=self.thread_affine(function.qualname),
            default_sessions=self.default_sessions(function.qualname),
            shared_reads=self.shared_reads(function.qualname),
            awaited_shared=self.awaited_shared(function) if function.is_async else {},
        )

    def view(self, path: str) -> ModuleView:
        facts = self.modules[path]
        kinds = self.kinds()
        return ModuleView(
            path=path,
            module=facts.module,
            functions={
                function.qualname: self.plan(function, frozenset(kinds.get(function.qualname, ())))
                for function in facts.functions
            },
            suppressed_lines=dict(facts.suppressed_lines),
        )

    def routes(self) -> list[Route]:
        routes = [
            Route(
                kind=registration.kind,
                function=registration.target,
                methods=registration.methods,
                path=self.full_path(registration),
                registered_at=f"{registration.path}:{registration.location.line}",
            )
            for registration in self.registrations
        ]
        unique = {(r.kind, r.function, r.methods, r.path): r for r in routes}
        return sorted(unique.values(), key=lambda r: (r.path or "~", r.methods, r.function))

    def full_path(self, registration: Registration) -> str | None:
        if registration.route is None:
            return None
        prefix = ""
        owner = registration.owner
        seen: set[str] = set()
        while owner is not None and owner not in seen:
            seen.add(owner)
            router = self.routers.get(owner)
            prefix = (router.prefix if router else "") + prefix
            parents = self.parents.get(owner)
            if not parents:
                break
            parent, include_prefix = parents[0]
            prefix = include_prefix + prefix
            owner = parent
        return prefix + registration.route

    def missing_owner_modules(self) -> set[str]:
        """Modules that may define the app or router a blocking async function is
        registered on (``@reports.get`` with ``reports`` imported): without their facts
        the registration cannot be confirmed."""
        wanted: set[str] = set()
        router_classes = self._router_candidates()
        for facts in self.modules.values():
            for candidate in facts.candidate_registrations:
                owner = candidate.owner
                if owner is None or owner in self.routers:
                    continue
                function = self.functions.get(self.canonical(candidate.target))
                if (
                    function is None
                    or not function.is_async
                    or not self.blocking(function.qualname)
                ):
                    continue
                # An instance of a project class is a router only if a base says so:
                # the modules of the classes along its MRO not analysed yet.
                made_by = router_classes.get(owner)
                names = [owner]
                if made_by is not None:
                    names += [c for c in self.mro(self.canonical(made_by)) if c not in self.classes]
                for name in names:
                    parts = name.split(".")
                    wanted.update(".".join(parts[:end]) for end in range(1, len(parts)))
        return wanted

    def _router_candidates(self) -> dict[str, str]:
        """Instances of project classes that may be routers -> the class each is of."""
        return {
            candidate.qualname: candidate.made_by
            for facts in self.modules.values()
            for candidate in facts.candidate_routers
            if candidate.made_by is not None
        }

    def interesting_names(self) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
        """(module, name) pairs whose mention makes a file worth analysing.

        First: async functions that block, wherever they are mentioned (a reference to
        one, even from sync code, decides whether it may be demoted). Second: sync
        helpers that block and values whose type the catalog knows, which matter only
        where async code may use them.
        """
        everywhere: set[tuple[str, str]] = set()
        in_async: set[tuple[str, str]] = set()
        for qualname, function in self.functions.items():
            pair = (self.modules[function.path].module, function.name)
            if self.blocking(qualname):
                (everywhere if function.is_async else in_async).add(pair)
            elif function.returns is not None and self._leads_to_blocking(function.returns):
                in_async.add(pair)
        for table in (self.value_types, self.aliases):
            for qualname, ref in table.items():
                if self._leads_to_blocking(ref):
                    module, _, name = qualname.rpartition(".")
                    in_async.add((module, name))
        # A router holding a blocking route, and the routers it is included in so far:
        # the module including the outermost one gives the rest of the prefix.
        for registration in self.registrations:
            owner = registration.owner
            if registration.route is None or not self.blocking(registration.target):
                continue
            seen: set[str] = set()
            while owner is not None and owner not in seen:
                seen.add(owner)
                module, _, name = owner.rpartition(".")
                everywhere.add((module, name))
                owner = next(iter(self.parents.get(owner, ())), (None, ""))[0]
        # A class whose methods block matters wherever it is named: an attribute, a
        # parameter or a dependency of that type may be used by a coroutine elsewhere.
        for qualname in self.classes:
            if self._class_blocks(qualname):
                module, _, name = qualname.rpartition(".")
                everywhere.add((module, name))
        return everywhere, in_async

    def _leads_to_blocking(self, ref: TypeRef) -> bool:
        """Is this a type whose methods (or what they return) can block: a catalog
        type, or a project class with a method or attribute that does?"""
        resolved = self.resolve(ref)
        if resolved is not None and resolved.base in self.classes:
            return self._class_blocks(resolved.base)
        rule = self.catalog.type(resolved.base) if resolved is not None else None
        if rule is None:
            return False
        return is_blocking(rule.category) or bool(rule.returns or rule.attribute or rule.called)

    def _class_blocks(self, class_name: str) -> bool:
        """A method of the class (inherited ones included) blocks, or one of its
        attributes is of a type that can."""
        known = self._class_blocking.get(class_name)
        if known is not None:
            return known
        self._class_blocking[class_name] = False  # a cycle of attributes adds nothing
        found = False
        for name in self.mro(class_name):
            if self.catalog.type(name) is not None:
                found = True
            elif (facts := self.classes.get(name)) is not None:
                found = any(self.blocking(method) for method in self._methods().get(name, ()))
                found = found or any(
                    (resolved := self.resolve(ref)) is not None
                    and self._leads_to_blocking(resolved)
                    for _, ref in facts.attributes
                )
            if found:
                break
        self._class_blocking[class_name] = found
        return found

    def _methods(self) -> dict[str, list[str]]:
        """Each class's own methods (qualified names)."""
        if self._class_methods is None:
            found: dict[str, list[str]] = defaultdict(list)
            for qualname in self.functions:
                owner = qualname.rpartition(".")[0]
                if owner in self.classes:
                    found[owner].append(qualname)
            self._class_methods = dict(found)
        return self._class_methods


#: Where every registration is when only what it registers is compared.
_NOWHERE = Location(0, 0)


def _link_shape(facts: ModuleFacts) -> tuple[object, ...]:
    """A module's facts without their places (lines, columns): what it defines,
    registers, imports and types, in order (references: ``_swapped_references``; its
    functions and candidate routers: ``_swapped``)."""
    return (
        [
            function.qualname
            for function in facts.functions
            if ".<locals>." not in function.qualname
        ],
        [replace(r, location=_NOWHERE) for r in facts.registrations],
        [replace(r, location=_NOWHERE) for r in facts.candidate_registrations],
        [router.qualname for router in facts.routers],
        facts.inclusions,
        facts.value_types,
        facts.aliases,
        facts.instances,
        facts.reexports,
        facts.star_imports,
        facts.classes,
    )


def _with_nested(
    table: dict[str, FunctionFacts], functions: tuple[FunctionFacts, ...], kept: set[str]
) -> dict[str, FunctionFacts]:
    """``table`` with the module's added functions (those not in ``kept``) where ``link``
    puts them: just before the module's next function that was there before (a nested
    function is listed before the one it is in), or after its last one (the order of
    the table is the order ``used_by`` lists uses in)."""
    before: dict[str, list[FunctionFacts]] = defaultdict(list)
    waiting: list[FunctionFacts] = []
    last = ""
    for function in functions:
        if function.qualname in kept:
            before[function.qualname].extend(waiting)
            waiting = []
            last = function.qualname
        else:
            waiting.append(function)
    after = {last: waiting} if waiting else {}
    if not waiting and not any(before.values()):
        return table
    rebuilt: dict[str, FunctionFacts] = {}
    for qualname, function in table.items():
        for added in before.get(qualname, ()):
            rebuilt.setdefault(added.qualname, added)
        rebuilt[qualname] = function
        for added in after.get(qualname, ()):
            rebuilt.setdefault(added.qualname, added)
    return rebuilt


def _nested_in(qualname: str, functions: set[str]) -> bool:
    """Whether ``qualname`` names a function nested in one of ``functions``."""
    head, separator, _ = qualname.rpartition(".<locals>.")
    return bool(separator) and head in functions


def _replaced(table: dict[str, V], before: list[tuple[str, V]], after: list[V]) -> dict[str, V]:
    """``table`` with each of ``after`` where the one of ``before`` in its place is: an
    entry a later module defines too stays that module's, as ``link`` leaves it."""
    replaced = dict(table)
    for (key, old), new in zip(before, after, strict=True):
        if replaced.get(key) is old:
            replaced[key] = new
    return replaced
