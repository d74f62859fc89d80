"""``StatementText`` must write a module out exactly as libcst does, and write a
statement out once however many rewrites keep it."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from unjam.codegen import StatementText

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "fixtures").rglob("*.py")) + sorted((ROOT / "src").rglob("*.py"))
SHAPES = {
    "empty": "",
    "one newline": "\n",
    "comments only": "# a header\n\n# and more\n",
    "no trailing newline": "import os\nx = os.sep",
    "comment without newline": "x = 1\n# last",
    "crlf": "import os\r\n\r\n\r\ndef f():\r\n    return os.sep\r\n",
    "tabs": "if True:\n\tx = 1\n\tif x:\n\t\ty = 2\n",
    "footer": "def f():\n    pass\n\n\n# trailing comment\n\n",
    "coding cookie": "# -*- coding: latin-1 -*-\nname = 'caf\\xe9'\n",
}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_a_module_is_written_as_libcst_writes_it(path: Path) -> None:
    module = cst.parse_module(path.read_bytes())
    assert StatementText().module(module) == module.code


@pytest.mark.parametrize("source", SHAPES.values(), ids=SHAPES.keys())
def test_edge_shapes_are_written_as_libcst_writes_them(source: str) -> None:
    module = cst.parse_module(source)
    assert StatementText().module(module) == module.code == source


def test_a_rewrite_writes_out_only_the_statements_it_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = cst.parse_module("import os\n\n\ndef f():\n    return 1\n\n\ndef g():\n    return 2\n")
    text = StatementText()
    assert text.module(module) == module.code
    second = module.body[1]
    assert isinstance(second, cst.FunctionDef)
    renamed = module.with_changes(
        body=[module.body[0], second.with_changes(name=cst.Name("h")), module.body[2]]
    )
    written: list[cst.CSTNode] = []
    original = StatementText.tokens

    def counting(self: StatementText, owner: cst.Module, node: cst.CSTNode) -> list[str]:
        if id(node) not in self._tokens:
            written.append(node)
        return original(self, owner, node)

    monkeypatch.setattr(StatementText, "tokens", counting)
    assert text.module(renamed) == renamed.code
    assert written == [renamed.body[1]]
