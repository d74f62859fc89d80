"""Wrap the statements a rewrite produced to the project's line length, as black and
ruff format would.

A rewrite writes each statement it produces on one line (``await
anyio.to_thread.run_sync(functools.partial(f, a, key=b))``); in a project whose CI runs
``ruff format --check`` or ``black --check`` a line past the limit fails it. Only
statements the pass built or changed are looked at; every other line stays as the user
wrote it.

The split is the formatters' own for these shapes. The line is cut at the last bracket
pair that holds something (black's right-hand split; an empty trailer such as
``.json()`` stays on the closing line): the head up to the opening bracket, the body
indented one level, the closing bracket and what follows. A body that still does not
fit is cut at its top-level commas, one element per line with a trailing comma (commas
between a ``lambda``'s parameters are not top level); a body without such commas is
split the same way again. A line that cannot be cut (a long string) stays as it is.
"""

from __future__ import annotations

import ast
import functools
import io
import keyword
import re
import tokenize
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import libcst as cst

INDENT = "    "
OPENING = {"(": ")", "[": "]", "{": "}"}
#: Where :func:`flatten` took a comment out: ``__unjam_c0__`` a comment that ends a
#: line, ``__unjam_s0__`` one that stood on a line of its own.
_PLACEHOLDER = re.compile(r" ?__unjam_(?P<kind>[cs])(?P<name>\d+)__ ?")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: int
    text: str
    start: int  # offset in the line
    end: int


def wrap(line: str, limit: int, comments: Mapping[str, str] | None = None) -> list[str]:
    """``line`` (one logical line, no indentation) as lines within ``limit`` columns,
    each after the first indented relative to it.

    ``comments`` maps the placeholders :func:`flatten` put in ``line`` to the comments
    they stand for; they count at the width they will have."""
    comments = comments or {}
    tokens = _tokens(line)
    if tokens is None:
        return [line]
    if _width(line, comments) <= limit and not _must_split(line, tokens):
        return [line]
    split = _right_hand_split(line, tokens, limit, comments)
    if split is None:
        return [line]
    head, body, tail = split
    lines = [head]
    inner = limit - len(INDENT)
    body_tokens = _tokens(body) or []
    magic = _ends_in_magic_comma(head, body, tail)
    # the formatters' delimiter priorities: comprehension clauses, then commas
    clauses = _comprehension_clauses(body)
    parts = _top_level_parts(body) if clauses is None else None
    explode = magic or (_opens_literal(head) and parts is not None and len(parts) > 1)
    if _width(body, comments) <= inner and not explode and not _must_split(body, body_tokens):
        lines.append(INDENT + body)
    else:
        if clauses is not None:
            for clause in clauses:
                lines += [INDENT + each for each in wrap(clause, inner, comments)]
        elif parts is not None and (len(parts) > 1 or explode):
            for part in parts:
                lines += [INDENT + each for each in wrap(part + ",", inner, comments)]
        else:
            lines += [INDENT + each for each in wrap(body, inner, comments)]
    lines.append(tail)
    return lines


def _width(text: str, comments: Mapping[str, str]) -> int:
    """How wide ``text`` will be once its comment placeholders are rendered: a
    trailing comment at the end of the line, a standalone one on a line of its own."""
    if "__unjam_" not in text:
        return len(text)
    width = len(text)
    for match in _PLACEHOLDER.finditer(text):
        width -= len(match.group(0))
        if match.group("kind") == "c":
            width += 2 + len(comments.get(match.group("name"), ""))
    return width


def _must_split(line: str, tokens: list[_Token]) -> bool:
    """A magic trailing comma, or a standalone comment after the line's start: the
    formatters never join such a line, however short."""
    for match in _PLACEHOLDER.finditer(line):
        if match.group("kind") == "s" and line[: match.start()].strip():
            return True
    return _has_magic_comma(tokens)


def _has_magic_comma(tokens: list[_Token]) -> bool:
    return bool(_magic_closings(tokens))


