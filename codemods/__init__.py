"""unjam's passes, in the order they run (shipped as ``unjam.codemods``).

The order is data and is tested: requests-to-httpx first (an async route whose only
blocking work is HTTP becomes truly async), then demote-sync (what still never awaits
goes to the threadpool), offload-blocking (what still blocks inside a real coroutine is
moved off the loop), gather-awaits last.
"""

from __future__ import annotations

from unjam.codemods._base import Codemod, Decision, Example, Options, Safety, Site
from unjam.codemods.demote_sync import DemoteSync
from unjam.codemods.gather_awaits import GatherAwaits
from unjam.codemods.offload_blocking import OffloadBlocking
from unjam.codemods.requests_to_httpx import RequestsToHttpx

#: The contract's order; passes not written yet are simply absent.
CONTRACT_ORDER = ("requests-to-httpx", "demote-sync", "offload-blocking", "gather-awaits")
PASSES: tuple[type[Codemod], ...] = (RequestsToHttpx, DemoteSync, OffloadBlocking, GatherAwaits)

__all__ = [
    "CONTRACT_ORDER",
    "PASSES",
    "Codemod",
    "Decision",
    "Example",
    "Options",
    "Safety",
    "Site",
    "by_name",
]


def by_name() -> dict[str, type[Codemod]]:
    return {codemod.NAME: codemod for codemod in PASSES}
