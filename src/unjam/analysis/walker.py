"""A libcst visitor without the per-attribute hooks.

libcst calls ``on_visit_attribute``/``on_leave_attribute`` for every field of every node,
and each call looks up a ``visit_<Node>_<field>`` method by name. unjam's walkers define
none, and on a route module those lookups were a fifth of a walk.
"""

from __future__ import annotations

import libcst as cst


class Walker(cst.CSTVisitor):
    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        return None

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        return None
