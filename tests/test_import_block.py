"""Imports a rewrite adds go where ruff's isort rules (and isort) sort them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst
import pytest
from unjam.codemods._import_block import Needed, place_imports
from unjam.codemods._unused_imports import drop_unused_imports

from tests.helpers import ruff

ANYIO = Needed("anyio")
FUNCTOOLS = Needed("functools")
ITERATOR = Needed("collections.abc", "Iterator")

CASES = {
    "stdlib only": (
        """\
        import os
        import time

        app = 1
        """,
        [ANYIO, FUNCTOOLS],
        """\
        import functools
        import os
        import time

        import anyio

        app = 1
        """,
    ),
    "mixed sections": (
        """\
        import os
        from pathlib import Path

        import httpx
        from fastapi import FastAPI

        from app.db import session
        """,
        [ANYIO, FUNCTOOLS],
        """\
        import functools
        import os
        from pathlib import Path

        import anyio
        import httpx
        from fastapi import FastAPI

        from app.db import session
        """,
    ),
    "first party only": (
        """\
        from app.db import session


        def f():
            return session
        """,
        [ANYIO],
        """\
        import anyio

        from app.db import session


        def f():
            return session
        """,
    ),
    "parenthesised from import": (
        """\
        from collections.abc import (
            AsyncIterator,
            Callable,
        )

        import fastapi
        """,
        [ITERATOR],
        """\
        from collections.abc import (
            AsyncIterator,
            Callable,
            Iterator,
        )

        import fastapi
        """,
    ),
    "future and docstring": (
        '''\
        """The service."""

        from __future__ import annotations

        import fastapi
        ''',
        [ANYIO],
        '''\
        """The service."""

        from __future__ import annotations

        import anyio
        import fastapi
        ''',
    ),
    "no imports": (
        '''\
        """The service."""


        def f():
            return 1
        ''',
        [ANYIO],
        '''\
        """The service."""

        import anyio


        def f():
            return 1
        ''',
    ),
    "optional import left alone": (
        """\
        try:
            import ujson as json
        except ImportError:
            import json
        """,
        [ANYIO],
        """\
        import anyio

        try:
            import ujson as json
        except ImportError:
            import json
        """,
    ),
    "type checking block left alone": (
        """\
        import os
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from app.db import Session
        """,
        [ANYIO],
        """\
        import os
        from typing import TYPE_CHECKING

        import anyio

        if TYPE_CHECKING:
            from app.db import Session
        """,
    ),
    "already imported": (
        """\
        from collections.abc import Iterator

        import anyio
        """,
        [ANYIO, ITERATOR],
        """\
        from collections.abc import Iterator

        import anyio
        """,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_imports_are_placed_like_isort(name: str, tmp_path: Path) -> None:
    before, needed, expected = CASES[name]
    module = cst.parse_module(textwrap.dedent(before))
    after = place_imports(module, needed, frozenset({"app"})).code
    assert after == textwrap.dedent(expected)
    _assert_ruff_isort_clean(after, tmp_path)


def _assert_ruff_isort_clean(code: str, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.ruff.lint]\nselect = ["I"]\n[tool.ruff.lint.isort]\nknown-first-party = ["app"]\n'
    )
    (tmp_path / "module.py").write_text(code)
    result = ruff("check", "module.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout


UNUSED_CASES = {
    "a name the rewrite stopped using goes": (
        "import time\nfrom time import sleep as nap\n\nimport anyio\n\n\ndef f():\n    nap(1)\n",
        "import time\nfrom time import sleep as nap\n\nimport anyio\n\n\n"
        "def f():\n    anyio.sleep(1)\n",
        "import time\n\nimport anyio\n\n\ndef f():\n    anyio.sleep(1)\n",
    ),
    "a whole group that goes hands its blank lines on": (
        '"""Doc."""\n\nimport requests\n\nimport anyio\n\nx = requests.get\n',
        '"""Doc."""\n\nimport requests\n\nimport anyio\n\nx = anyio.sleep\n',
        '"""Doc."""\n\nimport anyio\n\nx = anyio.sleep\n',
    ),
    "names never used (re-exported) stay": (
        'from os import path, sep\n\n__all__ = ["path"]\nx = sep\n',
        'from os import path, sep\n\n__all__ = ["path"]\nx = 1\n',
        'from os import path\n\n__all__ = ["path"]\nx = 1\n',
    ),
    "a mention in a comment or string is no use": (
        "import requests\n\nx = requests.get\n",
        'import requests\n\n# requests\nx = "requests"\n',
        '# requests\nx = "requests"\n',
    ),
    "newer syntax than this Python's is read by libcst": (
        "import time\nimport os\n\ntype Paths = list[os.PathLike]\nx = time.sleep\n",
        "import time\nimport os\n\ntype Paths = list[os.PathLike]\nx = anyio.sleep\n",
        "import os\n\ntype Paths = list[os.PathLike]\nx = anyio.sleep\n",
    ),
    "an attribute of the same name is no use": (
        "import json\n\nx = json.dumps\n",
        "import json\n\nx = obj.json\n",
        "x = obj.json\n",
    ),
}


@pytest.mark.parametrize("name", list(UNUSED_CASES))
def test_imports_a_rewrite_left_unused_go(name: str) -> None:
    before, after, expected = UNUSED_CASES[name]
    result = drop_unused_imports(
        cst.parse_module(before), cst.parse_module(after), cst.Module.code_for_node
    )
    assert result.code == expected