def _ends_in_magic_comma(head: str, body: str, tail: str) -> bool:
    """Whether the pair a right-hand split cut at (``head`` ends with its opening
    bracket, ``tail`` starts with its closing one) holds a magic trailing comma."""
    if not body.rstrip().endswith(","):
        return False
    tokens = _tokens(head + body + tail[:1])
    if tokens is None:
        return False
    closing = max(i for i, token in enumerate(tokens) if token.kind == tokenize.OP)
    return closing in _magic_closings(tokens)


def _opens_literal(head: str) -> bool:
    """Whether ``head`` ends with the bracket of a list, set, dict or tuple display
    (not of a call or subscript): the formatters put each of its elements on a line
    of its own once it is split."""
    tokens = [t for t in _tokens(head, unclosed=True) or () if t.kind in _SIGNIFICANT]
    if not tokens or tokens[-1].text not in OPENING:
        return False
    before = tokens[-2] if len(tokens) > 1 else None
    return not _follows_value(before)


def _follows_value(token: _Token | None) -> bool:
    """Whether a bracket after ``token`` is a call or a subscript of it."""
    if token is None:
        return False
    if token.kind == tokenize.NAME:
        return not keyword.iskeyword(token.text)  # ``await (x,)``, ``in [a,]``
    return token.kind in (tokenize.STRING, tokenize.NUMBER) or token.text in _CLOSING


def _magic_closings(tokens: list[_Token]) -> set[int]:
    """Indices of the closing brackets right after a comma, except in a one-element
    tuple or a one-element subscript (black's and ruff's "magic trailing comma")."""
    found: set[int] = set()
    stack: list[tuple[int, int]] = []  # (index of the opening token, top-level commas)
    for index, token in enumerate(tokens):
        if token.kind != tokenize.OP:
            continue
        if token.text in OPENING:
            stack.append((index, 0))
        elif token.text == "," and stack:
            opening, commas = stack[-1]
            stack[-1] = (opening, commas + 1)
        elif token.text in OPENING.values() and stack:
            opening, commas = stack.pop()
            if index == 0 or tokens[index - 1].text != ",":
                continue
            follows_value = _follows_value(tokens[opening - 1] if opening else None)
            if commas == 1 and token.text == ")" and not follows_value:
                continue  # (x,): a one-element tuple
            if commas == 1 and token.text == "]" and follows_value:
                continue  # x[i,]: a one-element subscript
            found.add(index)
    return found


def _tokens(line: str, unclosed: bool = False) -> list[_Token] | None:
    """The line's tokens outside f-strings, with their offsets; None when it does
    not tokenize on its own (unless ``unclosed``: a head that ends inside brackets)."""
    found: list[_Token] = []
    fstrings = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(line + "\n").readline):
            name = tokenize.tok_name[token.type]
            if name == "FSTRING_START":
                fstrings += 1
            elif name == "FSTRING_END":
                fstrings -= 1
            elif fstrings == 0 and token.start[0] == 1:
                found.append(_Token(token.type, token.string, token.start[1], token.end[1]))
    except tokenize.TokenError:
        return found if unclosed else None
    except (IndentationError, SyntaxError):
        return None
    return found


def _pairs(tokens: list[_Token]) -> Iterator[tuple[int, int]]:
    """Offsets of bracket pairs at the top level of the line, last first."""
    stack: list[tuple[int, int]] = []
    pairs: list[tuple[int, int]] = []
    for token in tokens:
        if token.kind != tokenize.OP:
            continue
        if token.text in OPENING:
            stack.append((token.start, len(stack)))
        elif token.text in OPENING.values() and stack:
            start, depth = stack.pop()
            if depth == 0:
                pairs.append((start, token.start))
    return reversed(pairs)


def _right_hand_split(
    line: str, tokens: list[_Token], limit: int, comments: Mapping[str, str]
) -> tuple[str, str, str] | None:
    """(head ending with the opening bracket, body, tail from the closing bracket).

    As black's right-hand split with omitted trailers: the last top-level pair that
    holds something, unless the head would still be too long, then the pair before it
    as long as the trailers after it fit on the closing line (``(await x).json()[k]``
    splits at the parentheses). A pair ending in a magic trailing comma is never
    passed over. Without a pair whose head fits, the last pair."""
    last: tuple[str, str, str] | None = None  # black's own fallback
    magic = _has_magic_comma(tokens)
    for start, end in _pairs(tokens):
        body = line[start + 1 : end].strip()
        tail = line[end:]
        if not body:
            continue
        head = line[: start + 1].rstrip()
        last = last or (head, body, tail)
        if _width(tail, comments) > limit:
            break
        holds_magic = magic and _has_magic_comma(_tokens(line[start : end + 1]) or [])
        if magic and not holds_magic:
            continue  # passed over until the pair that must explode
        if _width(head, comments) <= limit:
            return head, body, tail
        if holds_magic:
            break
    return last


