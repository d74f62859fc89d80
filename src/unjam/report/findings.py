"""Findings and how ``unjam check`` prints them: text, JSON, GitHub annotations, SARIF 2.1.0."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from enum import Enum
from typing import TYPE_CHECKING

from unjam import __version__
from unjam.analysis.suppression import is_suppressed
from unjam.codemods import Site

if TYPE_CHECKING:
    from unjam.analysis.project import Project
    from unjam.codemods import Codemod


class Format(str, Enum):
    TEXT = "text"
    JSON = "json"
    GITHUB = "github"
    SARIF = "sarif"


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    path: str
    line: int
    column: int
    codemod: str
    message: str
    fixable: bool

    @classmethod
    def from_site(cls, path: str, site: Site) -> Finding:
        return cls(
            path, site.location.line, site.location.column, site.codemod, site.message, site.fixed
        )


def findings_from(results: Iterable[tuple[str, Sequence[Site]]]) -> list[Finding]:
    return sorted({Finding.from_site(path, site) for path, sites in results for site in sites})


#: Reported for a blocking call in async code that no selected codemod rewrote or explained.
UNHANDLED = "blocking-call"
UNHANDLED_DOC = """\
## What it does
Reports a call that blocks the event loop (the catalog's, or a project helper or method
that makes one, however deep) inside an `async def`, where no selected codemod rewrote
it or said why it stays.

## Why is this bad?
FastAPI runs `async def` routes, dependencies and handlers on the event loop. While
one of them blocks, every request on that worker waits, health checks included.

## Example
```python
@router.get("/report")
async def report() -> dict:
    await audit()
    return {"size": len(render_pdf())}  # blocking-call: vendor.pdf.render blocks
```

## Fix safety
Detection only: nothing is rewritten. Select the codemod that handles it (the message
says none of the selected ones does), fix it by hand, or suppress the line with
`# unjam: ignore[blocking-call]`. `--ignore blocking-call` stops these reports.
"""


def unhandled_blocking(
    project: Project, handled: Iterable[Finding], functions: Iterable[str] = ()
) -> list[Finding]:
    """Blocking calls inside ``async def`` that no codemod reported, at the call or for
    the whole function: ``check`` must never look clean while the loop still stalls
    (e.g. with a narrow ``--select``)."""
    covered = {(f.path, f.line) for f in handled}
    covered_functions = set(functions)
    found: list[Finding] = []
    for function in project.functions.values():
        if not function.is_async or is_suppressed(function.suppressed, UNHANDLED):
            continue
        if function.qualname in covered_functions:
            continue
        lines = dict(project.modules[function.path].suppressed_lines)
        for effect in project.blocking(function.qualname):
            if effect.deferred or (function.path, effect.location.line) in covered:
                continue
            if is_suppressed(lines.get(effect.location.line, frozenset()), UNHANDLED):
                continue
            via = f" via {' → '.join(effect.via)}" if effect.via else ""
            found.append(
                Finding(
                    function.path,
                    effect.location.line,
                    effect.location.column,
                    UNHANDLED,
                    f"{effect.name}{via} blocks the event loop ({effect.category}) "
                    f"in async def {function.name}; no selected codemod rewrites it",
                    False,
                )
            )
    return sorted(found)


def render(
    findings: Sequence[Finding], fmt: Format, passes: Callable[[], Sequence[type[Codemod]]]
) -> str:
    """``passes``: the run's passes, asked for by SARIF only (its rules carry their docs;
    loading the passes imports libcst, which a run the cache answers does without)."""
    if fmt is Format.JSON:
        return json.dumps([asdict(finding) for finding in findings], indent=2) + "\n"
    if fmt is Format.GITHUB:
        return "".join(_github(finding) for finding in findings)
    if fmt is Format.SARIF:
        return json.dumps(sarif(findings, passes()), indent=2) + "\n"
    return "".join(
        f"{f.path}:{f.line}:{f.column}: {f.codemod}: {f.message}"
        f"{'' if f.fixable else ' (not fixed)'}\n"
        for f in findings
    )


def _escape(text: str, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _github(finding: Finding) -> str:
    level = "warning" if finding.fixable else "notice"
    return (
        f"::{level} file={_escape(finding.path, True)},line={finding.line},"
        f"col={finding.column},title={_escape('unjam ' + finding.codemod, True)}"
        f"::{_escape(finding.message)}\n"
    )


def sarif(findings: Sequence[Finding], passes: Sequence[type[Codemod]]) -> dict[str, object]:
    rules = [
        {
            "id": codemod.NAME,
            "name": codemod.NAME,
            "shortDescription": {"text": codemod.DESCRIPTION},
            "fullDescription": {"text": codemod.documentation()},
            "properties": {"fixSafety": codemod.SAFETY.value},
        }
        for codemod in passes
    ]
    index = {codemod.NAME: position for position, codemod in enumerate(passes)}
    results = []
    for finding in findings:
        result: dict[str, object] = {
            "ruleId": finding.codemod,
            "level": "warning" if finding.fixable else "note",
            "message": {"text": finding.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": finding.path, "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": finding.line, "startColumn": finding.column},
                    }
                }
            ],
        }
        if finding.codemod in index:
            result["ruleIndex"] = index[finding.codemod]
        results.append(result)
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "unjam",
                        "version": __version__,
                        "informationUri": "https://pypi.org/project/unjam/",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
