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

import io
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

INDENT = "    "
OPENING = {"(": ")", "[": "]", "{": "}"}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: int
    text: str
    start: int  # offset in the line
    end: int


def wrap(line: str, limit: int) -> list[str]:
    """``line`` (one logical line, no indentation) as lines within ``limit`` columns,
    each after the first indented relative to it."""
    if len(line) <= limit:
        return [line]
    tokens = _tokens(line)
    if tokens is None:
        return [line]
    split = _right_hand_split(line, tokens, limit)
    if split is None:
        return [line]
    head, body, tail = split
    lines = [head]
    inner = limit - len(INDENT)
    if len(body) <= inner:
        lines.append(INDENT + body)
    else:
        parts = _top_level_parts(body)
        clauses = _comprehension_clauses(body)
        if parts is not None and (len(parts) > 1 or body.rstrip().endswith(",")):
            for part in parts:
                lines += [INDENT + each for each in wrap(part + ",", inner)]
        elif clauses is not None:
            for clause in clauses:
                lines += [INDENT + each for each in wrap(clause, inner)]
        else:
            lines += [INDENT + each for each in wrap(body, inner)]
    lines.append(tail)
    return lines


def _tokens(line: str) -> list[_Token] | None:
    """The line's bracket, comma, ``lambda`` and ``:`` tokens outside strings (and
    f-strings), with their offsets; None when it does not tokenize on its own."""
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
    except (tokenize.TokenError, IndentationError, SyntaxError):
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


def _right_hand_split(line: str, tokens: list[_Token], limit: int) -> tuple[str, str, str] | None:
    """(head ending with the opening bracket, body, tail from the closing bracket) at
    the last top-level pair that holds something and leaves a tail that fits."""
    for start, end in _pairs(tokens):
        body = line[start + 1 : end].strip()
        tail = line[end:]
        if not body or len(tail) > limit:
            continue
        return line[: start + 1].rstrip(), body, tail
    return None


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


def wrapped_statement(
    statement: cst.SimpleStatementLine, module: cst.Module, indent: str, limit: int
) -> cst.SimpleStatementLine:
    """``statement`` (standing at ``indent``) wrapped to ``limit``, or itself when it
    fits or cannot be cut."""
    code = module.code_for_node(statement.with_changes(leading_lines=()))
    line = code.rstrip("\r\n")
    if "\n" in line or len(indent) + len(line) <= limit:
        return statement
    lines = wrap(line, limit - len(indent))
    if len(lines) == 1:
        return statement
    try:
        parsed = cst.parse_statement("\n".join(lines) + "\n", module.config_for_parsing)
    except cst.ParserSyntaxError:
        return statement
    if not isinstance(parsed, cst.SimpleStatementLine):
        return statement
    return parsed.with_changes(leading_lines=statement.leading_lines)


def wrapped_header(
    statement: cst.With | cst.For, module: cst.Module, indent: str, limit: int
) -> cst.With | cst.For:
    """A ``with``/``for`` statement whose first line is wrapped to ``limit``."""
    first = _header(statement, module, comment=True)  # the comment counts too
    if len(indent) + len(first) <= limit:
        return statement
    tokens = _tokens(first)
    comment = next((t for t in tokens or () if t.kind == tokenize.COMMENT), None)
    code = first[: comment.start].rstrip() if comment is not None else first
    if not code.endswith(":"):
        return statement
    lines = wrap(first, limit - len(indent))  # the comment stays on the closing line
    if len(lines) == 1:
        return statement
    try:
        parsed = cst.parse_statement(
            "\n".join(lines) + "\n" + INDENT + "pass\n", module.config_for_parsing
        )
    except cst.ParserSyntaxError:
        return statement
    if isinstance(statement, cst.With) and isinstance(parsed, cst.With):
        return statement.with_changes(
            items=parsed.items,
            lpar=parsed.lpar,
            rpar=parsed.rpar,
            whitespace_before_colon=parsed.whitespace_before_colon,
        )
    if isinstance(statement, cst.For) and isinstance(parsed, cst.For):
        return statement.with_changes(
            target=parsed.target,
            iter=parsed.iter,
            whitespace_after_for=parsed.whitespace_after_for,
            whitespace_before_in=parsed.whitespace_before_in,
            whitespace_after_in=parsed.whitespace_after_in,
            whitespace_before_colon=parsed.whitespace_before_colon,
        )
    return statement


