"""Writing a user's file without ever leaving half of it, and holding Ctrl-C off while a
set of writes is made or undone.

A file is written to a temporary sibling, flushed to disk and renamed over the original
(``os.replace`` is atomic on POSIX and Windows), so a reader, a crash or Ctrl-C sees the
old file or the new one, never a mix. The temporary file takes the original's permission
bits before the rename, so an executable script stays executable.
"""

from __future__ import annotations

import os
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

TEMPORARY_SUFFIX = ".unjam-tmp"


def temporaries_of(path: Path) -> Iterator[Path]:
    """The temporary siblings ``write_atomically`` left beside ``path`` (killed
    between writing one and renaming it)."""
    return path.parent.glob(f".{path.name}.*{TEMPORARY_SUFFIX}")


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path``'s bytes with ``data``; keeps its permission bits (a new file
    gets the usual 0o644)."""
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX, dir=path.parent
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


@dataclass
class Deferred:
    """Signals that arrived while interrupts were deferred."""

    received: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.received)


#: Ctrl-C, and the polite kill a CI runner or a terminal closing sends.
DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def interrupts_deferred() -> Iterator[Deferred]:
    """Record SIGINT/SIGTERM instead of raising, for a block that must finish (or be
    undone) as a whole; the caller reads the record and decides. Outside the main thread
    signal handlers cannot be installed, and the block runs unprotected."""
    record = Deferred()
    if threading.current_thread() is not threading.main_thread():
        yield record
        return

    def remember(number: int, frame: FrameType | None) -> None:
        record.received.append(number)

    previous = {number: signal.signal(number, remember) for number in DEFERRED_SIGNALS}
    try:
        yield record
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
