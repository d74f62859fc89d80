"""unjam's passes, in the order they run (shipped as ``unjam.codemods``).

The order is data and is tested: requests-to-httpx first (an async route whose only
blocking work is HTTP becomes truly async), then demote-sync (what still never awaits
goes to the threadpool), offload-blocking (what still blocks inside a real coroutine is
moved off the loop), gather-awaits last.
"""

from __future__ import annotations

from unjam.codemods._base import Codemod, Decision, Example, Options, Safety, Site

PASSES: tuple[type[Codemod], ...] = ()

__all__ = ["PASSES", "Codemod", "Decision", "Example", "Options", "Safety", "Site", "by_name"]


def by_name() -> dict[str, type[Codemod]]:
    return {codemod.NAME: codemod for codemod in PASSES}
