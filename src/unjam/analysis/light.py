"""Facts for modules read only because gather-awaits may act in them.

The pre-filter found nothing blocking in such a module, so libcst's scope analysis (4-6
parses' worth) would only confirm an empty list of effects. CPython's tree gives what
gather-awaits needs: each function's qualified name, whether it is async, how often it
awaits, where awaited statements follow each other, and the suppression comments. A
later round that finds a reason to analyse the module fully replaces these facts.
"""

from __future__ import annotations

import ast

from unjam.analysis.model import FunctionFacts, Location, ModuleFacts
from unjam.analysis.positions import AstPositions
from unjam.analysis.suppression import suppressions

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def light_facts(tree: ast.Module, text: str, path: str, module: str) -> ModuleFacts:
    positions = AstPositions(tree, text)
    suppressed = suppressions(positions.comments, path)
    functions: dict[str, FunctionFacts] = {}  # a later def of one name replaces the earlier

    def walk(body: list[ast.stmt], prefix: str, kind: str) -> None:
        for node in _definitions(body):
            if isinstance(node, ast.ClassDef):
                walk(node.body, f"{prefix}.{node.name}" if prefix else node.name, "class")
                continue
            if kind == "function":
                qualname = f"{prefix}.<locals>.{node.name}"
            else:
                qualname = f"{prefix}.{node.name}" if prefix else node.name
            location = positions.name_after_keyword(node, "def", node.name)
            lines = {location.line, *(d.lineno for d in node.decorator_list)}
            codes = frozenset().union(*(suppressed.get(line, frozenset()) for line in lines))
            functions.pop(qualname, None)
            functions[qualname] = FunctionFacts(
                qualname=qualname,
                name=node.name,
                path=path,
                location=Location(location.line, location.column),
                is_async=isinstance(node, ast.AsyncFunctionDef),
                is_generator=any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in _own(node)),
                awaits=sum(
                    isinstance(n, (ast.Await, ast.AsyncFor, ast.AsyncWith)) for n in _own(node)
                ),
                suppressed=codes,
                await_runs=_runs(node) if isinstance(node, ast.AsyncFunctionDef) else 0,
            )
            walk(node.body, qualname, "function")

    walk(tree.body, module, "module")
    return ModuleFacts(
        path=path,
        module=module,
        functions=tuple(functions.values()),
        suppressed_lines=tuple(sorted(suppressed.items())),
    )


def _definitions(
    body: list[ast.stmt],
) -> list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef]:
    """Definitions in a body, also under ``if``/``try``/``with`` (same scope)."""
    found: list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef] = []
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.append(statement)
        else:
            for field in ("body", "orelse", "finalbody"):
                found += _definitions(getattr(statement, field, None) or [])
            for part in (getattr(statement, "handlers", None) or []) + (
                getattr(statement, "cases", None) or []
            ):
                found += _definitions(part.body)
    return found


def _own(function: ast.AST) -> list[ast.AST]:
    """Nodes of a function's body, not of functions, lambdas or classes inside it."""
    found: list[ast.AST] = []
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        if isinstance(node, _SCOPES):
            continue
        found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found


def awaited_statement(statement: ast.stmt) -> bool:
    """``x = await f()``, ``x: T = await f()`` or ``await f()`` as a whole statement."""
    value = getattr(statement, "value", None)
    return isinstance(statement, (ast.Assign, ast.AnnAssign, ast.Expr)) and isinstance(
        value, ast.Await
    )


def appended_awaits(node: ast.AST) -> list[ast.Await]:
    """The awaited arguments of a ``for`` loop whose one statement is a call with them
    (``out.append(await f(x))``): a fan-out gather-awaits may gather."""
    if not isinstance(node, ast.For) or len(node.body) != 1:
        return []
    only = node.body[0]
    if not isinstance(only, ast.Expr) or not isinstance(only.value, ast.Call):
        return []
    return [arg for arg in only.value.args if isinstance(arg, ast.Await)]


def _runs(function: ast.AsyncFunctionDef) -> int:
    """As the analysis counts them: blocks where awaited statements follow each other,
    and loops whose one statement appends an awaited result."""
    runs = 0
    for node in [function, *_own(function)]:
        body = getattr(node, "body", None)
        if isinstance(body, list):
            runs += sum(
                1
                for index in range(1, len(body))
                if awaited_statement(body[index])
                and awaited_statement(body[index - 1])
                and (index < 2 or not awaited_statement(body[index - 2]))
            )
        runs += bool(appended_awaits(node))
    return runs
