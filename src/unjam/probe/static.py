"""What the static analysis says about a line the probe caught blocking: fixed by a
codemod, reported (and why it stays), or missed; for a miss, the configuration that
would make the analysis see it."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from unjam.analysis.catalog import default_catalog
from unjam.analysis.project import Project
from unjam.codemods import Site
from unjam.pipeline.runner import FileResult
from unjam.probe.stalls import Line


@dataclass(frozen=True)
class Verdict:
    static: str  # "fixed by offload-blocking", "reported: ...", "missed"
    proposal: str | None = None  # for a miss: an extra-blocking entry, or what to do


@dataclass(frozen=True)
class Known:
    """Per root-relative (path, line): the sites the codemods report there, and the
    blocking calls the analysis found there (with their function)."""

    sites: dict[tuple[str, int], list[Site]]
    by_function: dict[str, list[Site]]
    effects: dict[tuple[str, int], str]  # the function holding the call


def verdict(line: Line, known: Known) -> Verdict:
    for where in line.frames or [(line.path, line.line)]:
        function = known.effects.get(where)
        sites = known.sites.get(where) or (known.by_function.get(function, []) if function else [])
        if sites:
            fixed = [site.codemod for site in sites if site.fixed]
            return Verdict(f"fixed by {fixed[0]}" if fixed else f"reported: {sites[0].message}")
        if function is not None:
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
    sites: dict[tuple[str, int], list[Site]] = {}
    by_function: dict[str, list[Site]] = {}
    for result in results:
        for site in result.sites:
            sites.setdefault((result.shown, site.location.line), []).append(site)
            if site.function:
                by_function.setdefault(site.function, []).append(site)
    effects: dict[tuple[str, int], str] = {}
    for qualname, function in project.functions.items():
        if not function.is_async:  # a sync function's call blocks only if awaited code calls it
            continue
        for effect in project.blocking(qualname):
            effects[(function.path, effect.location.line)] = qualname
    return Known(sites, by_function, effects)
