"""A synthetic monorepo: packages of FastAPI route modules and plain async Python.

Deterministic for a given seed. Plain modules still use ``async def``, ``async for``,
``await`` and imports (``os``, ``json``, ``asyncio``), and some read files in sync
helpers, so a naive "has async def" pre-filter gets no free pass.
"""

from __future__ import annotations

import random
from pathlib import Path

ROUTE = '''

@router.get("/{name}/{{item_id}}")
async def get_{name}(item_id: int, db: Session = Depends(get_db)) -> dict:
    """Fetch one {name}."""
    row = db.query(Item).filter(Item.id == item_id).first()
    if row is None:
        raise HTTPException(status_code=404, detail="missing")
    return {{"id": row.id, "name": row.name}}


@router.post("/{name}/sync")
async def sync_{name}(payload: dict) -> dict:
    response = requests.post("http://127.0.0.1:9/{name}", json=payload, timeout=5)
    time.sleep(0.01)
    return response.json()


@router.get("/{name}/report")
async def report_{name}(item_id: int) -> dict:
    data = load_settings()
    await notify(item_id)
    with open("/tmp/{name}.txt") as fh:
        text = fh.read()
    return {{"data": data, "size": len(text)}}


@router.get("/{name}/fast")
async def fast_{name}(item_id: int) -> dict:
    await notify(item_id)
    return {{"id": item_id, "ok": True}}


@router.get("/{name}/plain")
def plain_{name}(db: Session = Depends(get_db)) -> list:
    return [r.id for r in db.query(Item).all()]
'''

ROUTE_HEADER = '''"""Routes for {module}."""
import time

import requests
from fastapi import APIRouter, Depends, HTTPException
from sqlalchemy.orm import Session

from {package}.deps import Item, get_db, notify
from {package}.helpers import load_settings

router = APIRouter(prefix="/{module}")
'''

DEPS = '''"""Database and notification dependencies."""
from sqlalchemy import Integer, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

engine = create_engine("sqlite://")
SessionLocal = sessionmaker(bind=engine)


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


async def notify(item_id: int) -> None:
    return None
'''

HELPERS = '''"""Settings helpers; reading the file blocks."""
import json
from pathlib import Path


def _read(path: Path) -> str:
    return path.read_text()


def load_settings() -> dict:
    return json.loads(_read(Path(__file__).with_name("settings.json")))
'''

PLAIN_FUNCTION = '''

async def process_{i}(stream, queue: asyncio.Queue) -> list:
    """Drain the stream into a list of normalised records."""
    records = []
    async for chunk in stream:
        record = {{"id": chunk.get("id"), "path": os.path.join("data", str(chunk.get("id")))}}
        if record["id"] is None:
            logger.debug("skipping %s", chunk)
            continue
        records.append(normalise_{i}(record))
        await queue.put(record)
    await asyncio.sleep(0)
    return records


def normalise_{i}(record: dict) -> dict:
    cleaned = {{key: value for key, value in record.items() if value is not None}}
    cleaned["name"] = os.path.basename(cleaned.get("path", ""))
    return json.loads(json.dumps(cleaned, sort_keys=True))


@dataclasses.dataclass
class Batch{i}:
    items: list = dataclasses.field(default_factory=list)
    size: int = {size}

    def add(self, item: dict) -> bool:
        self.items.append(item)
        return len(self.items) >= self.size

    async def flush(self, sink) -> int:
        count = len(self.items)
        for item in self.items:
            await sink.send(item)
        self.items.clear()
        return count
'''

PLAIN_HEADER = '''"""Plain async processing code."""
import asyncio
import dataclasses
import json
import logging
import os

logger = logging.getLogger(__name__)
'''

FILE_READER = """

def read_manifest(path: str) -> dict:
    with open(path) as fh:
        return json.load(fh)
"""


def generate(
    root: Path,
    packages: int = 20,
    modules_per_package: int = 100,
    seed: int = 7,
    monorepo: bool = False,
) -> int:
    """Write the tree; returns the number of modules written.

    ``monorepo``: each package is a service of its own (``services/svc_NN`` with a
    pyproject.toml); half of them name their code ``app``, as service templates do, so
    the same module names occur in many packages; every fourth has its own
    ``[tool.unjam]``.
    """
    rng = random.Random(seed)
    written = 0
    for p in range(packages):
        package = f"pkg_{p:02d}"
        folder = root / package
        if monorepo:
            service = root / "services" / f"svc_{p:02d}"
            service.mkdir(parents=True, exist_ok=True)
            config = '\n[tool.unjam]\nignore = ["requests-to-httpx"]\n' if p % 4 == 0 else ""
            (service / "pyproject.toml").write_text(f'[project]\nname = "svc-{p:02d}"\n{config}')
            package = "app" if p % 2 else package
            folder = service / package
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "__init__.py").write_text("")
        (folder / "deps.py").write_text(DEPS)
        (folder / "helpers.py").write_text(HELPERS)
        written += 3
        routes = modules_per_package // 10
        for m in range(modules_per_package - 3):
            module = f"mod_{m:03d}"
            if m < routes:
                names = [f"{module}_{k}" for k in range(rng.randint(3, 6))]
                text = ROUTE_HEADER.format(module=module, package=package)
                text += "".join(ROUTE.format(name=name) for name in names)
            else:
                text = PLAIN_HEADER + "".join(
                    PLAIN_FUNCTION.format(i=i, size=rng.randint(5, 50))
                    for i in range(rng.randint(3, 7))
                )
                if rng.random() < 0.1:
                    text += FILE_READER
            (folder / f"{module}.py").write_text(text)
            written += 1
    return written


def parse_only(root: Path, processes: int = 1) -> int:
    """The baseline: parse every file with libcst, nothing else; in ``processes``
    processes (as unjam with ``--jobs``), larger files first."""
    import libcst as cst

    paths = sorted(root.rglob("*.py"), key=lambda path: -path.stat().st_size)
    if processes <= 1:
        for path in paths:
            cst.parse_module(path.read_bytes())
        return len(paths)
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(processes) as pool:
        return sum(pool.imap_unordered(_parse_file, paths, chunksize=4))


def _parse_file(path: Path) -> int:
    import libcst as cst

    cst.parse_module(path.read_bytes())
    return 1
