"""``StatementText`` must write a module out exactly as libcst does, and write a
statement out once however many rewrites keep it."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from unjam.pipeline.codegen import StatementText

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


# (the cookie's shape is a str here: CPython would read its bytes)
SEED_SHAPES = {
    **{name: source for name, source in SHAPES.items() if name != "coding cookie"},
    "decorators and comments": (
        "# header\n\nimport os  # why\n# about f\n@dec(\n    1,\n)\n# between\n@other\n"
        "def f():\n    pass\n    # footer of f\n\n# dedented\nclass C:\n    x = 1\n"
    ),
    "strings that look like lines": 'X = """\n# not a comment\n\ndef g(): ...\n"""\nY = 1\n',
    "semicolons and parentheses": "a = 1; b = 2\n(\n    c\n) = 3\n[\n    d\n][0] += 1\n",
    "form feed and lone cr": "a = 1\n\x0c\nb = 2\rc = 3\r\n",
    "backslash after the at": "@ \\\ndec\ndef f(): pass\n",
}


def _seeded(source: str) -> tuple[cst.Module, StatementText, bool]:
    from unjam.analysis.catalog import default_catalog
    from unjam.analysis.module import analyse_and_index
    from unjam.analysis.positions import AstPositions
    from unjam.analysis.qualnames import ModuleName
    from unjam.pipeline.source import python_ast

    module = cst.parse_module(source)
    positions = AstPositions(*python_ast(source.encode(), "m.py"))
    _, index = analyse_and_index(
        module, "m.py", ModuleName("m", ""), default_catalog(), frozenset(), positions
    )
    text = StatementText()
    return module, text, text.seed(module, module.code, index.first_lines)


@pytest.mark.parametrize(
    "source",
    [*SEED_SHAPES.values(), *(p.read_text(encoding="utf-8") for p in SOURCES)],
    ids=[*SEED_SHAPES.keys(), *(p.relative_to(ROOT).as_posix() for p in SOURCES)],
)
def test_seeded_text_is_what_libcst_writes(source: str) -> None:
    """Seeded from the source text, each statement reads as libcst writes it out."""
    module, text, _ = _seeded(source)
    for statement in module.body:
        assert text.of(module, statement) == StatementText().of(module, statement)
    assert text.module(module) == module.code


def test_sources_are_seeded_unless_a_line_is_in_doubt() -> None:
    seeded = {name: _seeded(source)[2] for name, source in SEED_SHAPES.items()}
    assert seeded["decorators and comments"]
    assert seeded["strings that look like lines"]
    assert seeded["semicolons and parentheses"]
    assert seeded["form feed and lone cr"]
    assert seeded["crlf"]
    assert seeded["footer"]
    assert not seeded["no trailing newline"]  # its last token is dropped, not seeded
    assert not seeded["backslash after the at"]  # CPython's line is the decorator's
    assert not seeded["empty"]  # nothing to seed
    with_code = [p for p in SOURCES if cst.parse_module(p.read_bytes()).body]
    assert all(_seeded(p.read_text(encoding="utf-8"))[2] for p in with_code)


def test_a_wrong_first_line_seeds_nothing() -> None:
    source = SEED_SHAPES["decorators and comments"]
    module, _, _ = _seeded(source)
    positions = (3, 5, 15)
    assert StatementText().seed(module, module.code, positions)
    for moved in ((2, 5, 15), (4, 5, 15), (3, 4, 15), (3, 6, 15), (3, 5, 14), (3, 5, 16)):
        assert not StatementText().seed(module, module.code, moved), moved
    assert not StatementText().seed(module, module.code, (3, 5))


@pytest.mark.parametrize(
    ("source", "right", "wrong"),
    [
        # the claimed line is indented: the footer of the function before
        ("def f():\n    pass\n    # in f\nb = 2\n", (1, 4), (1, 3)),
        # a decorated definition claimed at its ``def`` line
        ("a = 1\n@dec\ndef f(): pass\n", (1, 2), (1, 3)),
        # its leading comment line claimed to be another line
        ("a = (\n1\n)\n# c\nb = 2\n", (1, 5), (1, 3)),
    ],
)
def test_each_check_of_a_seed_stops_a_wrong_line(
    source: str, right: tuple[int, ...], wrong: tuple[int, ...]
) -> None:
    module = cst.parse_module(source)
    assert StatementText().seed(module, source, right)
    assert not StatementText().seed(module, source, wrong)
