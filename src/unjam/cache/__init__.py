"""The cache stage: what a run derives from one file alone, kept between runs.

``store`` keeps entries on disk (atomic, checked, never trusted blindly); ``digest``
makes the keys (stable across processes, whatever the hash seed).
"""

from __future__ import annotations

from unjam.cache.digest import content_digest, stable_digest
from unjam.cache.store import CACHE_DIR_NAME, Cache, default_cache_dir, tuple_of

__all__ = [
    "CACHE_DIR_NAME",
    "Cache",
    "content_digest",
    "default_cache_dir",
    "stable_digest",
    "tuple_of",
]
