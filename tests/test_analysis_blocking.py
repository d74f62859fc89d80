"""What blocks, what awaits, what is loop-bound, and who uses a function."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.helpers import blocking, blocking_names, function, project_of

# (imports, body of an async def, expected blocking call, expected category)
BLOCKING_CASES = [
    ("import time", "time.sleep(1)", "time.sleep", "sleep"),
    ("from time import sleep as nap", "nap(1)", "time.sleep", "sleep"),
    ("import requests as rq", "rq.get('u')", "requests.get", "http"),
    ("from requests import post", "post('u', data=b'')", "requests.post", "http"),
    ("import requests", "requests.request('GET', 'u')", "requests.request", "http"),
    ("import requests", "s = requests.Session()\n    s.get('u')", "requests.Session.get", "http"),
    ("import urllib.request", "urllib.request.urlopen('u')", "urllib.request.urlopen", "http"),
    ("from urllib.request import urlopen", "urlopen('u')", "urllib.request.urlopen", "http"),
    (
        "import http.client",
        "c = http.client.HTTPSConnection('h')\n    c.request('GET', '/')",
        "http.client.HTTPConnection.request",
        "http",
    ),
    ("import socket", "socket.create_connection(('h', 1))", "socket.create_connection", "network"),
    ("import socket", "s = socket.socket()\n    s.recv(10)", "socket.socket.recv", "network"),
    ("import subprocess", "subprocess.run(['ls'])", "subprocess.run", "subprocess"),
    (
        "import subprocess",
        "p = subprocess.Popen(['ls'])\n    p.wait()",
        "subprocess.Popen.wait",
        "subprocess",
    ),
    ("import os", "os.system('ls')", "os.system", "subprocess"),
    ("import os", "os.popen('ls')", "os.popen", "subprocess"),
    ("import os", "os.spawnlp(os.P_WAIT, 'ls', 'ls')", "os.spawnlp", "subprocess"),
    ("import os", "os.waitpid(1, 0)", "os.waitpid", "subprocess"),
    ("", "open('f')", "builtins.open", "file"),
    ("import io", "io.open('f')", "io.open", "file"),
    ("import os", "os.fdopen(3)", "os.fdopen", "file"),
    ("", "with open('f') as fh:\n        fh.read()", "builtins.file.read", "file"),
    ("", "fh = open('f', 'w')\n    fh.write('x')", "builtins.file.write", "file"),
    ("from pathlib import Path", "Path('x').read_text()", "pathlib.Path.read_text", "file"),
    ("import pathlib", "p = pathlib.Path('x')\n    p.parent.mkdir()", "pathlib.Path.mkdir", "file"),
    ("import os", "os.stat('x')", "os.stat", "file"),
    ("import os", "os.listdir('.')", "os.listdir", "file"),
    ("import os", "os.scandir('.')", "os.scandir", "file"),
    ("import os", "os.remove('x')", "os.remove", "file"),
    ("import os", "os.rename('a', 'b')", "os.rename", "file"),
    ("import os", "os.makedirs('a')", "os.makedirs", "file"),
    ("import os.path", "os.path.exists('a')", "os.path.exists", "file"),
    ("from os import path", "path.isfile('a')", "os.path.isfile", "file"),
    ("import os", "os.path.getsize('a')", "os.path.getsize", "file"),
    ("import os", "os.path.realpath('a')", "os.path.realpath", "file"),
    ("import shutil", "shutil.copy('a', 'b')", "shutil.copy", "file"),
    ("import shutil", "shutil.rmtree('a')", "shutil.rmtree", "file"),
    ("", "input('?')", "builtins.input", "console"),
    (
        "import threading",
        "lock = threading.Lock()\n    lock.acquire()",
        "threading.Lock.acquire",
        "lock",
    ),
    ("import sqlite3", "sqlite3.connect('db')", "sqlite3.connect", "database"),
    (
        "import sqlite3",
        "c = sqlite3.connect('db')\n    cur = c.cursor()\n    cur.fetchall()",
        "sqlite3.Cursor.fetchall",
        "database",
    ),
    (
        "import psycopg2",
        "conn = psycopg2.connect('')\n    conn.cursor().execute('x')",
        "psycopg2.cursor.execute",
        "database",
    ),
    (
        "import pymysql",
        "conn = pymysql.connect()\n    conn.cursor().fetchone()",
        "pymysql.cursors.Cursor.fetchone",
        "database",
    ),
    ("import redis", "r = redis.Redis()\n    r.get('k')", "redis.Redis.get", "database"),
    (
        "from redis import Redis",
        "r = Redis.from_url('u')\n    r.set('k', 1)",
        "redis.Redis.set",
        "database",
    ),
    (
        "import pymongo",
        "c = pymongo.MongoClient()\n    c.db.users.find_one({})",
        "pymongo.collection.Collection.find_one",
        "database",
    ),
    (
        "import boto3",
        "s3 = boto3.client('s3')\n    s3.put_object(Bucket='b')",
        "boto3.client.put_object",
        "network",
    ),
    ("import smtplib", "smtplib.SMTP('h')", "smtplib.SMTP", "network"),
    (
        "import smtplib",
        "s = smtplib.SMTP('h')\n    s.sendmail('a', 'b', 'c')",
        "smtplib.SMTP.sendmail",
        "network",
    ),
    (
        "from passlib.context import CryptContext",
        "ctx = CryptContext(schemes=['bcrypt'])\n    ctx.hash('pw')",
        "passlib.context.CryptContext.hash",
        "cpu",
    ),
    ("from passlib.hash import bcrypt", "bcrypt.hash('pw')", "passlib.hash.bcrypt.hash", "cpu"),
    ("import bcrypt", "bcrypt.hashpw(b'pw', bcrypt.gensalt())", "bcrypt.hashpw", "cpu"),
    ("import pandas as pd", "pd.read_csv('f.csv')", "pandas.read_csv", "file"),
    ("import httpx", "c = httpx.Client()\n    c.get('u')", "httpx.Client.get", "http"),
    (
        "import httpx2",
        "with httpx2.Client() as c:\n        c.post('u')",
        "httpx.Client.post",
        "http",
    ),
    ("import httpx", "httpx.get('u')", "httpx.get", "http"),
]


@pytest.mark.parametrize(("imports", "body", "name", "category"), BLOCKING_CASES)
def test_blocking_call_is_recognised(
    tmp_path: Path, imports: str, body: str, name: str, category: str
) -> None:
    source = f"{imports}\n\nasync def handler():\n    {body}\n"
    project = project_of(tmp_path, {"m.py": source})
    found = {(e.name, e.category) for e in project.blocking("m.handler")}
    assert (name, category) in found


NOT_BLOCKING = [
    ("import os", "os.path.join('a', 'b')"),
    ("import os.path", "os.path.basename('a/b')"),
    ("import os", "os.getenv('X')"),
    ("from pathlib import Path", "Path('a') / 'b'"),
    ("from pathlib import Path", "Path('a').with_suffix('.txt').name"),
    ("import time", "time.time()"),
    ("import time", "def sleep(x): ...\n    sleep(1)"),
    ("import requests", "requests = object()\n    requests.get('u')"),
    ("", "def open(p): ...\n    open('f')"),
    (
        "from sqlalchemy.ext.asyncio import AsyncSession",
        "db: AsyncSession = None\n    await db.execute('x')",
    ),
    ("import httpx", "async with httpx.AsyncClient() as c:\n        await c.get('u')"),
    ("import time", "f = lambda: time.sleep(1)"),
    ("import time", "def inner():\n        time.sleep(1)"),
]


@pytest.mark.parametrize(("imports", "body"), NOT_BLOCKING)
def test_not_blocking(tmp_path: Path, imports: str, body: str) -> None:
    source = f"{imports}\n\nasync def handler():\n    {body}\n"
    project = project_of(tmp_path, {"m.py": source})
    assert blocking_names(project, "m.handler") == []


def test_shadowed_sleep_at_module_level(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "m.py": """
                from time import sleep
                def sleep(seconds):  # the project's own sleep shadows the import
                    return seconds
                async def handler():
                    sleep(1)
            """
        },
    )
    assert blocking_names(project, "m.handler") == []


def test_sqlalchemy_session_through_annotations_and_depends(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/db.py": """
                from typing import Annotated, Iterator
                from fastapi import Depends
                from sqlalchemy import create_engine
                from sqlalchemy.orm import Session, sessionmaker
                engine = create_engine("sqlite://")
                SessionLocal = sessionmaker(bind=engine)
                def get_db() -> Iterator[Session]:
                    db = SessionLocal()
                    try:
                        yield db
                    finally:
                        db.close()
                SessionDep = Annotated[Session, Depends(get_db)]
            """,
            "app/routes.py": """
                from typing import Annotated, Optional
                from fastapi import Depends
                from sqlalchemy.orm import Session
                from app.db import SessionDep, SessionLocal, engine, get_db

                async def plain(db: Session = Depends(get_db)):
                    return db.query(User).filter(User.id == 1).all()

                async def annotated(db: Annotated[Session, Depends(get_db)]):
                    db.execute("select 1")

                async def alias(db: SessionDep):
                    db.commit()

                async def optional(db: Optional[Session] = None):
                    db.scalars("x")

                async def union(db: Session | None = None):
                    db.get(User, 1)

                async def made_here():
                    with SessionLocal() as db:
                        db.flush()

                async def engine_use():
                    with engine.connect() as conn:
                        conn.execute("select 1")

                async def lazy_only(db: SessionDep):
                    q = db.query(User).filter(User.id == 1)
                    return q
            """,
        },
    )
    assert blocking_names(project, "app.routes.plain") == ["sqlalchemy.orm.Query.all"]
    assert blocking_names(project, "app.routes.annotated") == ["sqlalchemy.orm.Session.execute"]
    assert blocking_names(project, "app.routes.alias") == ["sqlalchemy.orm.Session.commit"]
    assert blocking_names(project, "app.routes.optional") == ["sqlalchemy.orm.Session.scalars"]
    assert blocking_names(project, "app.routes.union") == ["sqlalchemy.orm.Session.get"]
    assert blocking_names(project, "app.routes.made_here") == ["sqlalchemy.orm.Session.flush"]
    assert blocking_names(project, "app.routes.engine_use") == [
        "sqlalchemy.engine.Engine.connect",
        "sqlalchemy.engine.Connection.execute",
    ]
    # Building a query does no I/O; only running it does.
    assert blocking_names(project, "app.routes.lazy_only") == []


def test_interprocedural_chain_across_modules(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/io_helpers.py": """
                def read_config(path):
                    with open(path) as fh:
                        return fh.read()
            """,
            "pkg/settings.py": """
                from pkg.io_helpers import read_config
                def load_settings():
                    return read_config("settings.toml")
                async def async_helper():
                    return read_config("x")
            """,
            "pkg/routes.py": """
                from pkg import settings
                async def handler():
                    settings.load_settings()
                async def awaits_async_helper():
                    await settings.async_helper()
            """,
        },
    )
    [effect] = blocking(project, "pkg.routes.handler")
    assert effect.name == "builtins.open"
    assert effect.via == ("pkg.settings.load_settings", "pkg.io_helpers.read_config")
    assert effect.location.line == 3
    # An async helper blocks inside itself; awaiting it is not a blocking call here.
    assert blocking_names(project, "pkg.routes.awaits_async_helper") == []
    assert blocking_names(project, "pkg.settings.async_helper") == ["builtins.open"]


def test_recursive_helpers_terminate(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "m.py": """
                import time
                def a(n):
                    return b(n - 1) if n else time.sleep(1)
                def b(n):
                    return a(n)
                async def handler():
                    a(3)
            """
        },
    )
    assert blocking_names(project, "m.handler") == ["time.sleep"]


def test_await_points_and_nesting(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "m.py": """
                import time
                async def outer(stream, lock):
                    await stream.read()
                    async for x in stream:
                        pass
                    async with lock:
                        pass
                    values = [y async for y in stream]
                    def nested():
                        time.sleep(1)
                    async def nested_async():
                        await stream.read()
                    time.sleep(2)

                async def never():
                    return 1
            """
        },
    )
    outer = function(project, "m.outer")
    assert outer.awaits == 4
    assert [e.location.line for e in project.blocking("m.outer")] == [13]
    assert blocking_names(project, "m.outer.<locals>.nested") == ["time.sleep"]
    assert function(project, "m.outer.<locals>.nested_async").awaits == 1
    assert function(project, "m.never").awaits == 0


def test_decorator_and_default_calls_belong_to_the_enclosing_scope(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "m.py": """
                import time
                def deco(f):
                    return f
                async def outer():
                    @deco
                    async def inner(x=time.sleep(0)):
                        return x
                    return inner
            """
        },
    )
    assert blocking_names(project, "m.outer") == ["time.sleep"]
    assert blocking_names(project, "m.outer.<locals>.inner") == []


def test_loop_bound_calls_and_context_vars(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "m.py": """
                import asyncio
                from contextvars import ContextVar
                request_id: ContextVar[str] = ContextVar("request_id")
                current = ContextVar("current")
                async def spawns():
                    asyncio.create_task(work())
                async def loop_user():
                    loop = asyncio.get_running_loop()
                    loop.run_in_executor(None, print)
                async def sets():
                    current.set("x")
                async def work(): ...
            """
        },
    )
    kinds = project.kinds()
    plans = {
        q: project.plan(project.functions[q], frozenset(kinds.get(q, ())))
        for q in project.functions
    }
    assert [e.name for e in plans["m.spawns"].loop_bound] == ["asyncio.create_task"]
    assert [e.name for e in plans["m.loop_user"].loop_bound] == [
        "asyncio.get_running_loop",
        "asyncio.AbstractEventLoop.run_in_executor",
    ]
    assert [e.name for e in plans["m.sets"].context_writes] == ["contextvars.ContextVar.set"]


def test_references_record_how_functions_are_used(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/routes.py": """
                from fastapi import APIRouter, Depends
                router = APIRouter()
                async def dep(): ...
                @router.get("/")
                async def endpoint(d=Depends(dep)): ...
            """,
            "pkg/jobs.py": """
                import asyncio
                from pkg.routes import endpoint, dep
                async def caller():
                    await endpoint()
                def scheduler():
                    asyncio.run(endpoint())
                handlers = [dep]
            """,
        },
    )
    uses = {(r.how, r.path, r.location.line) for r in project.references["pkg.routes.endpoint"]}
    assert ("await", "pkg/jobs.py", 4) in uses
    assert ("call", "pkg/jobs.py", 6) in uses
    assert {(r.how, r.path) for r in project.references["pkg.routes.dep"]} == {
        ("value", "pkg/jobs.py")
    }


def test_extra_blocking_from_config(tmp_path: Path) -> None:
    from tests.helpers import analyse, write_tree

    root = write_tree(
        tmp_path,
        {"m.py": "from vendor.pdf import render\nasync def h():\n    render('x')\n"},
    )
    plain = analyse(root, use_prefilter=False).project
    extended = analyse(root, extra_blocking={"vendor.pdf.render": "cpu"}).project
    assert blocking_names(plain, "m.h") == []
    assert [(e.name, e.category) for e in extended.blocking("m.h")] == [
        ("vendor.pdf.render", "cpu")
    ]


def test_generator_expression_calls_are_marked_deferred(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "m.py": textwrap.dedent("""
            import time
            async def h(xs):
                return list(time.sleep(x) for x in xs)
        """)
        },
    )
    [effect] = blocking(project, "m.h")
    assert effect.deferred


def test_a_relinked_project_follows_reexports_as_they_now_are(tmp_path: Path) -> None:
    """Relinking after a rewrite reuses the re-export answers only while the imports and
    function names they rest on are unchanged."""
    routes = "async def stock() -> int:\n    return 1\n"
    user = "from shop import stock\n\n\nasync def count() -> int:\n    return await stock()\n"
    exporting = {"shop/__init__.py": "from .routes import stock\n", "shop/routes.py": routes}
    first = project_of(tmp_path / "a", {**exporting, "shop/user.py": user})
    assert first.canonical("shop.stock") == "shop.routes.stock"
    assert first.relinked(first.modules["shop/user.py"])._canonical is first._canonical
    plain = {"shop/__init__.py": "stock = None\n", "shop/routes.py": routes, "shop/user.py": user}
    second = project_of(tmp_path / "b", plain)
    relinked = first.relinked(second.modules["shop/__init__.py"])
    assert relinked.canonical("shop.stock") == "shop.stock"
    assert first.canonical("shop.stock") == "shop.routes.stock"


@pytest.mark.parametrize(
    ("upload", "sessions"),
    [
        ('boto3.client("s3").upload_file(path, "bucket", "key")', ["boto3.client"]),
        ('boto3.resource("s3").Bucket("bucket").upload_file(path, "key")', ["boto3.resource"]),
        ('boto3.session.Session().client("s3").upload_file(path, "bucket", "key")', []),
    ],
)
def test_clients_from_the_default_session_are_known(
    tmp_path: Path, upload: str, sessions: list[str]
) -> None:
    """boto3's default session is not thread-safe: code that makes a client from it
    must not run in several threads at once; a session of its own is fine."""
    source = textwrap.dedent(
        f"""
        import boto3

        def upload(path: str) -> None:
            {upload}

        async def store(path: str) -> None:
            upload(path)
        """
    )
    project = project_of(tmp_path, {"app.py": source})
    assert [effect.name for effect in project.default_sessions("app.store")] == sessions
    assert blocking_names(project, "app.store") != []
