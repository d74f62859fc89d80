"""The command line as a user meets it: output streams, formats, exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers import FIXTURES, ROOT, write_tree
from unjam.cli import app

DEMO = FIXTURES / "apps" / "demo"
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_routes_json_on_the_demo() -> None:
    code, out, _ = invoke("routes", str(DEMO), "--format", "json", "--jobs", "1")
    assert code == 0
    rows = {row["function"].rsplit(".", 1)[-1]: row for row in json.loads(out)}
    assert rows["read_item"]["kind"] == "endpoint"
    assert rows["read_item"]["path"] == "/api/items/{item_id}"
    assert rows["read_item"]["blocking"] == ["Query.first:18"]
    assert rows["item_price"]["blocking"] == ["requests.get:27"]
    assert rows["item_report"]["awaits"] == 1
    assert rows["item_report"]["blocking"] == [
        "time.sleep:35",
        "time.sleep:36 via slow_report",
        "Path.read_text:37 via load_settings → _read_settings",
    ]
    assert rows["hash_password"]["blocking"] == ["pbkdf2_sha256.hash:45"]
    assert rows["count_fast"]["blocking"] == []
    assert rows["count_sync"]["async"] is False
    assert rows["dashboard"]["awaits"] == 3
    assert rows["get_db"]["kind"] == "dependency"
    assert rows["get_db"]["blocking"] == ["Session.close:40"]
    assert rows["echo"]["kind"] == "websocket"
    assert rows["timing"]["kind"] == "middleware"
    assert rows["on_value_error"]["kind"] == "exception_handler"
    assert rows["startup"]["kind"] == "startup"
    assert rows["startup"]["blocking"] == ["Session.get:22 via init_db"]
    assert rows["health"]["path"] == "/health"


def test_routes_table_is_readable_when_piped() -> None:
    code, out, _ = invoke("routes", str(DEMO), "--jobs", "1")
    assert code == 0
    assert "GET /api/items/{item_id}" in out
    assert "Query.first:18" in out


def test_check_exits_zero_on_clean_code_and_prints_summary_on_stderr(tmp_path: Path) -> None:
    write_tree(tmp_path, {"m.py": "async def ok():\n    return 1\n"})
    code, out, err = invoke("check", str(tmp_path))
    assert (code, out) == (0, "")
    assert "0 finding(s)" in err and "1 file(s) scanned" in err


def test_bad_file_is_reported_others_processed_exit_two(tmp_path: Path) -> None:
    write_tree(tmp_path, {"bad.py": "def f(:\n", "good.py": "x = 1\n"})
    code, _, err = invoke("check", str(tmp_path))
    assert code == 2
    assert "bad.py: syntax error at 1:7" in err
    assert "2 file(s) scanned" in err


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    code, _, err = invoke("check", str(tmp_path / "nope"))
    assert code == 2
    assert "nope: no such file or directory" in err


def test_unknown_codemod_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = invoke("check", str(tmp_path), "--select", "no-such-pass")
    assert code == 2
    assert "unjam: unknown code 'no-such-pass'" in err
    code, _, err = invoke("explain", "no-such-pass")
    assert code == 2
    assert "unknown code 'no-such-pass'" in err
    code, _, err = invoke("check", str(tmp_path), "--ignore", "demote-snyc")
    assert code == 2 and "unknown code 'demote-snyc' (did you mean 'demote-sync'?)" in err


def test_config_error_is_one_line_with_the_file(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pyproject.toml": "[tool.unjam]\nfoo = 1\n", "m.py": ""})
    code, _, err = invoke("check", str(tmp_path))
    assert code == 2
    assert (
        err.strip().startswith("unjam: ")
        and "pyproject.toml: [tool.unjam] unknown key 'foo'" in err
    )


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
def test_every_check_format_runs(tmp_path: Path, fmt: str) -> None:
    write_tree(tmp_path, {"m.py": "import time\nasync def f():\n    time.sleep(1)\n"})
    code, out, _ = invoke("check", str(tmp_path), "--format", fmt)
    assert code in (0, 1)
    if fmt in ("json", "sarif"):
        json.loads(out)


def test_python_dash_m_and_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "unjam", "--version"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0
    assert result.stdout.startswith("unjam ")


def test_pre_commit_hook_runs_check() -> None:
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "id: unjam" in text and "entry: unjam check" in text and "types: [python]" in text


def _check_json(*args: str) -> set[tuple[str, int, str, str]]:
    code, out, _ = invoke("check", str(DEMO), "--format", "json", "--jobs", "1", *args)
    assert code == 1
    return {
        (Path(f["path"]).name, f["line"], f["codemod"], f["message"].split(" ")[0])
        for f in json.loads(out)
    }


def test_check_json_lists_every_blocking_call_of_the_demo() -> None:
    found = _check_json("--ignore", "demote-sync,offload-blocking,requests-to-httpx")
    assert found == {
        ("db.py", 40, "blocking-call", "sqlalchemy.orm.Session.close"),
        ("main.py", 22, "blocking-call", "sqlalchemy.orm.Session.get"),
        ("items.py", 18, "blocking-call", "sqlalchemy.orm.Query.first"),
        ("items.py", 27, "blocking-call", "requests.get"),
        ("items.py", 35, "blocking-call", "time.sleep"),
        ("items.py", 36, "blocking-call", "time.sleep"),
        ("items.py", 37, "blocking-call", "pathlib.Path.read_text"),
        ("items.py", 45, "blocking-call", "passlib.hash.pbkdf2_sha256.hash"),
        ("items.py", 51, "blocking-call", "sqlalchemy.orm.Query.all"),
    }  # def routes run in the threadpool: their blocking calls (items.py 63, 64) are fine


def test_check_json_with_demote_sync() -> None:
    found = _check_json()
    demoted = {(name, line) for name, line, codemod, _ in found if codemod == "demote-sync"}
    assert demoted == {
        ("db.py", 34),
        ("items.py", 16),
        ("items.py", 43),
        ("items.py", 49),
        ("main.py", 20),  # the startup handler: reported, not demoted
    }
    offloaded = {(name, line) for name, line, codemod, _ in found if codemod == "offload-blocking"}
    # item_report awaits, and the startup handler must stay async: both are offloaded.
    assert offloaded == {("items.py", 35), ("items.py", 36), ("items.py", 37), ("main.py", 22)}
    # requests-to-httpx ran first and added lines above: every site is still on the
    # user's own line
    assert ("items.py", 27, "requests-to-httpx", "requests.get") in found
    assert {codemod for _, _, codemod, _ in found} == {
        "demote-sync",
        "offload-blocking",
        "requests-to-httpx",
    }  # gather-awaits runs only when selected


def test_selected_gather_awaits_reports_what_offload_wrote() -> None:
    # item_report awaits three offloaded calls after offload-blocking: independent, but
    # calls into threads, so only reported (--unsafe-fixes would gather them)
    _, out, _ = invoke(
        "check",
        str(DEMO),
        "--format",
        "json",
        "--jobs",
        "1",
        "--select",
        "requests-to-httpx,demote-sync,offload-blocking,gather-awaits",
    )
    gathered = [f for f in json.loads(out) if f["codemod"] == "gather-awaits"]
    assert gathered and not any(f["fixable"] for f in gathered)


def test_check_json_without_offload_blocking_leaves_findings() -> None:
    found = _check_json("--ignore", "offload-blocking")
    left = {(name, line) for name, line, codemod, _ in found if codemod == "blocking-call"}
    # the startup handler's call is explained by demote-sync ("offload the blocking calls")
    assert left == {("items.py", 35), ("items.py", 36), ("items.py", 37)}


def test_suppression_comments_silence_findings(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "m.py": (
                "import time\n"
                "async def a():\n    time.sleep(1)  # unjam: ignore\n"
                "async def b():  # unjam: ignore[blocking-call]\n    time.sleep(1)\n"
                "async def c():\n    time.sleep(1)  # unjam: ignore[other-codemod]\n"
            )
        },
    )
    code, out, _ = invoke("check", str(tmp_path), "--format", "json")
    assert code == 1
    assert [(f["line"], f["codemod"]) for f in json.loads(out)] == [
        (5, "offload-blocking"),  # ignoring blocking-call does not ignore the codemod
        (7, "offload-blocking"),
    ]
    code, out, _ = invoke(
        "check", str(tmp_path), "--format", "json", "--ignore", "offload-blocking"
    )
    assert [(f["line"], f["codemod"]) for f in json.loads(out)] == [(7, "blocking-call")]


def _stderr_of(tmp_path: Path, tty: bool) -> bytes:
    import os
    import pty

    for index in range(60):  # above the few dozen files that earn a progress bar
        (tmp_path / f"m{index}.py").write_text("import time\nasync def f():\n    time.sleep(1)\n")
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"}
    command = [sys.executable, "-m", "unjam", "check", str(tmp_path), "--jobs", "1"]
    if not tty:
        return subprocess.run(command, capture_output=True, env=env, timeout=120).stderr
    main, secondary = pty.openpty()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=secondary, env=env)
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=120)
    os.close(main)
    return b"".join(chunks)


def test_progress_bar_only_on_a_terminal(tmp_path: Path) -> None:
    assert b"reading" in _stderr_of(tmp_path, tty=True)
    assert b"reading" not in _stderr_of(tmp_path, tty=False)


HTTP_ROUTE = (
    "import requests\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
    '@app.get("/a")\nasync def a() -> dict:\n'
    '    return requests.get("http://127.0.0.1:9/json").json()\n'
)


def _converted(tmp_path: Path, *args: str) -> tuple[str, str]:
    code, out, err = invoke("diff", str(tmp_path), "--select", "requests-to-httpx", *args)
    assert code == 1, err
    return out, err


def test_requests_to_httpx_targets_httpx_by_default(tmp_path: Path) -> None:
    write_tree(tmp_path, {"m.py": HTTP_ROUTE})
    out, _ = _converted(tmp_path)
    assert "+import httpx\n" in out and "httpx.AsyncClient(" in out and "httpx2" not in out
    assert "timeout=None" in out  # requests waits forever; so does the converted client


def test_requests_to_httpx_targets_httpx2_by_flag_config_or_dependency(tmp_path: Path) -> None:
    write_tree(tmp_path, {"m.py": HTTP_ROUTE})
    out, _ = _converted(tmp_path, "--http-client", "httpx2")
    assert "+import httpx2\n" in out and "httpx2.AsyncClient(" in out
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "svc"\ndependencies = ["httpx2>=2"]\n'
    )
    out, _ = _converted(tmp_path)
    assert "httpx2.AsyncClient(" in out
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "svc"\ndependencies = ["httpx2>=2"]\n\n'
        '[tool.unjam]\nhttp-client = "httpx"\n'
    )
    out, _ = _converted(tmp_path)
    assert "+import httpx\n" in out and "httpx.AsyncClient(" in out and "httpx2" not in out


def test_httpx_default_timeout_flag_drops_timeout_none(tmp_path: Path) -> None:
    write_tree(tmp_path, {"m.py": HTTP_ROUTE})
    out, _ = _converted(tmp_path, "--httpx-default-timeout")
    assert "httpx.AsyncClient(" in out and "timeout=None" not in out


def test_check_reports_missing_httpx_dependency(tmp_path: Path) -> None:
    write_tree(tmp_path, {"m.py": HTTP_ROUTE})
    (tmp_path / "requirements.txt").write_text("fastapi\nrequests\n")
    code, out, _ = invoke(
        "check", str(tmp_path), "--select", "requests-to-httpx", "--format", "json"
    )
    messages = [f["message"] for f in json.loads(out)]
    assert code == 1
    assert any("does not declare httpx" in message for message in messages), messages
    (tmp_path / "requirements.txt").write_text("fastapi\nrequests\nhttpx>=0.28\n")
    _, out, _ = invoke("check", str(tmp_path), "--select", "requests-to-httpx", "--format", "json")
    assert not any("does not declare" in f["message"] for f in json.loads(out))


def test_a_requirements_file_added_between_runs_is_read(tmp_path: Path) -> None:
    """The listing of requirements files is kept between runs in one process only while
    the folder's entries stay the same."""
    write_tree(tmp_path, {"svc/m.py": HTTP_ROUTE})
    (tmp_path / "requirements.txt").write_text("fastapi\nrequests\n")
    check = ("check", str(tmp_path / "svc"), "--select", "requests-to-httpx", "--format", "json")
    _, out, _ = invoke(*check)
    assert any("requirements.txt does not declare httpx" in f["message"] for f in json.loads(out))
    (tmp_path / "svc" / "requirements-web.txt").write_text("fastapi\nrequests\n")
    _, out, _ = invoke(*check)
    messages = [f["message"] for f in json.loads(out)]
    assert any("requirements-web.txt does not declare httpx" in m for m in messages), messages


