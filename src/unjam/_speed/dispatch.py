"""The plain libcst dispatch for unjam's passes, which use no matcher decorators.

libcst's codemod commands derive from its matcher-decoratable transformer, which looks
up matcher decorators and attribute visitors on every node and gathers the decorators
with ``inspect`` when each instance is made. unjam's passes use neither; these two
classes, mixed into ``Codemod``'s bases, give them ``CSTTransformer``'s own dispatch and
set-up. A cold ``check`` of the 2,000-module bench tree: 14.2 s CPU with them, 16.1 s
without (``bench/patches.py``, ``plain_dispatch``).
"""

from __future__ import annotations

import types
from typing import Any

import libcst as cst
from libcst.codemod import Codemod as LibcstCodemod
from libcst.codemod import CodemodContext, ContextAwareTransformer
from libcst.matchers import MatcherDecoratableTransformer

from unjam.analysis.walker import Walker


class PlainDispatch:
    """The plain ``CSTTransformer`` dispatch for libcst codemod classes that use no
    matcher decorators (``@m.visit``, ``@m.call_if_inside``) and no attribute visitors
    (``visit_Call_func``): libcst's MatcherDecoratableTransformer looked up both on every
    node, about a quarter of a pass. Mixed in before the libcst base."""

    on_visit = cst.CSTTransformer.on_visit
    # Any: the two libcst bases type on_leave differently (FlattenSentinel or not).
    on_leave: Any = cst.CSTTransformer.on_leave
    on_visit_attribute = Walker.on_visit_attribute
    on_leave_attribute = Walker.on_leave_attribute


# libcst's matcher-decoratable classes collect their matcher decorators with ``inspect``
# when constructed (about 8 ms per instance, per pass and file) for a dispatch the
# class below replaces with the plain one. Placed after a libcst class in the bases,
# it is what that class's ``super().__init__`` reaches.


class WithoutMatcherSetUp(ContextAwareTransformer):
    def __init__(self, context: CodemodContext) -> None:
        LibcstCodemod.__init__(self, context)
        cst.CSTTransformer.__init__(self)


def use_matcher_dispatch(codemod: MatcherDecoratableTransformer) -> None:
    """libcst's matcher-decoratable set-up and dispatch, as the pass would have them
    without ``PlainDispatch`` and ``WithoutMatcherSetUp`` (to measure what they save)."""
    MatcherDecoratableTransformer.__init__(codemod)
    for name in ("on_visit", "on_leave", "on_visit_attribute", "on_leave_attribute"):
        method = getattr(MatcherDecoratableTransformer, name)
        setattr(codemod, name, types.MethodType(method, codemod))
