"""Keys for the cache: the same value gives the same digest in every process.

A key is a digest of everything an entry was derived from. Most of it is bytes and
strings, but the check of a file is keyed by the project's view of it (``ModuleView``),
a tree of dataclasses holding frozensets. Pickle writes a set in iteration order, which
follows string hashes, which are salted per process: the same view would give another
key in the next run. The pickler here writes every set as its elements sorted by their
own stable digests (strings and numbers by value), and writes without pickle's memo:
with it, an object met twice is written once, so two equal views that share different
parts (one built in a worker, one here) gave different bytes. A view's digest leaves
out the module's own facts (``keys.view_digest``): 57 ms for the bench tree's 240 views.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from typing import Any

#: Bytes of a key: 160 bits, as git's object names.
DIGEST_SIZE = 20


def content_digest(data: bytes) -> bytes:
    """The digest of a file's bytes (blake2b: about 1 GB/s here, faster than sha256)."""
    return hashlib.blake2b(data, digest_size=DIGEST_SIZE).digest()


def stable_digest(*parts: object) -> bytes:
    """The digest of ``parts``: tuples, lists, dicts (in their order), sets (in a
    canonical order), strings, bytes, numbers, enums and picklable classes' objects."""
    buffer = io.BytesIO()
    _StablePickler(buffer).dump(parts)
    return hashlib.blake2b(buffer.getbuffer(), digest_size=DIGEST_SIZE).digest()


class _StablePickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=5)
        # Without the memo, an object met twice is written twice: two equal values
        # give the same bytes whether or not they share parts (a view built in a
        # worker and the same view built here do not share the same objects).
        self.fast = True

    def persistent_id(self, obj: Any) -> object:
        kind = type(obj)
        if kind is not frozenset and kind is not set:
            return None
        if all(type(element) is str for element in obj):
            ordered: list[Any] = sorted(obj)
        else:
            ordered = sorted(obj, key=lambda element: stable_digest(element))
        # The tag keeps a set apart from a tuple of the same elements.
        return ("set" if kind is set else "frozenset", tuple(ordered))
