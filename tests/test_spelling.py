"""A spelled name is the very expression libcst parses from it."""

from __future__ import annotations

import libcst as cst
import pytest
from unjam.codemods._spelling import Spelled


@pytest.mark.parametrize(
    "dotted",
    ["anyio", "anyio.sleep", "anyio.to_thread.run_sync", "_t.run_sync", "functools.partial"],
)
def test_the_built_expression_is_the_parsed_one(dotted: str) -> None:
    built = Spelled(dotted).expression()
    assert built.deep_equals(cst.parse_expression(dotted))
    assert cst.Module(body=[]).code_for_node(built) == dotted


def test_what_is_not_a_dotted_name_is_parsed() -> None:
    spelled = Spelled("app.state.pool[0].run")
    assert spelled.expression().deep_equals(cst.parse_expression(spelled.dotted))
