"""A trusted parse must build the tree libcst's own parse builds, skip only libcst's node
checks, only while it parses, and only in the thread that parses."""

from __future__ import annotations

import threading
from pathlib import Path

import libcst as cst
import pytest
from libcst._nodes.base import CSTNode

from unjam._speed import trusted_parse
from unjam._speed.trusted_parse import parse_trusted
from unjam.pipeline.source import SourceError, parse_source

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "fixtures").rglob("*.py")) + sorted((ROOT / "src").rglob("*.py"))
ORIGINAL_POST_INIT = CSTNode.__post_init__


def test_the_skip_is_available_with_the_installed_libcst() -> None:
    # Otherwise every other test here would compare libcst's parse with itself.
    assert trusted_parse._skippable()


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_trusted_parse_builds_the_same_tree(path: Path) -> None:
    data = path.read_bytes()
    trusted = parse_trusted(data)
    checked = cst.parse_module(data)
    assert trusted.deep_equals(checked)
    assert trusted.bytes == data == checked.bytes
    assert CSTNode.__post_init__ is ORIGINAL_POST_INIT


def test_node_checks_are_skipped_during_the_parse_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: cst.Name) -> None:
        raise cst.CSTValidationError("checked")

    monkeypatch.setattr(cst.Name, "_validate", refuse)
    parse_trusted(b"x = 1\n")  # would raise if Name were checked
    with pytest.raises(cst.CSTValidationError):
        cst.parse_module(b"x = 1\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("x")  # built by hand after the parse: checked again


def test_nodes_another_thread_builds_meanwhile_are_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[BaseException | None] = []

    def build_elsewhere() -> None:
        try:
            cst.Name("")  # an empty name fails libcst's check
        except cst.CSTValidationError as error:
            built.append(error)
        else:
            built.append(None)

    original_parse = cst.parse_module

    def parse_while_another_thread_builds(data: bytes) -> cst.Module:
        other = threading.Thread(target=build_elsewhere)
        other.start()
        other.join()
        return original_parse(data)

    monkeypatch.setattr(cst, "parse_module", parse_while_another_thread_builds)
    parse_trusted(b"x = 1\n")
    assert built and isinstance(built[0], cst.CSTValidationError)


def test_a_failed_parse_restores_the_checks() -> None:
    with pytest.raises(cst.ParserSyntaxError):
        parse_trusted(b"def (:\n")
    assert CSTNode.__post_init__ is ORIGINAL_POST_INIT
    with pytest.raises(cst.CSTValidationError):
        cst.Name("")


def test_parse_source_trusts_only_what_python_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: cst.Name) -> None:
        raise cst.CSTValidationError("checked")

    monkeypatch.setattr(cst.Name, "_validate", refuse)
    parse_source(b"x = 1\n", "m.py", python_accepts=True)
    with pytest.raises(SourceError):  # libcst's check failing, reported as a bad file
        parse_source(b"x = 1\n", "m.py")


def test_a_libcst_whose_post_init_does_more_keeps_its_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def post_init(self: CSTNode) -> None:
        self._validate()
        self._extra = True  # type: ignore[attr-defined]

    post_init.__qualname__ = "CSTNode.__post_init__"
    monkeypatch.setattr(trusted_parse, "_ORIGINAL_POST_INIT", post_init)
    trusted_parse._skippable.cache_clear()
    try:
        assert not trusted_parse._skippable()
    finally:
        monkeypatch.undo()
        trusted_parse._skippable.cache_clear()
    assert trusted_parse._skippable()
