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
from collections import defaultdict
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

    Every detection starts from a name imported from a catalog module (``time.sleep``,
    ``Session`` from ``sqlalchemy.orm``, ``redis.Redis``); later steps (``db.query().all()``)
    follow from it. So a file qualifies when it mentions a catalog root module together
    with the last segment of one of that root's catalog names, or calls ``open``/``input``.
    Later rounds look for the names of project helpers found to block (``mentions``).
    """

    def __init__(self, catalog: Catalog) -> None:
        leaves: dict[str, set[str]] = defaultdict(set)
        for name in (*catalog.calls, *catalog.types):
            root, _, rest = name.partition(".")
            if root != "builtins" and rest:
                leaves[root].add(rest.rsplit(".", 1)[-1])
        self.roots = _alternation(leaves)
        self.leaves = {root: _alternation(words) for root, words in leaves.items()}

    def first_round(self, text: bytes) -> bool:
        if any(word in text for word in ALWAYS):
            return True
        if _BUILTIN_CALLS.search(text):
            return True
        if self.roots is None:
            return False
        for root in {match.decode() for match in self.roots.findall(text)}:
            pattern = self.leaves.get(root)
            if pattern is not None and pattern.search(text):
                return True
        return False

    @staticmethod
    def mentions(text: bytes, names: Iterable[str]) -> bool:
        pattern = _alternation(names)
        return bool(pattern and pattern.search(text))


def matcher(names: Iterable[str]) -> re.Pattern[bytes] | None:
    return _alternation(names)