def test_bad_http_client_is_a_usage_error(tmp_path: Path) -> None:
    write_tree(tmp_path, {"m.py": HTTP_ROUTE})
    code, _, err = invoke("check", str(tmp_path), "--http-client", "aiohttp")
    assert code == 2 and "--http-client must be one of httpx, httpx2" in err


def test_check_and_diff_do_not_import_gitpython(tmp_path: Path) -> None:
    """GitPython and rich's Markdown cost a tenth of a second or more at every start;
    only ``apply`` and ``explain`` need them (a pre-commit hook runs ``check`` often).
    Both commands run, on code with findings, inside a git repository."""
    root = tmp_path / "demo"
    shutil.copytree(DEMO, root)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    slow = ("git", "rich.markdown")
    probe = (
        "import sys\n"
        "from unjam.cli import app\n"
        f"for command in ('check', 'diff'):\n"
        f"    try:\n"
        f"        app([command, {str(root)!r}, '--jobs', '1'])\n"
        f"    except SystemExit as done:\n"
        f"        assert done.code == 1, (command, done.code)\n"
        f"print([m for m in {slow!r} if m in sys.modules], file=sys.stderr)\n"
    )
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr.strip().splitlines()[-1] == "[]"


def _project_with_tests(root: Path) -> Path:
    nap = (
        "import asyncio\nimport time\n\n\nasync def nap() -> None:\n"
        "    await asyncio.sleep(0)\n    time.sleep(0.1)\n"
    )
    # the project itself sits in a folder named tests: that must not matter
    project = root / "tests" / "service"
    write_tree(
        project,
        {
            "app/main.py": nap,
            "tests/test_main.py": nap,
            "test/helpers.py": nap,
            "app/test_util.py": nap,
            "app/util_test.py": nap,
            "conftest.py": nap,
            "cypress/app.py": nap,
            "app/testing_tools.py": nap,  # not a test file by name
            "pyproject.toml": "[project]\nname = 'service'\n",
        },
    )
    return project