def _top_level_parts(body: str) -> list[str] | None:
    """``body`` cut at its top-level commas (not those of a lambda's parameters), each
    part stripped, without an empty last part; None when it does not tokenize."""
    tokens = _tokens(body)
    if tokens is None:
        return None
    cuts: list[int] = []
    depth = 0
    lambdas = 0  # lambda parameter lists open at the top level
    for token in tokens:
        if token.kind == tokenize.OP and token.text in OPENING:
            depth += 1
        elif token.kind == tokenize.OP and token.text in OPENING.values():
            depth -= 1
        elif depth == 0 and token.kind == tokenize.NAME and token.text == "lambda":
            lambdas += 1
        elif depth == 0 and token.kind == tokenize.OP and token.text == ":" and lambdas:
            lambdas -= 1
        elif depth == 0 and not lambdas and token.kind == tokenize.OP and token.text == ",":
            cuts.append(token.start)
    parts = []
    start = 0
    for cut in cuts:
        parts.append(body[start:cut].strip())
        start = cut + 1
    last = body[start:].strip()
    if last:
        parts.append(last)
    return parts


def _comprehension_clauses(body: str) -> list[str] | None:
    """A comprehension cut before each top-level ``for`` / ``async for`` / ``if``
    clause, as the formatters lay one out; None when ``body`` is none."""
    tokens = _tokens(body)
    if tokens is None:
        return None
    cuts: list[int] = []
    depth = 0
    seen_for = False
    for index, token in enumerate(tokens):
        if token.kind == tokenize.OP and token.text in OPENING:
            depth += 1
        elif token.kind == tokenize.OP and token.text in OPENING.values():
            depth -= 1
        elif depth == 0 and token.kind == tokenize.NAME and token.text in ("for", "if"):
            if token.text == "if" and not seen_for:
                continue  # a conditional expression in the element
            seen_for |= token.text == "for"
            previous = tokens[index - 1] if index else None
            is_async = previous is not None and previous.text == "async"
            cuts.append(previous.start if is_async and previous else token.start)
    if not seen_for:
        return None
    clauses = []
    start = 0
    for cut in cuts:
        clauses.append(body[start:cut].strip())
        start = cut
    clauses.append(body[start:].strip())
    return [clause for clause in clauses if clause]


@dataclass(frozen=True, slots=True)
class Flat:
    """A statement on one line, its comments taken out (see ``_PLACEHOLDER``)."""

    line: str
    comments: dict[str, str]


_SIGNIFICANT = frozenset((tokenize.OP, tokenize.NAME, tokenize.STRING, tokenize.NUMBER))
_SKIPPED = frozenset((tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT))
_CLOSING = frozenset(OPENING.values())


