"""What the static analysis says about a line the probe caught blocking: fixed by a
codemod, reported (and why it stays), or missed; for a miss, the configuration that
would make the analysis see it."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from unjam.analysis.catalog import default_catalog
from unjam.analysis.project import Project
from unjam.probe.stalls import Line
from unjam.runner import FileResult


@dataclass(frozen=True)
class Verdict:
    static: str  # "fixed by offload-blocking", "reported: ...", "missed"
    proposal: str | None = None  # for a miss: an extra-blocking entry, or what to do


@dataclass(frozen=True)
class Known:
    """Per root-relative (path, line): the sites the codemods report there, and the
    blocking calls the analysis found there (with their function)."""

    sites: dict[tuple[str, int], list[tuple[str, bool, str, str]]]  # codemod, fixed, msg, fn
    by_function: dict[str, list[tuple[str, bool, str]]]  # function -> codemod, fixed, msg
    effects: dict[tuple[str, int], str]  # the function holding the call


def verdict(line: Line, known: Known) -> Verdict:
    for where in line.frames or [(line.path, line.line)]:
        sites = known.sites.get(where, [])
        fixed = [codemod for codemod, ok, _, _ in sites if ok]
        if fixed:
            return Verdict(f"fixed by {fixed[0]}")
        if sites:
            return Verdict(f"reported: {sites[0][2]}")
        function = known.effects.get(where)
        if function is not None:
            around = known.by_function.get(function, [])
            done = [codemod for codemod, ok, _ in around if ok]
            if done:
                return Verdict(f"fixed by {done[0]}")
            if around:
                return Verdict(f"reported: {around[0][2]}")
            return Verdict("reported: blocking-call (no selected codemod rewrites it)")
    unknown = [name for name in callees(line.source) if default_catalog().call(name) is None]
    if unknown:
        return Verdict("missed", f'extra-blocking = {{ "{unknown[0]}" = "other" }}')
    outer = line.frames[1] if len(line.frames) > 1 else (line.path, line.line)
    return Verdict(
        "missed",
        f"reached through a call the analysis cannot follow ({outer[0]}:{outer[1]}: a lookup "
        "by name, a registry); offload that call by hand",
    )


def callees(source: str) -> list[str]:
    """The dotted names called on a line (``zlib.compress`` in ``len(zlib.compress(x))``),
    innermost first: builtins and calls of computed values name nothing."""
    try:
        tree = ast.parse(source.strip().rstrip(":") or "pass")
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            parts = []
            current: ast.expr = node.func
            while isinstance(current, ast.Attribute):
                parts.append(current.attr)
                current = current.value
            if isinstance(current, ast.Name):
                found.append(".".join([current.id, *reversed(parts)]))
    return list(reversed(found))


def known_in(results: list[FileResult], project: Project) -> Known:
    """From a ``check`` run whose base is the project root (so that every shown path
    is relative to it, as the probe's are)."""
    sites: dict[tuple[str, int], list[tuple[str, bool, str, str]]] = {}
    by_function: dict[str, list[tuple[str, bool, str]]] = {}
    for result in results:
        for site in result.sites:
            where = (result.shown, site.location.line)
            holder = site.function or ""
            sites.setdefault(where, []).append((site.codemod, site.fixed, site.message, holder))
            by_function.setdefault(holder, []).append((site.codemod, site.fixed, site.message))
    effects: dict[tuple[str, int], str] = {}
    for qualname, function in project.functions.items():
        if not function.is_async:  # a sync function's call blocks only if awaited code calls it
            continue
        for effect in project.blocking(qualname):
            effects[(function.path, effect.location.line)] = qualname
    return Known(sites, by_function, effects)