def test_test_files_inform_but_are_not_reported_by_default(tmp_path: Path) -> None:
    project = _project_with_tests(tmp_path)
    code, out, _ = invoke("check", str(project), "--jobs", "1")
    assert code == 1
    reported = sorted(
        {line.split(":", 1)[0].rsplit("service/", 1)[-1] for line in out.splitlines()}
    )
    assert reported == ["app/main.py", "app/testing_tools.py"]

    code, out, _ = invoke("check", str(project), "--jobs", "1", "--include-tests")
    reported = sorted(
        {line.split(":", 1)[0].rsplit("service/", 1)[-1] for line in out.splitlines()}
    )
    assert len(reported) == 8, reported

    (project / "pyproject.toml").write_text("[tool.unjam]\ninclude-tests = true\n")
    code, out, _ = invoke("check", str(project), "--jobs", "1")
    assert len(out.splitlines()) == 8, out


def test_test_files_named_on_the_command_line_are_reported(tmp_path: Path) -> None:
    project = _project_with_tests(tmp_path)
    code, out, _ = invoke("diff", str(project / "tests"), "--jobs", "1")
    assert code == 1
    assert "tests/test_main.py" in out and "app/main.py" not in out


def test_ctrl_c_while_starting_is_one_line_and_130() -> None:
    """An interrupt while the command line's libraries load (typer, rich, libcst)."""
    script = (
        "import builtins\n"
        "real = builtins.__import__\n"
        "def interrupted(name, *args, **kwargs):\n"
        "    if name == 'unjam.cli':\n"
        "        raise KeyboardInterrupt\n"
        "    return real(name, *args, **kwargs)\n"
        "builtins.__import__ = interrupted\n"
        "from unjam.entry import main\n"
        "main()\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert ran.returncode == 130
    assert ran.stderr == "unjam: interrupted; nothing was changed\n"


@pytest.mark.parametrize("command", ["check", "diff", "apply", "routes", "merge-reports"])
def test_help_is_plain_text_and_dash_h_works(command: str) -> None:
    code, out, _ = invoke(command, "-h")
    assert code == 0 and "Usage:" in out
    assert "``" not in out  # docstrings' reStructuredText does not leak into --help


def test_quiet_keeps_the_report_and_errors_only(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def (:\n")
    code, out, err = invoke("check", str(DEMO), str(tmp_path / "broken.py"), "-q", "--jobs", "1")
    assert code == 2 and "demote-sync" in out
    assert "broken.py: syntax error" in err
    assert "finding(s)" not in err  # no summary


@pytest.mark.parametrize("command", ["check", "diff", "routes"])
def test_what_goes_to_stdout_ends_with_a_line_break(command: str) -> None:
    _, out, _ = invoke(command, str(DEMO), "--jobs", "1")
    assert out and out.endswith("\n")
    assert "\t" not in out.replace("\\t", "")


BLOCKING_ROUTE = """\
import asyncio
import time
from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def index():
    await asyncio.sleep(0)
    time.sleep(1){comment}
"""


def test_extend_select_adds_to_the_defaults_and_to_select(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(BLOCKING_ROUTE.format(comment=""))
    _, narrow, _ = invoke("check", str(tmp_path), "--select", "demote-sync", "--jobs", "1")
    assert "blocking-call" in narrow and "offload-blocking" not in narrow
    _, wider, _ = invoke(
        "check", str(tmp_path), "--select", "demote-sync", "--extend-select", "offload-blocking"
    )
    assert "offload-blocking" in wider
    (tmp_path / "pyproject.toml").write_text(
        "[tool.unjam]\nselect = ['demote-sync']\nextend-select = ['offload-blocking']\n"
    )
    _, configured, _ = invoke("check", str(tmp_path), "--jobs", "1")
    assert "offload-blocking" in configured


def test_blocking_call_is_a_code_like_the_codemods(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(BLOCKING_ROUTE.format(comment=""))
    _, shown, _ = invoke("check", str(tmp_path), "--select", "demote-sync", "--jobs", "1")
    assert "blocking-call" in shown
    code, quiet, _ = invoke(
        "check", str(tmp_path), "--select", "demote-sync", "--ignore", "blocking-call"
    )
    assert code == 0 and quiet == ""
    _, listed, _ = invoke("codemods")
    assert "blocking-call" in listed and "detection only" in listed
    code, page, _ = invoke("explain", "blocking-call")
    assert code == 0 and "## What it does" in page and "## Fix safety" in page


def test_an_unknown_code_in_a_suppression_is_warned_about_once(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(
        BLOCKING_ROUTE.format(comment="  # unjam: ignore[ofload-blocking]")
    )
    (tmp_path / "n.py").write_text(
        BLOCKING_ROUTE.format(comment="  # unjam: ignore[ofload-blocking]")
    )
    _, out, err = invoke("check", str(tmp_path), "--jobs", "1")
    warnings = [line for line in err.splitlines() if "unknown code 'ofload-blocking'" in line]
    assert len(warnings) == 1
    assert "(did you mean 'offload-blocking'?)" in warnings[0]
    assert "offload-blocking" in out  # it suppressed nothing


@pytest.mark.parametrize("command", ["check", "diff"])
def test_a_read_only_command_that_leaves_quickly_still_says_everything(command: str) -> None:
    """check and diff end without freeing what they built (``_Ending``): the report on
    stdout and the summary on stderr must be whole, the exit code the command's."""
    import subprocess
    import sys

    args = [command, "fixtures/apps/demo", "--jobs", "2", "--no-cache"]
    inside = CliRunner().invoke(app, args)
    run = subprocess.run(
        [sys.executable, "-m", "unjam", *args], capture_output=True, text=True, timeout=120
    )
    assert run.stdout == inside.stdout != ""
    assert run.returncode == inside.exit_code == 1
    assert run.stderr.strip().splitlines()[-1] == inside.stderr.strip().splitlines()[-1]
