"""libcst's parse of code CPython has just parsed, without libcst checking each node.

libcst builds every node of a parse through the node's dataclass constructor, whose
``__post_init__`` calls ``_validate``: checks that a node built by hand is one libcst
can write out (parentheses that pair up, the spaces a keyword needs, ...). libcst's own
comment on ``__post_init__`` says it may move them out of the parse; here they are about
a tenth of a parse (200 bench modules, parsed in turn: 6.97 s with them, 6.23 s
without; 8% of the instructions). Nodes read from code CPython accepts already meet
them: the parser builds them from that text, and they write it back out unchanged.

Only the parse of a file CPython accepted skips them. Code that only a newer Python
reads, and everything unjam writes (templates, rewritten modules), keeps libcst's
checks. The skip is installed only for the length of the parse, and only when libcst's
``__post_init__`` is the one described above and no node class has its own; any other
libcst keeps its checks.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator

import libcst as cst
from libcst._nodes.base import CSTNode

_ORIGINAL_POST_INIT = CSTNode.__post_init__
_LOCK = threading.Lock()


def parse_trusted(data: bytes) -> cst.Module:
    """``cst.parse_module(data)`` for ``data`` that CPython parsed (see the module's
    docstring); the same exceptions."""
    if not _skippable():
        return cst.parse_module(data)
    global _parsing
    with _LOCK:
        _parsing = threading.get_ident()
        CSTNode.__post_init__ = _checked_elsewhere  # type: ignore[method-assign]
        try:
            return cst.parse_module(data)
        finally:
            CSTNode.__post_init__ = _ORIGINAL_POST_INIT  # type: ignore[method-assign]
            _parsing = None


#: The thread parsing trusted code; nodes other threads build meanwhile are checked.
_parsing: int | None = None


def _checked_elsewhere(self: CSTNode) -> None:
    if threading.get_ident() != _parsing:
        self._validate()


@functools.cache
def _skippable() -> bool:
    """libcst's ``__post_init__`` only validates, and every node class inherits it."""
    code = _ORIGINAL_POST_INIT.__code__
    if _ORIGINAL_POST_INIT.__qualname__ != "CSTNode.__post_init__" or code.co_names != (
        "_validate",
    ):
        return False
    return not any(
        "__post_init__" in kind.__dict__ for kind in _node_classes() if kind is not CSTNode
    )


def _node_classes() -> Iterator[type]:
    pending: list[type] = [CSTNode]
    while pending:
        kind = pending.pop()
        yield kind
        pending.extend(kind.__subclasses__())