def wrap_changed(before: cst.Module, after: cst.Module, limit: int, code: str) -> cst.Module:
    """``after`` with the statements a pass built, changed or re-indented wrapped to
    ``limit``; unchanged when no line of it is longer.

    Only top-level statements that hold a long line and are not the very ones of
    ``before`` are walked, each against its namesake in ``before`` (walking whole
    modules cost a third of a rewrite)."""
    if all(len(line) <= limit for line in code.splitlines()):  # ``code``: ``after``'s
        return after
    kept = {id(statement) for statement in before.body}
    namesakes = {_name_of(statement): statement for statement in before.body}
    body = list(after.body)
    for index, statement in enumerate(body):
        if id(statement) in kept:
            continue  # the user's own statement, untouched
        text = after.code_for_node(statement)
        if all(len(line) <= limit for line in text.splitlines()):
            continue
        seen = _Seen(before)
        earlier = namesakes.get(_name_of(statement))
        if earlier is not None and _name_of(statement) is not None:
            earlier.visit(seen)
        body[index] = statement.visit(_WrapChanged(after, seen, limit))  # type: ignore[assignment]
    return after.with_changes(body=body)


def _name_of(statement: cst.BaseStatement) -> str | None:
    if isinstance(statement, cst.FunctionDef | cst.ClassDef):
        return statement.name.value
    return None


class _Seen(cst.CSTVisitor):
    """The statements of the module before the pass, with their depth, and the headers
    of its ``with``/``for`` statements as written, with theirs."""

    def __init__(self, module: cst.Module) -> None:
        super().__init__()
        self.module = module
        self.statements: dict[int, int] = {}
        self.headers: set[tuple[str, int]] = set()
        self.depth = 0

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> bool:
        self.depth += 1
        return True

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock) -> None:
        self.depth -= 1

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        self.statements[id(node)] = self.depth
        return False

    def visit_With(self, node: cst.With) -> bool:
        self.headers.add((_header(node, self.module), self.depth))
        return True

    def visit_For(self, node: cst.For) -> bool:
        self.headers.add((_header(node, self.module), self.depth))
        return True


def _header(node: cst.With | cst.For, module: cst.Module, comment: bool = False) -> str:
    """The first line of a ``with``/``for`` statement as written, with the comment
    after its colon (which its body holds) when ``comment``."""
    stub = cst.IndentedBlock([cst.SimpleStatementLine([cst.Pass()])])
    if comment and isinstance(node.body, cst.IndentedBlock):
        stub = stub.with_changes(header=node.body.header)
    code = module.code_for_node(node.with_changes(body=stub, leading_lines=()))
    return code.split("\n", 1)[0].rstrip("\r")


class _WrapChanged(cst.CSTTransformer):
    def __init__(self, module: cst.Module, seen: _Seen, limit: int) -> None:
        super().__init__()
        self.module = module
        self.seen = seen
        self.limit = limit
        self.depth = 0

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> bool:
        self.depth += 1
        return True

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        self.depth -= 1
        return updated_node

    def _indent(self) -> str:
        return self.module.default_indent * self.depth

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        return False

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        if self.seen.statements.get(id(original_node)) == self.depth:
            return updated_node  # the user's line, where the user put it
        return wrapped_statement(updated_node, self.module, self._indent(), self.limit)

    def leave_With(self, original_node: cst.With, updated_node: cst.With) -> cst.With:
        wrapped = self._wrapped_header(original_node, updated_node)
        assert isinstance(wrapped, cst.With)
        return wrapped

    def leave_For(self, original_node: cst.For, updated_node: cst.For) -> cst.For:
        wrapped = self._wrapped_header(original_node, updated_node)
        assert isinstance(wrapped, cst.For)
        return wrapped

    def _wrapped_header(
        self, original: cst.With | cst.For, updated: cst.With | cst.For
    ) -> cst.With | cst.For:
        """The header wrapped, unless it is the user's, where the user put it."""
        if (_header(original, self.module), self.depth) in self.seen.headers:
            return updated
        return wrapped_header(updated, self.module, self._indent(), self.limit)
