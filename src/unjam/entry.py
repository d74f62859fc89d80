"""The ``unjam`` executable's entry point: nothing but the interpreter is loaded yet.

Importing the command line loads typer, rich and libcst, a noticeable part of a second;
Ctrl-C in that time would print a traceback from inside an import. It ends the way an
interrupt at any other moment ends: one line, and the shell's code for an interrupt.
"""

from __future__ import annotations

import sys

EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


def main() -> None:
    try:
        from unjam.cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("unjam: interrupted; nothing was changed\n")
        raise SystemExit(EXIT_INTERRUPTED) from None
    run()
