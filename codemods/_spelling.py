"""How a module already names anyio, functools and asyncio, so rewrites follow its style.

A module that says ``from anyio import to_thread`` gets ``to_thread.run_sync(...)``; one
that says ``import functools`` gets ``functools.partial``; a module with none of them
gets ``import anyio`` / ``import functools`` added once, by libcst's ``AddImportsVisitor``.
Only module-level imports count: an import inside a function binds nothing elsewhere.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import libcst as cst
from libcst.helpers import get_full_name_for_node


@dataclass(frozen=True, slots=True)
class Spelled:
    """A dotted name to write, and the import it needs (None: already bound)."""

    dotted: str
    needs: tuple[str, str | None] | None = None  # (module, object) for AddImportsVisitor

    @property
    def root(self) -> str:
        return self.dotted.split(".", 1)[0]

    def expression(self) -> cst.BaseExpression:
        """The dotted name as libcst parses it, built directly: ``anyio.to_thread.run_sync``
        takes about a fifth of the time built (8 us against 44 us, timeit; parsing was
        1% of ``check`` on the bench tree, by py-spy)."""
        parts = self.dotted.split(".")
        if not all(part.isidentifier() for part in parts):
            return cst.parse_expression(self.dotted)
        node: cst.BaseExpression = cst.Name(parts[0])
        for part in parts[1:]:
            node = cst.Attribute(value=node, attr=cst.Name(part))
        return node


@dataclass
class Spelling:
    modules: dict[str, str] = field(default_factory=dict)  # module -> local name
    objects: dict[tuple[str, str], str] = field(default_factory=dict)  # (module, obj) -> name
    bound: Counter[str] = field(default_factory=Counter)  # local name -> imports binding it

    @classmethod
    def of(cls, module: cst.Module) -> Spelling:
        found = cls()
        for statement in module.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if isinstance(small, cst.Import):
                    found._add_import(small)
                elif isinstance(small, cst.ImportFrom):
                    found._add_import_from(small)
        return found

    def _add_import(self, node: cst.Import) -> None:
        for alias in node.names:
            dotted = get_full_name_for_node(alias.name)
            if dotted is None:
                continue
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.modules[dotted] = alias.asname.name.value
                self.bound[alias.asname.name.value] += 1
            else:
                # ``import anyio.to_thread`` binds ``anyio``, with the submodule loaded
                root = dotted.split(".", 1)[0]
                self.bound[root] += 1
                self.modules.setdefault(root, root)
                self.modules.setdefault(dotted, dotted)

    def _add_import_from(self, node: cst.ImportFrom) -> None:
        if node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
            return
        module = get_full_name_for_node(node.module)
        if module is None:
            return
        for alias in node.names:
            name = get_full_name_for_node(alias.name)
            if name is None:
                continue
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            self.objects[(module, name)] = local
            self.bound[local] += 1
            self.modules.setdefault(f"{module}.{name}", local)  # ``from anyio import to_thread``

    def qualified(self, dotted: str) -> str | None:
        """``rq.get`` -> ``requests.get`` through the module's imports; None when the
        root name is not imported at module level."""
        root, _, rest = dotted.partition(".")
        for module, local in self.modules.items():
            if local == root and "." not in local:
                return f"{module}.{rest}" if rest else module
        for (module, name), local in self.objects.items():
            if local == root:
                return f"{module}.{name}.{rest}" if rest else f"{module}.{name}"
        return None

    def bindings(self, local: str) -> int:
        """How many module-level imports bind ``local``."""
        return self.bound[local]

    def run_sync(self) -> Spelled:
        if ("anyio.to_thread", "run_sync") in self.objects:
            return Spelled(self.objects[("anyio.to_thread", "run_sync")])
        if "anyio.to_thread" in self.modules:
            return Spelled(f"{self.modules['anyio.to_thread']}.run_sync")
        if "anyio" in self.modules:
            return Spelled(f"{self.modules['anyio']}.to_thread.run_sync")
        return Spelled("anyio.to_thread.run_sync", ("anyio", None))

    def partial(self) -> Spelled:
        if ("functools", "partial") in self.objects:
            return Spelled(self.objects[("functools", "partial")])
        if "functools" in self.modules:
            return Spelled(f"{self.modules['functools']}.partial")
        return Spelled("functools.partial", ("functools", None))

    def twin(self, qualified: str) -> Spelled:
        """``anyio.sleep`` as this module would write it. The rule: a module that uses
        asyncio and not anyio keeps to asyncio (``asyncio.sleep``, same signature);
        every other module gets anyio, which FastAPI already depends on."""
        module, _, name = qualified.rpartition(".")
        if module == "anyio" and "anyio" not in self.modules and "asyncio" in self.modules:
            if name in ASYNCIO_SAME_SIGNATURE:
                return Spelled(f"{self.modules['asyncio']}.{name}")
        return self.callable(qualified)

    def callable(self, qualified: str) -> Spelled:
        """``asyncio.gather`` as this module already names it, or with ``import asyncio``."""
        module, _, name = qualified.rpartition(".")
        if (module, name) in self.objects:
            return Spelled(self.objects[(module, name)])
        if module in self.modules:
            return Spelled(f"{self.modules[module]}.{name}")
        return Spelled(qualified, (module, None))


#: anyio functions whose asyncio namesake takes the same arguments.
ASYNCIO_SAME_SIGNATURE = frozenset({"sleep"})
