"""Random FastAPI modules for the fuzz suite: routes, dependencies, helpers, methods and
untouched functions, with blocking calls in the places real code puts them (loops,
branches, ``try``/``finally``, ``with`` blocks, comprehensions, lambdas, f-strings,
nested functions) next to awaits, over a small pool of names so that names shadow,
rebind and are read before they are bound.

The suite checks what must hold for any input, whatever unjam decides: it does not
crash, what it writes compiles, a second run changes nothing more, and a function it
reports no fix in is byte for byte the same.
"""

from __future__ import annotations

import random
from collections.abc import Callable

NAMES = ("a", "b", "data", "path", "result")

BLOCKING = (
    "time.sleep(0.01)",
    "requests.get(URL, timeout=1)",
    "requests.post(URL, json={'n': 1})",
    "open(PATH).read()",
    "subprocess.run(['true'], check=False)",
    "os.listdir('.')",
    "Path(PATH).read_text()",
    "json.load(open(PATH))",
    "blocking_helper(1)",
    "self_store.load()",
)
AWAITS = (
    "await asyncio.sleep(0)",
    "await fetch_other()",
    "await client.get(URL)",
)


class _Module:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.lines: list[str] = []
        self.depth = 0

    def line(self, text: str) -> None:
        self.lines.append("    " * self.depth + text)

    def nested(self, write: Callable[[], None]) -> None:
        self.depth += 1
        write()
        self.depth -= 1

    def value(self) -> str:
        rng = self.rng
        return rng.choice(
            [
                rng.choice(BLOCKING),
                f"{rng.choice(NAMES)}",
                str(rng.randint(0, 9)),
                f"[{rng.choice(BLOCKING)} for _ in range(2)]",
                f"(lambda: {rng.choice(BLOCKING)})",
                f'f"{{{rng.choice(BLOCKING)}}}"',
                f"len(str({rng.choice(NAMES)}))",
            ]
        )

    def statements(self, count: int, budget: int, is_async: bool) -> None:
        for _ in range(count):
            self.statement(budget, is_async)

    def statement(self, budget: int, is_async: bool) -> None:
        rng = self.rng
        kinds = ["assign", "assign", "call", "call"]
        if is_async:
            kinds += ["await", "await-assign"]
        if budget > 0:
            kinds += ["if", "for", "try", "with", "def"]
        kind = rng.choice(kinds)
        name = rng.choice(NAMES)
        if kind == "assign":
            self.line(f"{name} = {self.value()}")
        elif kind == "call":
            self.line(rng.choice(BLOCKING))
        elif kind == "await":
            self.line(rng.choice(AWAITS))
        elif kind == "await-assign":
            self.line(f"{name} = {rng.choice(AWAITS)}")
        elif kind == "if":
            self.line(f"if {rng.choice(NAMES)}:")
            self.nested(lambda: self.statements(rng.randint(1, 2), budget - 1, is_async))
            if rng.random() < 0.4:
                self.line("else:")
                self.nested(lambda: self.statements(1, budget - 1, is_async))
        elif kind == "for":
            self.line(f"for {name} in range(2):")
            self.nested(lambda: self.statements(rng.randint(1, 2), budget - 1, is_async))
        elif kind == "try":
            self.line("try:")
            self.nested(lambda: self.statements(rng.randint(1, 2), budget - 1, is_async))
            if rng.random() < 0.5:
                self.line("except OSError:")
                self.nested(lambda: self.line(rng.choice(["raise", "pass", f"{name} = None"])))
            else:
                self.line("finally:")
                self.nested(lambda: self.statements(1, budget - 1, is_async))
        elif kind == "with":
            self.line(f"with open(PATH) as {rng.choice(['fh', name])}:")
            self.nested(lambda: self.statements(rng.randint(1, 3), budget - 1, is_async))
        else:
            self.line(f"def {rng.choice(['inner', 'sleep', 'requests'])}():")
            self.nested(lambda: self.line(f"return {self.value()}"))

    def function(self, index: int) -> None:
        rng = self.rng
        shape = rng.choice(["route", "route", "route", "dependency", "helper", "plain", "method"])
        if shape == "method":
            self.line(f"class Service{index}:")
            self.depth += 1
            self.line("def __init__(self) -> None:")
            self.nested(lambda: self.line("self.session = requests.Session()"))
            self.line("")
            self.line(f"async def run(self, {rng.choice(NAMES)}=None):")
            self.nested(lambda: self.statements(rng.randint(1, 4), 2, True))
            self.depth -= 1
        elif shape == "helper":
            self.line(f"def helper_{index}({rng.choice(NAMES)}=None):")
            self.nested(lambda: self.statements(rng.randint(1, 3), 1, False))
        elif shape == "plain":
            self.line(f"def untouched_{index}(x):")
            self.nested(lambda: self.line("return [x * 2 for x in range(x)]"))
        else:
            route = shape == "route"
            method = rng.choice(["get", "post"])
            decorator = f'@router.{method}("/r{index}")' if route else ""
            if decorator:
                self.line(decorator)
            parameters = "db=Depends(dependency_0)" if route and rng.random() < 0.3 else ""
            self.line(f"async def {'route' if route else 'dependency'}_{index}({parameters}):")
            self.nested(lambda: self.statements(rng.randint(1, 5), 2, True))
            self.nested(lambda: self.line(f"return {rng.choice(NAMES)}"))
        self.line("")
        self.line("")


PRELUDE = """\
import asyncio
import json
import os
import subprocess
import time
from pathlib import Path

import httpx
import requests
from fastapi import APIRouter, Depends

router = APIRouter()
URL = "http://127.0.0.1:9"
PATH = "/dev/null"
client = httpx.AsyncClient()
self_store = None


def blocking_helper(n):
    time.sleep(n)
    return n


async def fetch_other():
    return 1


async def dependency_0():
    return 1


"""


def module(seed: int, functions: int = 6) -> str:
    rng = random.Random(seed)
    written = _Module(rng)
    for index in range(1, functions + 1):
        written.function(index)
    return PRELUDE + "\n".join(written.lines).rstrip() + "\n"
