"""The type model: receivers of project classes and catalog types resolve to what they
run, through attributes, annotations, dependencies, instances and the MRO; receivers
of unknown type resolve to nothing, whatever their methods are called."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import analyse, blocking, blocking_names, project_of, write_tree


def test_client_set_in_init_is_followed_through_self(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "svc.py": """
                import boto3

                class Store:
                    def __init__(self, table: str) -> None:
                        self.table = table
                        self.client = boto3.client("dynamodb")

                    async def put(self, item: dict) -> None:
                        self.client.put_item(TableName=self.table, Item=item)

                    async def name(self) -> str:
                        return self.table.upper()
            """
        },
    )
    assert blocking_names(project, "svc.Store.put") == ["boto3.client.put_item"]
    assert blocking_names(project, "svc.Store.name") == []


def test_the_chain_through_methods_is_shown(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/security.py": """
                import hashlib

                class PasswordHelper:
                    def hash(self, password: str) -> str:
                        return self._derive(password)

                    def _derive(self, password: str) -> str:
                        return hashlib.pbkdf2_hmac("sha256", password.encode(), b"s", 1).hex()
            """,
            "app/users.py": """
                from app.security import PasswordHelper

                class UserService:
                    password_helper: PasswordHelper

                    async def register(self, password: str) -> str:
                        return self.password_helper.hash(password)
            """,
        },
    )
    (effect,) = blocking(project, "app.users.UserService.register")
    assert effect.name == "hashlib.pbkdf2_hmac"
    assert effect.via == (
        "app.security.PasswordHelper.hash",
        "app.security.PasswordHelper._derive",
    )


@pytest.mark.parametrize(
    "receiver",
    [
        "repo: ItemRepo",
        "repo: ItemRepo | None",
        "repo: Optional[ItemRepo]",
        "repo: Annotated[ItemRepo, Depends()]",
        "repo: ItemRepo = Depends()",
        "repo=Depends(get_repo)",
        "repo=Depends(make_repo)",
    ],
)
def test_parameters_of_a_project_class(tmp_path: Path, receiver: str) -> None:
    project = project_of(
        tmp_path,
        {
            "m.py": f"""
                from typing import Annotated, Optional
                from fastapi import Depends

                class BaseRepo:
                    def load(self) -> str:
                        with open("/etc/hostname") as fh:
                            return fh.read()

                class ItemRepo(BaseRepo):
                    pass

                def get_repo() -> ItemRepo:
                    return ItemRepo()

                def make_repo():
                    repo = ItemRepo()
                    yield repo

                async def route({receiver}) -> str:
                    return repo.load()
            """
        },
    )
    assert blocking_names(project, "m.route") == ["builtins.open"]


def test_generator_dependency_yielding_a_session(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "m.py": """
                from fastapi import Depends
                from sqlalchemy.orm import sessionmaker

                SessionLocal = sessionmaker()

                def generate_session():
                    session = SessionLocal()
                    try:
                        yield session
                    finally:
                        session.close()

                async def route(session=Depends(generate_session)):
                    return session.execute("select 1")
            """
        },
    )
    assert blocking_names(project, "m.route") == ["sqlalchemy.orm.Session.execute"]


def test_module_level_instance_imported_elsewhere(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "app/__init__.py": "from app.storage import storage\n",
            "app/storage.py": """
                import shutil

                class LocalStorage:
                    def remove(self, path: str) -> None:
                        shutil.rmtree(path)

                storage = LocalStorage()
            """,
            "app/direct.py": """
                from app.storage import storage

                async def drop(path: str) -> None:
                    storage.remove(path)
            """,
            "app/reexported.py": """
                from app import storage

                async def drop(path: str) -> None:
                    storage.remove(path)
            """,
        },
    )
    assert blocking_names(project, "app.direct.drop") == ["shutil.rmtree"]
    assert blocking_names(project, "app.reexported.drop") == ["shutil.rmtree"]


def test_subclass_of_a_catalog_type_blocks_like_it(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "m.py": """
                import httpx

                class Api(httpx.Client):
                    def health(self) -> bool:
                        return True

                async def call(api: Api) -> None:
                    api.get("/x")
                    api.health()
            """
        },
    )
    assert blocking_names(project, "m.call") == ["httpx.Client.get"]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import git\n    git.Repo('.').git.log()", ["git.Repo", "git.cmd.Git.log"]),
        ("from git import Repo\n    Repo.clone_from('u', 'p')", ["git.Repo.clone_from"]),
        (
            "from pwdlib import PasswordHash\n    PasswordHash.recommended().hash('pw')",
            ["pwdlib.PasswordHash.hash"],
        ),
        (
            "import openai\n    openai.OpenAI().chat.completions.create(model='m')",
            ["openai.OpenAI.create"],
        ),
        (
            "import zipfile\n    zipfile.ZipFile('a.zip').extractall('d')",
            ["zipfile.ZipFile", "zipfile.ZipFile.extractall"],
        ),
        (
            "from PIL import Image\n    Image.new('RGB', (1, 1)).thumbnail((1, 1))",
            ["PIL.Image.Image.thumbnail"],
        ),
        ("import jinja2\n    jinja2.Template('x').render()", ["jinja2.Template.render"]),
        (
            "import argon2\n    argon2.PasswordHasher().verify('h', 'p')",
            ["argon2.PasswordHasher.verify"],
        ),
    ],
)
def test_catalog_types(tmp_path: Path, code: str, expected: list[str]) -> None:
    imports, _, body = code.partition("\n")
    project = project_of(tmp_path, {"m.py": f"{imports}\nasync def h():\n{body}\n"})
    assert sorted(blocking_names(project, "m.h")) == sorted(expected)


def test_unknown_receivers_resolve_to_nothing(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "m.py": """
                class Holder:
                    def __init__(self, thing, flag: bool):
                        self.thing = thing  # unannotated parameter
                        self.mixed = open("/dev/null") if flag else None
                        if flag:
                            self.mixed = Holder(None, False)

                    async def use(self):
                        self.thing.read()
                        self.mixed.read()
                        self.missing.sleep(1)

                async def route(request, plugin, name: str):
                    getattr(plugin, name).read()
                    plugin.sleep(1)
                    request.app.state.db.query("x")
            """
        },
    )
    assert blocking_names(project, "m.Holder.use") == []
    assert blocking_names(project, "m.route") == []


def test_a_method_call_in_a_comment_or_string_changes_nothing(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "m.py": '''
                class Repo:
                    def load(self) -> str:
                        """self.client.put_item(...) would block"""
                        return "x"  # time.sleep(1)

                async def route(repo: Repo) -> str:
                    return repo.load()
            '''
        },
    )
    assert blocking_names(project, "m.route") == []


def test_extra_blocking_names_methods_of_types(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "m.py": """
                from vendor.pdf import Renderer
                from vendor import Client

                async def h(client: Client):
                    Renderer().render("x")
                    Renderer().close()
                    client.upload("x")
                    client._private()
            """
        },
    )
    plain = analyse(root, use_prefilter=False).project
    assert blocking_names(plain, "m.h") == []
    extra = {"vendor.pdf.Renderer.render": "cpu", "vendor.Client.*": "network"}
    extended = analyse(root, extra_blocking=extra).project
    assert [(e.name, e.category) for e in extended.blocking("m.h")] == [
        ("vendor.pdf.Renderer.render", "cpu"),
        ("vendor.Client.upload", "network"),
    ]


def test_awaited_method_of_an_injected_object_counts_as_a_use(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "m.py": """
                import time
                from fastapi import FastAPI

                app = FastAPI()

                class Checker:
                    async def __call__(self) -> bool:
                        time.sleep(0.1)
                        return True

                checker = Checker()

                @app.get("/", dependencies=[])
                async def route(c: Checker) -> bool:
                    return await c.__call__()
            """
        },
    )
    used = [(r.how, r.location.line) for r in project.used_by("m.Checker.__call__")]
    assert used == [("await", 15)]
