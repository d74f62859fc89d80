"""Names as reports show them, and the namespaces a monorepo's packages keep their
modules in. (Qualified names from libcst's scope analysis: ``qualnames``.)"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Namespace:
    """Where a monorepo's packages define the same top-level module (``app`` in every
    service), each package's copy is renamed ``@<package>.app…`` and its own imports of
    ``app`` follow: facts about one service's ``app.main.helper`` must never be mixed
    with another's. ``prefix`` is ``@<package>``; ``roots`` the module names it renames."""

    prefix: str = ""
    roots: frozenset[str] = frozenset()

    def scoped(self, dotted: str) -> str:
        if self.roots and dotted.split(".", 1)[0] in self.roots:
            return f"{self.prefix}.{dotted}"
        return dotted


#: The namespace of a package whose module names are its own.
OWN_NAMES = Namespace()


def shown_qualname(qualname: str) -> str:
    """A qualified name as the user writes it: without the ``@<package>.`` that keeps
    same-named modules of different packages apart."""
    if qualname.startswith("@"):
        return qualname.split(".", 1)[1] if "." in qualname else qualname
    return qualname


def short_name(qualified: str) -> str:
    """The last two segments, as reports show a name: ``sqlalchemy.orm.Query.all`` ->
    ``Query.all``, ``time.sleep`` -> ``time.sleep``; a subscript stays whole
    (``app.state.cache[...]`` -> ``state.cache[...]``)."""
    head, bracket, rest = qualified.partition("[")
    return ".".join(head.rsplit(".", 2)[-2:]) + bracket + rest