def flatten(code: str) -> Flat | None:
    """``code`` (one simple statement as written, maybe over several lines) joined
    into one line as the formatters join it before they split it again; None where
    joining is not theirs to do: a string over several lines, a backslash, a
    semicolon, a comment right after an opening bracket or inside an expression.

    A comment that ends a line stays with the token before it (before that token's
    comma); one on a line of its own stays before the element that follows it."""
    if "\\\n" in code or "\\\r" in code:
        return None
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    starts = [0]
    for text in code.splitlines(keepends=True):
        starts.append(starts[-1] + len(text))

    def offset(position: tuple[int, int]) -> int:
        return starts[position[0] - 1] + position[1]

    out: list[str] = []
    comments: dict[str, str] = {}
    standalone: list[str] = []
    inside = False
    previous: tokenize.TokenInfo | None = None
    for token in tokens:
        if token.type in _SKIPPED or token.type == tokenize.ENDMARKER:
            continue
        if token.start[0] != token.end[0] or token.string == ";":
            return None
        if token.type == tokenize.COMMENT:
            key = str(len(comments))
            comments[key] = token.string
            if previous is not None and previous.end[0] == token.start[0]:
                if previous.string in OPENING:
                    return None
                inside = previous.string != ","  # an expression, unless a bracket closes it
                # before the comma it follows, so that it stays with its element
                out.insert(len(out) - (previous.string == ","), f" __unjam_c{key}__")
            elif previous is not None and previous.string in (",", *OPENING):
                standalone.append(f"__unjam_s{key}__ ")
            else:
                return None
            continue
        if previous is not None:
            if standalone and token.string in _CLOSING:
                return None
            if inside and token.string not in _CLOSING:
                return None  # a comment inside an expression: the formatters move it
            inside = False
            if previous.end[0] == token.start[0]:
                out.append(code[offset(previous.end) : offset(token.start)])
            elif not _hugs(previous.string, token.string):
                out.append(" ")
        out.extend(standalone)
        standalone.clear()
        out.append(code[offset(token.start) : offset(token.end)])
        previous = token
    if standalone:
        return None
    return Flat("".join(out), comments)


def _hugs(left: str, right: str) -> bool:
    """Whether two tokens the user put on separate lines join without a space."""
    return left in OPENING or right in _CLOSING or "." in (left, right)


def _rendered(lines: list[str], comments: Mapping[str, str]) -> list[str] | None:
    """``lines`` with their placeholders turned back into comments; None when a
    standalone comment did not land at the start of a line."""
    rendered = []
    for line in lines:
        if "__unjam_" not in line:
            rendered.append(line)
            continue
        text = line.lstrip(" ")
        indent = line[: len(line) - len(text)]
        while (match := _PLACEHOLDER.match(text)) and match.group("kind") == "s":
            rendered.append(indent + comments[match.group("name")])
            text = text[match.end() :]
        trailing = []
        for match in _PLACEHOLDER.finditer(text):
            if match.group("kind") == "s":
                return None
            trailing.append(comments[match.group("name")])
        text = _PLACEHOLDER.sub(lambda m: " " if m.group(0).endswith(" ") else "", text)
        rendered.append(indent + "  ".join([text.rstrip(), *trailing]))
    return rendered


@functools.lru_cache(maxsize=4096)  # a pass writes the same shapes in every module
def relayout(code: str, limit: int, context: tuple[str, str] = ("", "")) -> tuple[str, ...] | None:
    """The statement ``code`` laid out as the formatters would lay it out within
    ``limit`` columns; None where :func:`flatten` declines, or where the result would
    not be the same statement with the same comments (a check, never expected).
    ``context`` is what goes around ``code`` to make it parse (a header's body)."""
    flat = flatten(code)
    if flat is None:
        return None
    lines = _rendered(wrap(flat.line, limit, flat.comments), flat.comments)
    if lines is None:
        return None
    text = "\n".join(lines)
    prefix, suffix = context
    try:
        same = ast.dump(ast.parse(prefix + text + suffix)) == ast.dump(
            ast.parse(prefix + code + suffix)
        )
    except SyntaxError:
        return None
    if not same or _comment_count(text) != len(flat.comments):
        return None
    return tuple(lines)


def _comment_count(code: str) -> int:
    try:
        return sum(
            token.type == tokenize.COMMENT
            for token in tokenize.generate_tokens(io.StringIO(code).readline)
        )
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return -1


def _new_layout(
    written: str, room: int, context: tuple[str, str] = ("", "")
) -> tuple[str, ...] | None:
    """The formatters' layout of ``written`` within ``room`` columns, or None when the
    text is to stay: it fits on its one line, the layout is the same, or the layout
    would have a line past the limit that the text as it stands does not."""
    if "\n" not in written and len(written) <= room:
        return None
    lines = relayout(written, room, context)
    if lines is None or "\n".join(lines) == written:
        return None
    if any(len(line) > room for line in lines) and all(
        len(line) <= room for line in written.splitlines()
    ):
        return None
    return lines


