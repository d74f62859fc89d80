"""What ``unjam probe`` costs a test suite: a generated FastAPI app and a suite of
requests (each route awaits many times: many event-loop callbacks), run with and
without the probe, in turns; the fastest of each counts.

    python bench/probe.py [--requests N] [--repeat R]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

APP = """\
import anyio
from fastapi import FastAPI

app = FastAPI()


@app.get("/busy/{n}")
async def busy(n: int) -> dict:
    for _ in range(n):
        await anyio.sleep(0)
    return {"n": n}
"""

TESTS = """\
from fastapi.testclient import TestClient

from app import app

client = TestClient(app)


def test_requests() -> None:
    for index in range({requests}):
        assert client.get(f"/busy/{{index % 50}}").json() == {{"n": index % 50}}
"""


def _run(folder: Path, probe: bool) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        + (["--unjam-probe"] if probe else []),
        cwd=folder,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="unjam-probe-bench-") as name:
        folder = Path(name)
        (folder / "app.py").write_text(APP)
        (folder / "test_app.py").write_text(TESTS.format(requests=args.requests))
        plain, probed = [], []
        for _ in range(args.repeat):
            plain.append(_run(folder, probe=False))
            probed.append(_run(folder, probe=True))
    base, with_probe = min(plain), min(probed)
    print(f"tests alone: {base:.2f} s; with the probe: {with_probe:.2f} s")
    print(f"overhead: {(with_probe / base - 1) * 100:.1f}%")


if __name__ == "__main__":
    main()
