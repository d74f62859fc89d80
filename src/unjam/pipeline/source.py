"""Reading and parsing one file, with a one-line reason when that is not possible.

The bytes are kept as read: libcst detects the encoding (cookie or BOM) and the newline
style, and writes both back, so an untouched file stays byte-identical.
"""

from __future__ import annotations

import ast
import errno
import io
import os
import re
import stat
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import libcst as cst


@dataclass(eq=False)
class SourceError(Exception):
    """Why a file was skipped; ``str()`` is the line shown to the user.

    Not frozen: Python sets ``__traceback__`` on an exception leaving a ``with`` block
    of a generator-based context manager, and a frozen dataclass refuses that."""

    path: str
    reason: str
    #: No Python parses it (a NUL byte, nesting past the parser's limits): not worth
    #: trying libcst's parser for syntax newer than this Python's.
    final: bool = False

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


#: CPython's messages for source no version of Python accepts.
_NO_PYTHON_ACCEPTS = (
    "too many nested parentheses",
    "too many statically nested blocks",
    "source code cannot contain null bytes",
    "source code string cannot contain null bytes",
)
#: Operators on one logical line past which libcst's native parser is not handed a
#: file CPython could not check (a 20,000-term sum overflows its stack).
MAX_OPERATORS_PER_LINE = 2000


BINARY_SNIFF = 8192

#: One line and its line break: ``\n``, ``\r\n`` or ``\r``, the only ones Python's
#: tokenizer counts.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def source_lines(text: str) -> list[str]:
    """The lines of source text as Python numbers them, each with its line break.

    ``str.splitlines`` also breaks at a form feed, U+2028 and five other characters,
    which code may hold in a comment or a string (a form feed between sections is an
    old convention): every line after one would be read as the line before it.
    """
    return _LINE.findall(text)


def read_source(path: Path, shown: str) -> bytes:
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # reading a FIFO would wait for ever
            raise SourceError(shown, "not a regular file (a FIFO, socket or device)")
        data = path.read_bytes()
    except FileNotFoundError:
        if path.is_symlink():
            raise SourceError(shown, f"broken symlink (to {os.readlink(path)})") from None
        raise SourceError(shown, "file vanished before it could be read") from None
    except PermissionError:
        raise SourceError(shown, "permission denied") from None
    except IsADirectoryError:
        raise SourceError(shown, "is a directory") from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise SourceError(shown, "symlink loop") from None
        raise SourceError(shown, f"cannot read: {error.strerror or error}") from None
    if b"\x00" in data[:BINARY_SNIFF]:
        raise SourceError(shown, "binary file (NUL byte), not Python source")
    return data


def parse_source(data: bytes, shown: str) -> cst.Module:
    """libcst's parse of the file, or ``SourceError``."""
    import libcst as cst  # here: reading a file must not import libcst (see ``cache``)

    try:
        module = cst.parse_module(data)
        if not module.has_trailing_newline and data.endswith(b"\r"):
            # libcst reads a file of CR-only line breaks as one without a last line
            # break, and would write it back without its final ``\r``
            module = module.with_changes(has_trailing_newline=True)
        return module
    except cst.ParserSyntaxError as error:
        python_ast(data, shown)  # CPython's message is clearer, where it has one
        message = str(error.message).splitlines()[0] if error.message else "invalid syntax"
        raise SourceError(
            shown,
            f"libcst cannot parse this (Python accepts it) at "
            f"{error.raw_line}:{error.raw_column + 1}: {message}",
        ) from None
    except (UnicodeDecodeError, LookupError) as error:
        raise SourceError(shown, f"cannot decode: {error}") from None
    except SyntaxError as error:  # raised for a bad encoding cookie
        raise SourceError(shown, f"cannot decode: {error.msg}") from None
    except RecursionError:
        raise SourceError(shown, "too deeply nested to parse") from None


def python_ast(data: bytes, shown: str) -> tuple[ast.Module, str]:
    """CPython's parse of the file and its decoded text, or ``SourceError`` with
    CPython's own reason.

    Many times cheaper than libcst's parse: used to summarise files the pre-filter may
    skip (a broken file is still reported) and for clearer syntax error messages.
    Nothing is executed.
    """
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except SyntaxError as error:
        raise SourceError(shown, f"cannot decode: {error.msg}") from None
    except (UnicodeDecodeError, LookupError) as error:
        raise SourceError(shown, f"cannot decode: {error}") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        return ast.parse(text, shown), text
    except SyntaxError as error:
        raise SourceError(
            shown,
            f"syntax error at {error.lineno}:{error.offset}: {error.msg}",
            final=error.msg in _NO_PYTHON_ACCEPTS,
        ) from None
    except ValueError as error:  # a NUL byte, before Python 3.12
        raise SourceError(shown, f"cannot parse: {error}", final=True) from None
    except (RecursionError, MemoryError):
        raise SourceError(shown, "too deeply nested for Python's parser", final=True) from None


def too_deep_for_libcst(data: bytes) -> bool:
    """Whether a logical line holds more operators than libcst's native parser is
    known to survive. Only asked of files CPython could not parse (their depth is
    otherwise bounded by CPython's own parser, which refuses such files cleanly)."""
    count = 0
    try:
        for token in tokenize.tokenize(io.BytesIO(data).readline):
            if token.type == tokenize.OP:
                count += 1
                if count > MAX_OPERATORS_PER_LINE:
                    return True
            elif token.type == tokenize.NEWLINE:
                count = 0
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError, LookupError):
        return False  # libcst's parser reports these as the syntax errors they are
    return False
