"""libcst's scope analysis without eighteen ABC checks per node.

``ScopeVisitor.on_leave`` runs for every node of every analysed module and asks
``isinstance(node, _ASSIGNMENT_LIKE_NODES)``, a tuple of eighteen node classes. libcst's
node classes are ABCs, so each miss goes through ``ABCMeta.__instancecheck__`` (a Python
frame) once per class: 4.7 million calls to analyse 150 modules of a public code base
(0.2 million with this module), a quarter to a third of the scope analysis' time. The
answer depends only on the node's type, so it is asked once per type.

``ScopeVisitor.visit_Call`` asks for the qualified names of every call, only to see
whether it is ``typing.NewType``, ``typing.TypeVar`` or ``typing.cast`` (whose
arguments are type hints). A qualified name keeps the last part of a dotted callee
(``t.cast`` through ``import typing as t``, ``obj.cast`` as ``pkg.obj.cast``): only a
bare name can be an alias (``from typing import cast as c``). A dotted callee ending
in another word is answered at once; the rest ask libcst (1.4% of ``check``).

The replacements are installed only while ``fast_walks()`` is active, and only when
libcst's methods are the ones they replace, word for word; any other libcst keeps its
own.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable
from typing import Any

import libcst as cst
from libcst.helpers import get_full_name_for_node

try:  # private to libcst
    from libcst.metadata import scope_provider as _scope_provider
except ImportError:  # pragma: no cover - depends on the installed libcst
    _scope_provider = None  # type: ignore[assignment]

#: The methods this module replaces, as libcst 1.x writes them.
_ON_LEAVE = """\
def on_leave(self, original_node: cst.CSTNode) -> None:
    self.provider.set_metadata(original_node, self.scope)
    if isinstance(original_node, _ASSIGNMENT_LIKE_NODES):
        self.scope._assignment_count += 1
    super().on_leave(original_node)
"""

_VISIT_CALL = """\
def visit_Call(self, node: cst.Call) -> Optional[bool]:
    self.__top_level_attribute_stack.append(None)
    self.__in_type_hint_stack.append(False)
    qnames = {qn.name for qn in self.scope.get_qualified_names_for(node)}
    if "typing.NewType" in qnames or "typing.TypeVar" in qnames:
        node.func.visit(self)
        self.__in_type_hint_stack[-1] = True
        for arg in node.args[1:]:
            arg.visit(self)
        return False
    if "typing.cast" in qnames:
        node.func.visit(self)
        if len(node.args) > 0:
            self.__in_type_hint_stack.append(True)
            node.args[0].visit(self)
            self.__in_type_hint_stack.pop()
            for arg in node.args[1:]:
                arg.visit(self)
        return False
    return True
"""

#: The last parts of the qualified names ``visit_Call`` looks for.
_TYPING_LEAVES = frozenset({"NewType", "TypeVar", "cast"})

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


def _visit_call(self: cst.CSTVisitor, node: cst.Call) -> bool | None:
    callee = get_full_name_for_node(node)
    if callee is not None and "." in callee and callee.rpartition(".")[2] not in _TYPING_LEAVES:
        # What libcst does for a call that is none of the three.
        self._ScopeVisitor__top_level_attribute_stack.append(None)  # type: ignore[attr-defined]
        self._ScopeVisitor__in_type_hint_stack.append(False)  # type: ignore[attr-defined]
        return True
    result: bool | None = _ORIGINALS["visit_Call"](self, node)
    return result


#: libcst's ``ScopeVisitor`` method -> its text as the replacement expects it.
_EXPECTED = {"on_leave": _ON_LEAVE, "visit_Call": _VISIT_CALL}
_REPLACEMENTS: dict[str, Callable[..., Any]] = {"on_leave": _on_leave, "visit_Call": _visit_call}


def _original(name: str) -> Any:
    """libcst's ``ScopeVisitor.<name>`` if it reads what its replacement expects, word
    for word, in the scope module this one knows (``_ASSIGNMENT_LIKE_NODES`` and all);
    None otherwise."""
    if _scope_provider is None or not hasattr(_scope_provider, "_ASSIGNMENT_LIKE_NODES"):
        return None
    visitor = getattr(_scope_provider, "ScopeVisitor", None)
    method = getattr(visitor, name, None)
    if visitor is None or method is None or visitor.__bases__ != (cst.CSTVisitor,):
        return None
    try:
        source = textwrap.dedent(inspect.getsource(method))
    except (OSError, TypeError):
        return None
    return method if source == _EXPECTED[name] else None


#: The methods replaced while ``fast_walks()`` is active: those this libcst has as known.
_ORIGINALS: dict[str, Callable[..., Any]] = {
    name: found for name in _REPLACEMENTS if (found := _original(name)) is not None
}


def install() -> None:
    for name in _ORIGINALS:
        setattr(_scope_provider.ScopeVisitor, name, _REPLACEMENTS[name])


def uninstall() -> None:
    for name, original in _ORIGINALS.items():
        setattr(_scope_provider.ScopeVisitor, name, original)


def installed() -> bool:
    return bool(_ORIGINALS) and all(
        getattr(_scope_provider.ScopeVisitor, name) is _REPLACEMENTS[name] for name in _ORIGINALS
    )
