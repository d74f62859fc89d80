"""Random coroutines run before and after offload-blocking: the same result, or the
same exception, or the rewrite is wrong.

Each case is a FastAPI route whose body mixes assignments, augmented assignments,
branches, loops (with ``break``/``continue``), ``try``, comprehensions, nested
functions, ``global``/``nonlocal`` declarations and a blocking ``with open(...)``
block over a small pool of names, so that names are read before they are bound, bound
only on some paths, carried from one turn of a loop to the next. Many routes share
one module, so that one unjam run checks many cases. Nothing here knows how unjam
rewrites: the check is only "same behaviour".
"""

from __future__ import annotations

import asyncio
import importlib.util
import random
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unjam.codemods.offload_blocking import OffloadBlocking

from unjam.pipeline.discovery import discover
from unjam.pipeline.runner import Runner

NAMES = ("a", "b", "c", "total")
INDENT = "    "


@dataclass
class _Writer:
    rng: random.Random
    lines: list[str]
    depth: int = 1
    loops: int = 0
    withs: int = 0  # blocking with blocks written so far

    def line(self, text: str) -> None:
        self.lines.append(INDENT * self.depth + text)

    def expression(self, in_with: bool = False) -> str:
        choices: list[Callable[[], str]] = [
            lambda: str(self.rng.randint(0, 9)),
            lambda: self.rng.choice(NAMES),
            lambda: f"{self.rng.choice(NAMES)} + {self.rng.randint(1, 3)}",
            lambda: f"sum([x + {self.rng.choice(NAMES)} for x in range(2)])",
            lambda: f"(lambda y: y * 2)({self.rng.choice(NAMES)})",
        ]
        if in_with:
            choices.append(lambda: "len(fh.read(2))")
        return self.rng.choice(choices)()

    def block(self, count: int, in_with: bool = False, budget: int = 3) -> None:
        for _ in range(count):
            self.statement(in_with, budget)

    def statement(self, in_with: bool, budget: int) -> None:
        kinds = ["assign", "assign", "augment", "if"]
        if budget > 0:
            kinds += ["for", "try", "nested"]
            if not in_with:
                kinds += ["with", "with"]
        if self.loops and not in_with:
            kinds.append("jump")
        kind = self.rng.choice(kinds)
        name = self.rng.choice(NAMES)
        if kind == "assign":
            self.line(f"{name} = {self.expression(in_with)}")
        elif kind == "augment":
            self.line(f"{name} += {self.expression(in_with)}")
        elif kind == "if":
            self.line(f"if {self.expression(in_with)} % 2:")
            self._nested(lambda: self.block(self.rng.randint(1, 2), in_with, budget - 1))
            if self.rng.random() < 0.5:
                self.line("else:")
                self._nested(lambda: self.block(self.rng.randint(1, 2), in_with, budget - 1))
        elif kind == "for":
            self.line(f"for i in range({self.rng.randint(0, 3)}):")
            self.loops += 1
            self._nested(lambda: self.block(self.rng.randint(1, 3), in_with, budget - 1))
            self.loops -= 1
        elif kind == "try":
            self.line("try:")
            self._nested(lambda: self.block(self.rng.randint(1, 2), in_with, budget - 1))
            self.line("except NameError:")
            self._nested(lambda: self.line(f"{name} = -1"))
        elif kind == "nested":
            self.line("def helper():")
            self._nested(lambda: self.line(f"return {self.rng.choice(NAMES)}"))
            self.line(f"{name} = helper()")
        elif kind == "with":
            self.withs += 1
            self.line("with open(SOURCE) as fh:")
            self._nested(lambda: self.block(self.rng.randint(1, 4), True, budget - 1))
        else:
            self.line(self.rng.choice(["break", "continue"]))

    def _nested(self, write: Callable[[], None]) -> None:
        self.depth += 1
        write()
        self.depth -= 1


