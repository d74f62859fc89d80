"""The values passes and the engine exchange, without libcst: a run the cache answers
reads findings and options, and must not import the passes to do so."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from unjam.analysis.model import Location


class Safety(str, Enum):
    SAFE = "safe"
    UNSAFE = "unsafe"  # rewritten only with --unsafe-fixes
    MIXED = "mixed"  # safe cases rewritten, the rest reported


@dataclass(frozen=True, slots=True)
class Example:
    before: str
    after: str | None = None  # None: the pass must leave ``before`` unchanged


@dataclass(frozen=True, slots=True)
class Options:
    unsafe_fixes: bool = False
    http_client: str | None = None
    httpx_default_timeout: bool = False  # keep httpx's 5 s default instead of requests' none
    gather_safe: tuple[str, ...] = ()
    line_length: int = 88  # the project's formatter's (see ``unjam.formatting``)
    known_first_party: tuple[str, ...] = ()  # the project's import sorter's


@dataclass(frozen=True, slots=True)
class Site:
    """One place a pass acted on, or would have and did not (``fixed`` False)."""

    codemod: str
    location: Location
    message: str
    fixed: bool
    function: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """What a pass would do with a whole function (for ``unjam routes``)."""

    action: str
    fixable: bool
