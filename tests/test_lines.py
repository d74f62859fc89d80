"""Line numbers of rewritten code carried back to the user's file."""

from __future__ import annotations

from unjam.pipeline.lines import LineMap


def test_lines_after_an_insertion_map_back() -> None:
    lines = LineMap()
    before = "import os\n\n\nasync def f():\n    return 1\n"
    after = "import os\nimport httpx\n\nX = 1\n\n\nasync def f():\n    return 1\n"
    lines.rewritten(before, after)
    assert lines.original(7) == 4  # async def f
    assert lines.original(8) == 5
    assert lines.original(1) == 1
    assert lines.original(2) in (1, 2)  # an inserted line sits where it was inserted


def test_two_rewrites_compose() -> None:
    lines = LineMap()
    first, second, third = "a\nb\nc\n", "a\nnew\nb\nc\n", "a\nnew\nb\nmore\nc\n"
    lines.rewritten(first, second)
    lines.rewritten(second, third)
    assert lines.original(5) == 3  # c
    assert lines.original(3) == 2  # b


def test_no_rewrite_is_identity() -> None:
    assert LineMap().original(42) == 42


def test_lines_are_the_lines_python_counts() -> None:
    """A form feed or U+2028 in the code is not a line break: lines after it keep
    their numbers."""
    lines = LineMap()
    lines.rewritten("a\n\x0c\nb\n", "a\n\x0c\nnew\nb\n")
    assert lines.original(4) == 3  # b
    lines = LineMap()
    lines.rewritten("a\n# x\u2028y\nb\nc\n", "a\n# x\u2028y\nb\nnew\nc\n")
    assert lines.original(5) == 4  # c
    assert lines.original(3) == 3  # b
