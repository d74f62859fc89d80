"""libcst's scope analysis without eighteen ABC checks per node.

``ScopeVisitor.on_leave`` runs for every node of every analysed module and asks
``isinstance(node, _ASSIGNMENT_LIKE_NODES)``, a tuple of eighteen node classes. libcst's
node classes are ABCs, so each miss goes through ``ABCMeta.__instancecheck__`` (a Python
frame) once per class: 4.7 million calls to analyse 150 modules of a public code base
(0.2 million with this module), a quarter to a third of the scope analysis' time. The
answer depends only on the node's type, so it is asked once per type.

The replacement is installed only while ``fast_walks()`` is active, and only when
libcst's method is the one it replaces, word for word; any other libcst keeps its own.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable

import libcst as cst

try:  # private to libcst
    from libcst.metadata import scope_provider as _scope_provider
except ImportError:  # pragma: no cover - depends on the installed libcst
    _scope_provider = None  # type: ignore[assignment]

#: The method this module replaces, as libcst 1.x writes it.
_EXPECTED = """\
def on_leave(self, original_node: cst.CSTNode) -> None:
    self.provider.set_metadata(original_node, self.scope)
    if isinstance(original_node, _ASSIGNMENT_LIKE_NODES):
        self.scope._assignment_count += 1
    super().on_leave(original_node)
"""

_ASSIGNMENT_LIKE: dict[type, bool] = {}


def _on_leave(self: cst.CSTVisitor, original_node: cst.CSTNode) -> None:
    self.provider.set_metadata(original_node, self.scope)  # type: ignore[attr-defined]
    node_type = type(original_node)
    assignment_like = _ASSIGNMENT_LIKE.get(node_type)
    if assignment_like is None:
        assignment_like = isinstance(original_node, _scope_provider._ASSIGNMENT_LIKE_NODES)
        _ASSIGNMENT_LIKE[node_type] = assignment_like
    if assignment_like:
        self.scope._assignment_count += 1  # type: ignore[attr-defined]
    cst.CSTVisitor.on_leave(self, original_node)


def _original() -> Callable[..., None] | None:
    """libcst's ``ScopeVisitor.on_leave`` if it is the one ``_on_leave`` replaces."""
    if _scope_provider is None:
        return None
    visitor = getattr(_scope_provider, "ScopeVisitor", None)
    method = getattr(visitor, "on_leave", None)
    if visitor is None or method is None or visitor.__bases__ != (cst.CSTVisitor,):
        return None
    try:
        source = textwrap.dedent(inspect.getsource(method))
    except (OSError, TypeError):
        return None
    if source != _EXPECTED or not hasattr(_scope_provider, "_ASSIGNMENT_LIKE_NODES"):
        return None
    return method  # type: ignore[no-any-return]


_ORIGINAL = _original()


def install() -> None:
    if _ORIGINAL is not None:
        _scope_provider.ScopeVisitor.on_leave = _on_leave  # type: ignore[method-assign]


def uninstall() -> None:
    if _ORIGINAL is not None:
        _scope_provider.ScopeVisitor.on_leave = _ORIGINAL  # type: ignore[method-assign]


def installed() -> bool:
    return _scope_provider is not None and _scope_provider.ScopeVisitor.on_leave is _on_leave