def wrapped_statement(
    statement: cst.SimpleStatementLine, module: cst.Module, indent: str, limit: int
) -> cst.SimpleStatementLine:
    """``statement`` (standing at ``indent``) laid out within ``limit``: a long line
    wrapped, a statement the user spread over several lines joined and split again
    as the formatters would. Itself when it fits on its line, or when the new layout
    would have a line past the limit that the statement as it stands does not."""
    code = module.code_for_node(statement.with_changes(leading_lines=()))
    lines = _new_layout(code.rstrip("\r\n"), limit - len(indent))
    if lines is None:
        return statement
    try:
        parsed = cst.parse_statement("\n".join(lines) + "\n", module.config_for_parsing)
    except cst.ParserSyntaxError:
        return statement
    if not isinstance(parsed, cst.SimpleStatementLine):
        return statement
    return parsed.with_changes(leading_lines=statement.leading_lines)


#: The compound statements whose header a pass may change, and the fields that hold it.
_HEADER_FIELDS: dict[type[cst.CSTNode], tuple[str, ...]] = {
    cst.With: ("items", "lpar", "rpar", "whitespace_after_with", "whitespace_before_colon"),
    cst.For: (
        "target",
        "iter",
        "whitespace_after_for",
        "whitespace_before_in",
        "whitespace_after_in",
        "whitespace_before_colon",
    ),
    cst.If: ("test", "whitespace_before_test", "whitespace_after_test"),
    cst.While: ("test", "whitespace_after_while", "whitespace_before_colon"),
    cst.ExceptHandler: ("type", "name", "whitespace_after_except", "whitespace_before_colon"),
}
Header = cst.With | cst.For | cst.If | cst.While | cst.ExceptHandler
_STUB = "\n" + INDENT + "pass\n"


def wrapped_header(statement: Header, module: cst.Module, indent: str, limit: int) -> Header:
    """``statement`` with its header laid out within ``limit`` as the formatters
    would (see :func:`wrapped_statement`); the comment after the colon counts."""
    prefix = "try:" + _STUB if isinstance(statement, cst.ExceptHandler) else ""
    lines = _new_layout(_header(statement, module), limit - len(indent), (prefix, _STUB))
    if lines is None:
        return statement
    try:
        block = cst.parse_statement(prefix + "\n".join(lines) + _STUB, module.config_for_parsing)
    except cst.ParserSyntaxError:
        return statement
    parsed = block.handlers[0] if isinstance(block, cst.Try) and prefix else block
    if type(parsed) is not type(statement):
        return statement
    fields = _HEADER_FIELDS[type(statement)]
    return statement.with_changes(**{field: getattr(parsed, field) for field in fields})


def wrap_changed(before: cst.Module, after: cst.Module, limit: int) -> cst.Module:
    """``after`` with the statements a pass built, changed or re-indented laid out
    within ``limit`` (see :func:`wrapped_statement`).

    Only top-level statements that are not the very ones of ``before`` are walked,
    each against its namesake in ``before`` (walking whole modules cost a third of a
    rewrite)."""
    kept = {id(statement) for statement in before.body}
    namesakes = {_name_of(statement): statement for statement in before.body}
    body = list(after.body)
    for index, statement in enumerate(body):
        if id(statement) in kept:
            continue  # the user's own statement, untouched
        seen = _Seen()
        earlier = namesakes.get(_name_of(statement))
        if earlier is not None and _name_of(statement) is not None:
            seen.add(earlier, 0)
        body[index] = _WrapChanged(after, seen, limit).laid_out(statement, 0)
    return after.with_changes(body=body)


def _name_of(statement: cst.BaseStatement) -> str | None:
    if isinstance(statement, cst.FunctionDef | cst.ClassDef):
        return statement.name.value
    return None


class _Seen:
    """The statements of the module before the pass, with their depth, and the headers
    of its compound statements, with theirs, each by identity: a pass that changes a
    statement or a header makes a new node, and one that moves it deeper changes its
    depth. Only statements are walked (expressions cannot hold any)."""

    def __init__(self) -> None:
        self.statements: dict[int, int] = {}
        self.headers: set[tuple[tuple[int, ...], int]] = set()

    def add(self, node: cst.CSTNode, depth: int) -> None:
        if isinstance(node, cst.SimpleStatementLine):
            self.statements[id(node)] = depth
            return
        if isinstance(node, Header):
            self.headers.add((_header_key(node), depth))
        for _, part, part_depth in _parts(node, depth):
            for statement in part.body if isinstance(part, cst.IndentedBlock) else (part,):
                self.add(statement, part_depth)