def coroutine(rng: random.Random, index: int) -> str:
    """One route: a module-level one, or one made in a factory with ``nonlocal``
    names, or one with ``global`` names; always with a blocking with block."""
    writer = _Writer(rng, [])
    shape = rng.choice(["plain", "plain", "nonlocal", "global"])
    declared = rng.sample(NAMES, rng.randint(1, 2)) if shape != "plain" else []
    if declared:
        writer.line(f"{shape} {', '.join(declared)}")
    writer.line("await asyncio.sleep(0)")
    for name in NAMES:  # most names start bound: a case that fails at once tests little
        if name not in declared and rng.random() < 0.7:
            writer.line(f"{name} = {rng.randint(0, 5)}")
    writer.block(rng.randint(2, 5))
    if not writer.withs:
        writer.line("with open(SOURCE) as fh:")
        writer._nested(lambda: writer.block(rng.randint(1, 3), True))
    writer.line("seen = []")  # every name read by name: ``locals()`` is no read to unjam
    for name in NAMES:
        writer.line("try:")
        writer._nested(lambda name=name: writer.line(f"seen.append(({name!r}, {name}))"))
        writer.line("except NameError:")
        writer._nested(lambda name=name: writer.line(f"seen.append(({name!r}, None))"))
    writer.line("return seen")
    body = "\n".join(writer.lines)
    route = f'@app.get("/case{index}")\nasync def case{index}():\n{body}\n'
    if shape == "nonlocal":
        outer = "\n".join(f"    {name} = {rng.randint(0, 5)}" for name in declared)
        inner = textwrap.indent(route, INDENT)
        return (
            f"def factory{index}():\n{outer}\n\n{inner}\n    return case{index}\n\n\n"
            f"case{index} = factory{index}()\n"
        )
    if shape == "global":
        for name in declared:
            route = route.replace(f"global {name}", f"global {name}_{index}")
            route = _renamed(route, name, f"{name}_{index}")
        return (
            "\n".join(f"{name}_{index} = {rng.randint(0, 5)}" for name in declared)
            + "\n\n\n"
            + route
        )
    return route


def _renamed(code: str, old: str, new: str) -> str:
    """``code`` with the name ``old`` (a whole word) spelled ``new``."""
    import re

    return re.sub(rf"\b{old}\b", new, code)


PRELUDE = """\
import asyncio
import tempfile
from pathlib import Path

from fastapi import FastAPI

app = FastAPI()
SOURCE = Path(tempfile.mkdtemp()) / "source.txt"
SOURCE.write_text("abcdefghijklmnopqrstuvwxyz")


"""


def module(seed: int, cases: int) -> str:
    rng = random.Random(seed)
    return PRELUDE + "\n\n".join(coroutine(rng, index) for index in range(cases))


@dataclass(frozen=True)
class Outcome:
    case: str
    before: str
    after: str


def _load(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    try:
        spec.loader.exec_module(loaded)
    finally:
        del sys.modules[name]
    return loaded


def _run(function: Callable[[], Any]) -> str:
    try:
        return repr(asyncio.run(function()))
    except Exception as error:  # the exception's type is the behaviour compared
        return type(error).__name__


def differences(seed: int, cases: int, folder: Path) -> tuple[list[Outcome], int]:
    """The cases whose behaviour changed, and how many with blocks moved as a whole."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"cases_{seed}.py"
    source.write_text(module(seed, cases))
    runner = Runner((OffloadBlocking,), jobs=1, base=folder)
    analysis = runner.analyse(discover([source], base=folder).files)
    assert analysis.errors == [], analysis.errors
    [result] = [r for r in runner.transform(analysis) if r.shown == source.name]
    assert result.error is None, result.error
    rewritten = folder / f"cases_{seed}_after.py"
    rewritten.write_bytes(result.after if result.after is not None else source.read_bytes())
    moved = sum("as a whole" in site.message for site in result.sites)
    before = _load(source, f"unjam_differential_before_{seed}")
    after = _load(rewritten, f"unjam_differential_after_{seed}")
    changed = []
    for index in range(cases):
        name = f"case{index}"
        outcome = Outcome(name, _run(getattr(before, name)), _run(getattr(after, name)))
        if outcome.before != outcome.after:
            changed.append(outcome)
    return changed, moved
