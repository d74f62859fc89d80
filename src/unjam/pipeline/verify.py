"""A rewritten module counts only if Python compiles it and libcst parses it again."""

from __future__ import annotations

import ast

import libcst as cst


class VerificationError(Exception):
    """The rewritten code does not compile or does not re-parse; the message says why."""


def reparse(data: bytes) -> cst.Module:
    """The module libcst parses from the rewritten code, or ``VerificationError``."""
    try:
        return cst.parse_module(data)
    except cst.ParserSyntaxError as error:
        raise VerificationError(f"does not re-parse: {error.message}") from None


def compiles(data: bytes, shown: str, parse: bool = True) -> ast.Module | None:
    """CPython's parse of the code, once Python compiles it (nothing is executed);
    ``VerificationError`` if it does not. Parsed and compiled in two steps, so that the
    parse serves the analysis of the rewritten code too. ``parse=False``: compiled in
    one step and None returned, for the last rewrite (less than half the time: no
    Python objects are made for the tree)."""
    try:
        if not parse:
            compile(data, shown, "exec", dont_inherit=True)
            return None
        tree = ast.parse(data, shown)
        compile(tree, shown, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as error:
        line = getattr(error, "lineno", None)
        where = f" at line {line}" if line else ""
        raise VerificationError(
            f"does not compile{where}: {error.msg if isinstance(error, SyntaxError) else error}"
        ) from None
    return tree
