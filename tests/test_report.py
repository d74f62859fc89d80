"""``unjam check`` output formats."""

from __future__ import annotations

import json
from typing import ClassVar

from unjam.codemods import Codemod, Example, Safety

from unjam.report.findings import Finding, Format, render, sarif

FINDINGS = [
    Finding("app/routes.py", 12, 5, "demo-pass", "time.sleep blocks the loop, 50% of it", True),
    Finding("app/deps.py", 3, 1, "demo-pass", "awaited by a.py:4, so left async", False),
]


class DemoPass(Codemod):
    """## What it does
    Demonstrates.
    """

    NAME = "demo-pass"
    DESCRIPTION = "a pass for report tests"
    SAFETY = Safety.SAFE
    EXAMPLES: ClassVar[tuple[Example, ...]] = ()


def test_text() -> None:
    assert render(FINDINGS, Format.TEXT, lambda: (DemoPass,)) == (
        "app/routes.py:12:5: demo-pass: time.sleep blocks the loop, 50% of it\n"
        "app/deps.py:3:1: demo-pass: awaited by a.py:4, so left async (not fixed)\n"
    )


def test_json_round_trips() -> None:
    data = json.loads(render(FINDINGS, Format.JSON, lambda: (DemoPass,)))
    assert [Finding(**item) for item in data] == FINDINGS


def test_github_annotations_escape_their_fields() -> None:
    lines = render(FINDINGS, Format.GITHUB, lambda: (DemoPass,)).splitlines()
    assert lines[0] == (
        "::warning file=app/routes.py,line=12,col=5,title=unjam demo-pass"
        "::time.sleep blocks the loop, 50%25 of it"
    )
    assert lines[1].startswith("::notice file=app/deps.py,line=3,col=1,")


def test_sarif_2_1_0_shape() -> None:
    log = sarif(FINDINGS, (DemoPass,))
    assert log["version"] == "2.1.0"
    [run] = log["runs"]  # type: ignore[misc]
    driver = run["tool"]["driver"]
    assert driver["name"] == "unjam"
    assert [rule["id"] for rule in driver["rules"]] == ["demo-pass"]
    first = run["results"][0]
    assert first["ruleId"] == "demo-pass" and first["ruleIndex"] == 0
    assert first["level"] == "warning"
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "app/routes.py"
    assert location["region"] == {"startLine": 12, "startColumn": 5}
    assert run["results"][1]["level"] == "note"
    json.dumps(log)  # serialisable
