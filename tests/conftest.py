"""The suite runs without unjam's cache unless a test asks for it (``tests/test_cache.py``):
a test that changes unjam's behaviour in-process (a pass made to fail) must not be
answered by a result another test kept, and fixture folders must stay as they are."""

from __future__ import annotations

import os

os.environ["UNJAM_NO_CACHE"] = "1"
