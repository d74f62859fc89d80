"""Which files can matter, decided from their text before anything is parsed.

Parsing with libcst and resolving scopes costs several times more than reading a file,
and most files of a large code base cannot hold a finding. The filter is sound with
respect to the analysis: the analysis only recognises a blocking call through a name that
is imported (so the module's root name appears in the text) or through a builtin called
by name, and only reaches project code through names that appear in the text too. A file
is skipped only if it mentions none of those words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from unjam.analysis.catalog import Catalog

ALWAYS = (b"fastapi", b"starlette")
_BUILTIN_CALLS = re.compile(rb"\b(?:open|input)\s*\(")


def _alternation(words: Iterable[str]) -> re.Pattern[bytes] | None:
    ordered = sorted({w for w in words if w}, key=len, reverse=True)
    if not ordered:
        return None
    body = b"|".join(re.escape(word.encode()) for word in ordered)
    return re.compile(rb"\b(?:" + body + rb")\b")


class Prefilter:
    """``first_round(text)``: may this file hold a fact the analysis needs?

    ``mentions(text, names)``: does it mention any of these project names? Used for the
    following rounds, once the first round has told which project helpers block.
    """

    def __init__(self, catalog: Catalog) -> None:
        roots: set[str] = set()
        leaves: set[str] = set()
        for name in catalog.calls:
            root, _, _ = name.partition(".")
            if root != "builtins":
                roots.add(root)
                leaves.add(name.rsplit(".", 1)[-1])
        for name, rule in catalog.types.items():
            roots.add(name.partition(".")[0])
            leaves.update(m for m in rule.blocking if m != "*")
            leaves.update(rule.returns)
            leaves.update(rule.attributes)
            if "*" in rule.blocking or rule.attribute or rule.called:
                leaves.add(name.rsplit(".", 1)[-1])
        # A type whose every method blocks can be reached through any attribute.
        wildcard_roots = {
            name.partition(".")[0]
            for name, rule in catalog.types.items()
            if "*" in rule.blocking or rule.attribute
        }
        self.roots = _alternation(roots - wildcard_roots)
        self.wildcard_roots = _alternation(wildcard_roots)
        self.leaves = _alternation(leaves)

    def first_round(self, text: bytes) -> bool:
        if any(word in text for word in ALWAYS):
            return True
        if _BUILTIN_CALLS.search(text):
            return True
        if self.wildcard_roots is not None and self.wildcard_roots.search(text):
            return True
        if self.roots is None or self.leaves is None:
            return False
        return bool(self.roots.search(text) and self.leaves.search(text))

    @staticmethod
    def mentions(text: bytes, names: Iterable[str]) -> bool:
        pattern = _alternation(names)
        return bool(pattern and pattern.search(text))


def matcher(names: Iterable[str]) -> re.Pattern[bytes] | None:
    return _alternation(names)