def _parts(node: cst.CSTNode, depth: int) -> Iterator[tuple[str, cst.CSTNode, int]]:
    """(field, value, depth of what it holds) for the parts of a compound statement
    that hold statements: its indented blocks (one level deeper) and its clauses
    (``elif``, ``else``, ``except``, ``finally``, ``case``: at its own depth). Reading
    the fields is much cheaper than libcst's ``children``."""
    for field in ("body", "orelse", "handlers", "finalbody", "cases"):
        value = getattr(node, field, None)
        if isinstance(value, cst.IndentedBlock):
            yield field, value, depth + 1
        elif isinstance(value, _HOLDERS):
            yield field, value, depth
        elif isinstance(value, tuple | list):
            for item in value:
                if isinstance(item, _HOLDERS):
                    yield field, item, depth


#: What holds blocks at the depth of the statement it is part of: nested compound
#: statements (``elif``) and the clauses of compound statements.
_HOLDERS = (
    cst.BaseCompoundStatement,
    cst.Else,
    cst.ExceptHandler,
    cst.ExceptStarHandler,
    cst.Finally,
    cst.MatchCase,
)


def _header_key(node: Header) -> tuple[int, ...]:
    """The identity of a header: the nodes its fields hold."""
    return tuple(id(getattr(node, field)) for field in _HEADER_FIELDS[type(node)])


def _header(node: Header, module: cst.Module) -> str:
    """The header of a compound statement as written (over several lines where the
    user spread it), with the comment after its colon (which its body holds)."""
    stub = cst.IndentedBlock([cst.SimpleStatementLine([cst.Pass()])])
    if isinstance(node.body, cst.IndentedBlock):
        stub = stub.with_changes(header=node.body.header)
    bare = node.with_changes(body=stub, leading_lines=())
    if isinstance(bare, cst.For | cst.While | cst.If):
        bare = bare.with_changes(orelse=None)
    code = module.code_for_node(bare).replace("\r\n", "\n").replace("\r", "\n")
    return code[: code.rindex("\n", 0, code.rindex("pass"))]


class _WrapChanged:
    """Lays out the statements and headers ``seen`` does not know, walking statements
    only: a transformer would visit every expression of every header on the way."""

    def __init__(self, module: cst.Module, seen: _Seen, limit: int) -> None:
        self.module = module
        self.seen = seen
        self.limit = limit

    def laid_out(self, node: cst.CSTNodeT, depth: int) -> cst.CSTNodeT:
        indent = self.module.default_indent * depth
        if isinstance(node, cst.SimpleStatementLine):
            if self.seen.statements.get(id(node)) == depth:
                return node  # the user's line, where the user put it
            return wrapped_statement(node, self.module, indent, self.limit)  # type: ignore[return-value]
        changes: dict[str, object] = {}
        tuples: dict[str, list[cst.CSTNode]] = {}
        for field, part, part_depth in _parts(node, depth):
            if isinstance(part, cst.IndentedBlock):
                body = [self.laid_out(statement, part_depth) for statement in part.body]
                if any(new is not old for new, old in zip(body, part.body, strict=True)):
                    changes[field] = part.with_changes(body=body)
            elif isinstance(getattr(node, field), tuple | list):
                tuples.setdefault(field, []).append(self.laid_out(part, part_depth))
            else:
                if (new := self.laid_out(part, part_depth)) is not part:
                    changes[field] = new
        for field, items in tuples.items():
            if any(new is not old for new, old in zip(items, getattr(node, field), strict=True)):
                changes[field] = tuple(items)
        updated = node.with_changes(**changes) if changes else node
        if isinstance(node, Header) and (_header_key(node), depth) not in self.seen.headers:
            assert isinstance(updated, Header)
            return wrapped_header(updated, self.module, indent, self.limit)  # type: ignore[return-value]
        return updated
