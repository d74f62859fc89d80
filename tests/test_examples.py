"""Each pass's own EXAMPLES, run as tests (the docs cannot drift from the behaviour)."""

from __future__ import annotations

import pytest
from unjam.codemods import PASSES, Codemod, Example

from unjam.pipeline.runner import run_source

EXAMPLES = [
    (codemod, index, example)
    for codemod in PASSES
    for index, example in enumerate(codemod.EXAMPLES)
]


@pytest.mark.parametrize(
    ("codemod", "index", "example"), EXAMPLES, ids=lambda v: getattr(v, "NAME", str(v))
)
def test_example(codemod: type[Codemod], index: int, example: Example) -> None:
    result = run_source(example.before, (codemod,))
    assert result.error is None
    produced = result.after.decode() if result.after is not None else example.before
    assert produced == (example.after if example.after is not None else example.before)


def test_every_pass_shows_a_rewrite_and_a_case_it_leaves_alone() -> None:
    for codemod in PASSES:
        assert any(e.after is not None for e in codemod.EXAMPLES), codemod.NAME
        assert any(e.after is None for e in codemod.EXAMPLES), codemod.NAME
