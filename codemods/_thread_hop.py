"""Build the expression that runs a blocking call in a worker thread, in one hop.

Every value the call needs is evaluated on the event loop, in the order the original
code evaluated it, and handed to the thread as an argument: nothing is deferred into
the thread and nothing is captured from the coroutine. Three shapes:

- ``f(a, *rest)`` -> ``await run_sync(f, a, *rest)``;
- ``f(a, key=b)`` -> ``await run_sync(partial(f, a, key=b))`` (``run_sync`` passes
  positional arguments only);
- a chain whose inner calls block too (``open(p).read()``) -> one hop through a lambda
  that takes every value as a parameter: ``await run_sync(lambda p: open(p).read(), p)``.
  Values the original evaluated after an inner blocking call are only accepted when
  evaluating them earlier cannot be observed (names, attributes, constants, operators).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst
import libcst.matchers as m
from unjam.codemods._nodes import find_all
from unjam.codemods._spelling import Spelled

SPACE = cst.SimpleWhitespace(" ")


class Refused(Exception):
    """The call cannot move to a thread in one hop without changing what it does."""


def awaited(expression: cst.BaseExpression, like: cst.Call) -> cst.Await:
    """``await expression``, taking over the parentheses written around ``like``."""
    return cst.Await(expression=expression, lpar=like.lpar, rpar=like.rpar)


def with_twin(call: cst.Call, twin: Spelled) -> cst.Await:
    """``time.sleep(x)`` -> ``await anyio.sleep(x)``: same arguments, native coroutine."""
    return awaited(call.with_changes(func=twin.expression(), lpar=(), rpar=()), call)


def simple_hop(call: cst.Call, run_sync: Spelled, partial: Spelled | None) -> cst.Await:
    """``partial`` is needed (and only used) when the call has keyword arguments."""
    if partial is None:
        args = _joined([cst.Arg(call.func), *call.args], call)
        hop = cst.Call(
            run_sync.expression(), args=args, whitespace_before_args=call.whitespace_before_args
        )
        return awaited(hop, call)
    bound = cst.Call(
        partial.expression(),
        args=_joined([cst.Arg(call.func), *call.args], call),
        whitespace_before_args=call.whitespace_before_args,
    )
    return awaited(cst.Call(run_sync.expression(), args=[cst.Arg(bound)]), call)


def _joined(args: list[cst.Arg], like: cst.Call) -> list[cst.Arg]:
    """Arguments with commas between them; the original last comma (trailing comma and
    the line break before ``)``) stays last, and a call written one argument per line
    gets the new first argument on its own line too."""
    between: cst.BaseParenthesizableWhitespace = SPACE
    if isinstance(like.whitespace_before_args, cst.ParenthesizedWhitespace):
        between = like.whitespace_before_args
    joined = []
    for index, arg in enumerate(args):
        if index < len(args) - 1:
            comma = arg.comma if isinstance(arg.comma, cst.Comma) else cst.Comma()
            if index == 0 or not isinstance(arg.comma, cst.Comma):
                comma = cst.Comma(whitespace_after=between if index == 0 else SPACE)
            joined.append(arg.with_changes(comma=comma))
        else:
            joined.append(arg)
    return joined


@dataclass
class _Chain:
    """State while one chained hop is assembled."""

    blocking: set[int]  # ids of the original Call nodes that block
    is_global: Callable[[cst.Name], bool]
    params: list[tuple[str, cst.BaseExpression]] = field(default_factory=list)
    free: set[str] = field(default_factory=set)
    taken: set[str] = field(default_factory=set)  # names the lambda body uses as they are
    after_blocking: bool = False  # an inner blocking call has already run

    def contains_blocking(self, node: cst.CSTNode) -> bool:
        return any(id(found) in self.blocking for found in find_all(node, m.Call()))

    def hoist(self, expression: cst.BaseExpression) -> cst.BaseExpression:
        if _is_constant(expression):
            return expression
        if self.after_blocking and not _is_plain(expression):
            raise Refused(
                "an argument after an inner blocking call calls code itself; moving it "
                "before that call could change what it sees"
            )
        name = _param_name(expression)
        used = self.taken | {known for known, _ in self.params}
        while name in used:
            name += "_"
        self.params.append((name, expression.with_changes(lpar=(), rpar=())))
        return cst.Name(name)

    def call(self, node: cst.Call) -> cst.Call:
        func = node.func
        if isinstance(func, cst.Attribute):
            new_func: cst.BaseExpression = func.with_changes(value=self.receiver(func.value))
        elif isinstance(func, cst.Name) and self.is_global(func):
            self.free.add(func.value)
            new_func = func
        elif self.contains_blocking(func):
            raise Refused("the called object is itself computed by a blocking call")
        else:
            new_func = self.hoist(func)
        args = [arg.with_changes(value=self.operand(arg.value)) for arg in node.args]
        if id(node) in self.blocking:
            self.after_blocking = True
        return node.with_changes(func=new_func, args=args)

    def receiver(self, node: cst.BaseExpression) -> cst.BaseExpression:
        if not self.contains_blocking(node):
            root = _dotted_root(node)
            if root is not None and self.is_global(root):  # a module: ``json``, ``os.path``
                self.free.add(root.value)
                return node
            return self.hoist(node)
        if isinstance(node, cst.Call):
            return self.call(node)
        if isinstance(node, cst.Attribute):
            return node.with_changes(value=self.receiver(node.value))
        raise Refused("a blocking call sits inside a larger expression in the chain")

    def operand(self, node: cst.BaseExpression) -> cst.BaseExpression:
        if isinstance(node, cst.Call) and self.contains_blocking(node):
            return self.call(node)
        if self.contains_blocking(node):
            raise Refused("a blocking call sits inside a larger expression in the chain")
        return self.hoist(node)


def chained_hop(
    call: cst.Call,
    blocking: set[int],
    is_global: Callable[[cst.Name], bool],
    run_sync: Spelled,
) -> cst.Await:
    """One hop for a call whose receiver or arguments block as well."""
    bare = call.with_changes(lpar=(), rpar=())
    names_used = _Chain(blocking, is_global)
    names_used.call(bare)  # first walk: which names the lambda body keeps
    chain = _Chain(blocking, is_global, taken=set(names_used.free))
    body = chain.call(bare)
    params = [cst.Param(cst.Name(name)) for name, _ in chain.params]
    function = cst.Lambda(
        params=cst.Parameters(params=comma_params(params)),
        body=body,
        whitespace_after_lambda=SPACE if params else cst.SimpleWhitespace(""),
    )
    args = [cst.Arg(function), *(cst.Arg(value) for _, value in chain.params)]
    return awaited(cst.Call(run_sync.expression(), args=_joined(args, cst.Call(call.func))), call)


def comma_params(params: list[cst.Param]) -> list[cst.Param]:
    return [
        param.with_changes(comma=cst.Comma(whitespace_after=SPACE))
        if index < len(params) - 1
        else param
        for index, param in enumerate(params)
    ]


def _param_name(expression: cst.BaseExpression) -> str:
    if isinstance(expression, cst.Name):
        return expression.value.lower()
    if isinstance(expression, cst.Attribute):
        return expression.attr.value.lower()
    return "value"


def _dotted_root(node: cst.BaseExpression) -> cst.Name | None:
    while isinstance(node, cst.Attribute):
        node = node.value
    return node if isinstance(node, cst.Name) else None


def _is_constant(node: cst.BaseExpression) -> bool:
    if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString)):
        return True
    if isinstance(node, cst.ConcatenatedString):
        return _is_constant(node.left) and _is_constant(node.right)
    return isinstance(node, cst.Name) and node.value in ("True", "False", "None")


def _is_plain(node: cst.CSTNode) -> bool:
    """No calls, awaits, walruses, yields or lambdas anywhere inside."""
    unsafe = m.Call() | m.Await() | m.NamedExpr() | m.Yield() | m.Lambda() | m.FormattedString()
    return not find_all(node, unsafe)
