"""``unjam apply`` on real temporary git repositories: the branch and commits it makes,
every refusal (with nothing changed), interruptions undone, modes and line endings kept."""

from __future__ import annotations

import json
import os
import signal
import stat
from collections.abc import Callable
from pathlib import Path

import git
import pytest
from typer.testing import CliRunner

from tests.gitrepos import CLEAN, SERVICE, WORKER, files_at, make_repo, snapshot, unjam
from unjam import cli
from unjam.git import gitflow

FILES = {"app/service.py": SERVICE, "app/worker.py": WORKER, "app/health.py": CLEAN}


def _hunks(patch: str) -> list[str]:
    """A patch without its headers, so unjam's diff and git's can be compared."""
    kept = []
    for line in patch.splitlines():
        if line.startswith("@@"):
            kept.append(line[: line.index("@@", 2) + 2])  # git adds the enclosing line
        elif line[:1] in ("+", "-", " ") and not line.startswith(("+++", "---")):
            kept.append(line)
    return kept


def _subjects(repo: git.Repo, revisions: str) -> list[str]:
    return repo.git.log("--reverse", "--format=%s", revisions).splitlines()


def test_one_commit_per_codemod_on_a_new_branch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, FILES)
    start = repo.head.commit.hexsha
    preview = unjam(tmp_path, monkeypatch, "diff", ".")
    assert preview.code == 1

    result = unjam(tmp_path, monkeypatch, "apply", ".", "--yes", "--branch", "unjam/loop")

    assert result.code == 0, result.err
    assert repo.active_branch.name == "unjam/loop"
    assert repo.heads.main.commit.hexsha == start  # the user's branch is untouched
    assert _subjects(repo, "main..unjam/loop") == [
        "unjam: demote-sync (1 site(s) in 1 file(s))",
        "unjam: offload-blocking (2 site(s) in 2 file(s))",
    ]
    first = repo.git.show("unjam/loop~1:app/service.py")
    assert "def report():" in first and "async def report" not in first
    assert "    time.sleep(0.1)\n    return" in first.split("async def mixed")[1]  # not yet
    assert repo.git.show("unjam/loop~1:app/worker.py") == WORKER.rstrip("\n")
    body = repo.git.log("-1", "--format=%B", "unjam/loop")
    assert "- app/service.py: 1 site(s)" in body and "- app/worker.py: 1 site(s)" in body
    assert "line 18: offload-blocking:" in body  # the user's own line numbers
    # What landed is exactly what `unjam diff` showed, and the tree is clean on it.
    assert _hunks(repo.git.diff("main", "unjam/loop")) == _hunks(preview.out)
    assert repo.git.status("--porcelain") == ""
    assert files_at(repo, "unjam/loop") == files_at(repo, "main")
    assert "review it with: git diff main...unjam/loop" in result.err
    # A second run finds nothing left to do.
    again = unjam(tmp_path, monkeypatch, "apply", ".", "--yes")
    assert again.code == 0 and "nothing to apply" in again.err
    assert [h.name for h in repo.heads] == ["main", "unjam/loop"]


def test_default_branch_name_names_the_codemods(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, FILES)
    assert unjam(tmp_path, monkeypatch, "apply", ".", "--yes").code == 0
    name = repo.active_branch.name
    prefix = "unjam/demote-sync+offload-blocking-"
    assert name.startswith(prefix) and len(name) == len(prefix) + len("20261122-0712")


MONOREPO = {
    "svc_a/pyproject.toml": '[project]\nname = "a"\n',
    "svc_a/app/service.py": SERVICE,
    "svc_b/setup.cfg": "[metadata]\nname = b\n",
    "svc_b/app/worker.py": WORKER,
}


@pytest.mark.parametrize(
    ("split", "subjects"),
    [
        (
            "package",
            [
                "unjam: demote-sync + offload-blocking in package svc_a (2 site(s) in 1 file(s))",
                "unjam: offload-blocking in package svc_b (1 site(s) in 1 file(s))",
            ],
        ),
        ("none", ["unjam: demote-sync + offload-blocking (3 site(s) in 2 file(s))"]),
    ],
)
def test_split_by(
    split: str, subjects: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, MONOREPO)
    result = unjam(
        tmp_path, monkeypatch, "apply", ".", "--yes", "--branch", "b", "--split-by", split
    )
    assert result.code == 0, result.err
    assert _subjects(repo, "main..b") == subjects


def test_branch_per_package_leaves_the_user_where_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, MONOREPO)
    before = snapshot(repo)
    result = unjam(
        tmp_path, monkeypatch, "apply", ".", "--yes", "--branch", "mig", "--branch-per-package"
    )
    assert result.code == 0, result.err
    assert sorted(h.name for h in repo.heads) == ["main", "mig/svc_a", "mig/svc_b"]
    assert repo.active_branch.name == "main"
    after = snapshot(repo)
    assert after.files == before.files and after.status == before.status
    assert repo.git.diff("--name-only", "main", "mig/svc_a").splitlines() == [
        "svc_a/app/service.py"
    ]
    assert repo.git.diff("--name-only", "main", "mig/svc_b").splitlines() == ["svc_b/app/worker.py"]
    # Each package branch keeps one commit per codemod.
    assert len(_subjects(repo, "main..mig/svc_a")) == 2


# -- refusals: one line, exit 2, nothing changed ---------------------------------------
def _dirty(repo: git.Repo, root: Path) -> None:
    with (root / "app" / "service.py").open("a") as handle:
        handle.write("# work in progress\n")


def _staged(repo: git.Repo, root: Path) -> None:
    _dirty(repo, root)
    repo.git.add("app/service.py")


def _untracked(repo: git.Repo, root: Path) -> None:
    (root / "app" / "fresh.py").write_text(SERVICE)


def _branch_taken(repo: git.Repo, root: Path) -> None:
    repo.git.branch("unjam/loop")


def _detached(repo: git.Repo, root: Path) -> None:
    repo.git.checkout("--quiet", "--detach")


def _conflict(repo: git.Repo, root: Path, operation: Callable[[], object]) -> None:
    """Two branches that change NOTES differently, then ``operation`` stops half way."""
    notes = root / "NOTES"
    notes.write_text("base\n")
    repo.git.add("NOTES")
    repo.git.commit("-q", "-m", "notes")
    repo.git.checkout("-q", "-b", "other")
    notes.write_text("theirs\n")
    repo.git.commit("-q", "-am", "theirs")
    repo.git.checkout("-q", "main")
    notes.write_text("ours\n")
    repo.git.commit("-q", "-am", "ours")
    with pytest.raises(git.GitCommandError):
        operation()


def _mid_merge(repo: git.Repo, root: Path) -> None:
    _conflict(repo, root, lambda: repo.git.merge("other"))


def _mid_rebase(repo: git.Repo, root: Path) -> None:
    _conflict(repo, root, lambda: repo.git.rebase("other"))


def _mid_cherry_pick(repo: git.Repo, root: Path) -> None:
    _conflict(repo, root, lambda: repo.git.cherry_pick("other"))


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (_dirty, "uncommitted changes in app/service.py"),
        (_staged, "uncommitted changes in app/service.py"),
        (_untracked, "uncommitted changes in app/fresh.py"),
        (_branch_taken, "branch unjam/loop already exists"),
        (_detached, "HEAD is detached; check out a branch, or pass --base REF"),
        (_mid_merge, "in the middle of a merge"),
        (_mid_rebase, "in the middle of a rebase"),
        (_mid_cherry_pick, "in the middle of a cherry-pick"),
    ],
)
def test_refusals_change_nothing(
    setup: Callable[[git.Repo, Path], None],
    reason: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = make_repo(tmp_path, FILES)
    setup(repo, tmp_path)
    before = snapshot(repo)
    result = unjam(tmp_path, monkeypatch, "apply", ".", "--yes", "--branch", "unjam/loop")
    assert result.code == 2
    refusal = [line for line in result.err.splitlines() if line.startswith("unjam: ")]
    assert len(refusal) == 1 and reason in refusal[0], result.err
    assert refusal[0].endswith("nothing was changed")
    assert snapshot(repo) == before


def test_outside_git_it_points_at_diff_and_no_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "service.py").write_text(SERVICE)
    result = unjam(tmp_path, monkeypatch, "apply", ".", "--yes")
    assert result.code == 2
    assert "not inside a git repository" in result.err and "--no-commit" in result.err
    assert (tmp_path / "service.py").read_text() == SERVICE


def test_without_a_terminal_it_needs_yes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(tmp_path, FILES)
    before = snapshot(repo)
    result = unjam(tmp_path, monkeypatch, "apply", ".")
    assert result.code == 2 and "pass --yes" in result.err
    assert snapshot(repo) == before


def test_no_commit_writes_the_tree_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(tmp_path, FILES)
    result = unjam(tmp_path, monkeypatch, "apply", ".", "--yes", "--no-commit")
    assert result.code == 0, result.err
    assert [h.name for h in repo.heads] == ["main"] and repo.active_branch.name == "main"
    assert sorted(repo.git.diff("--name-only").splitlines()) == ["app/service.py", "app/worker.py"]
    assert "def report():" in (tmp_path / "app" / "service.py").read_text()


def test_no_commit_works_outside_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "service.py").write_text(SERVICE)
    result = unjam(tmp_path, monkeypatch, "apply", ".", "--yes", "--no-commit")
    assert result.code == 0, result.err
    assert "def report():" in (tmp_path / "service.py").read_text()


# -- --base ----------------------------------------------------------------------------
def test_detached_head_with_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(tmp_path, FILES)
    _detached(repo, tmp_path)
    result = unjam(tmp_path, monkeypatch, "apply", ".", "--yes", "--base", "HEAD", "--branch", "b")
    assert result.code == 0, result.err
    assert repo.active_branch.name == "b" and len(_subjects(repo, "main..b")) == 2


def test_base_behind_head_branches_from_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, FILES)
    old = repo.head.commit.hexsha
    (tmp_path / "README").write_text("later\n")
    repo.git.add("README")
    repo.git.commit("-q", "-m", "later")
    result = unjam(tmp_path, monkeypatch, "apply", ".", "--yes", "--base", old, "--branch", "b")
    assert result.code == 0, result.err
    assert repo.active_branch.name == "b"
    assert repo.git.rev_parse("b~2") == old
    assert not (tmp_path / "README").exists()  # the tree is the base's
    assert repo.git.status("--porcelain") == ""


def test_base_where_a_rewritten_file_differs_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, FILES)
    old = repo.head.commit.hexsha
    with (tmp_path / "app" / "worker.py").open("a") as handle:
        handle.write("# later\n")
    repo.git.commit("-q", "-am", "later")
    before = snapshot(repo)
    result = unjam(tmp_path, monkeypatch, "apply", ".", "--yes", "--base", old, "--branch", "b")
    assert result.code == 2 and "app/worker.py differ between HEAD and --base" in result.err
    assert snapshot(repo) == before


# -- interruptions ---------------------------------------------------------------------
def _second_write(monkeypatch: pytest.MonkeyPatch, act: Callable[[], None]) -> list[int]:
    """Make ``act`` happen at the second file write of the landing; later writes (the
    undo) go through."""
    real = gitflow.write_atomically
    calls: list[int] = []

    def write(path: Path, data: bytes) -> None:
        calls.append(1)
        if len(calls) == 2:
            act()
        real(path, data)

    monkeypatch.setattr(gitflow, "write_atomically", write)
    return calls


def _raise_interrupt() -> None:
    raise KeyboardInterrupt


def _send_sigint() -> None:
    os.kill(os.getpid(), signal.SIGINT)


def _disk_full() -> None:
    raise OSError(28, "No space left on device")


@pytest.mark.parametrize(
    ("act", "message"),
    [
        (_raise_interrupt, "interrupted; nothing was changed"),
        (_send_sigint, "interrupted; nothing was changed"),
        (_disk_full, "No space left on device"),
    ],
)
def test_interruption_between_two_writes_leaves_the_repo_as_it_was(
    act: Callable[[], None], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, FILES)
    before = snapshot(repo)
    calls = _second_write(monkeypatch, act)
    result = unjam(tmp_path, monkeypatch, "apply", ".", "--yes", "--branch", "b")
    assert len(calls) >= 2  # the landing did write before it was stopped
    interrupted = "interrupted" in message
    assert result.code == (130 if interrupted else 2) and message in result.err, result.err
    assert snapshot(repo) == before
    assert not list(tmp_path.rglob("*.unjam-tmp"))


def test_interrupted_no_commit_restores_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, FILES)
    before = snapshot(repo)
    _second_write(monkeypatch, _raise_interrupt)
    result = unjam(tmp_path, monkeypatch, "apply", ".", "--yes", "--no-commit")
    assert result.code == 130
    assert snapshot(repo) == before


# -- modes and line endings ------------------------------------------------------------
def test_file_mode_and_crlf_survive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(tmp_path, {"app/health.py": CLEAN})
    script = tmp_path / "app" / "service.py"
    script.write_bytes(SERVICE.replace("\n", "\r\n").encode())
    script.chmod(0o755)
    repo.git.add("app/service.py")
    repo.git.commit("-q", "-m", "crlf service")
    result = unjam(tmp_path, monkeypatch, "apply", ".", "--yes", "--branch", "b")
    assert result.code == 0, result.err
    data = script.read_bytes()
    assert b"def report():\r\n" in data and data.count(b"\n") == data.count(b"\r\n")
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    assert repo.git.ls_tree("b", "app/service.py").startswith("100755 blob")
    assert repo.git.status("--porcelain") == ""


def test_autocrlf_repositories_get_lf_blobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With core.autocrlf the working tree is CRLF and the repository LF: the new blobs
    must go through the same filter, or every line would show as changed."""
    repo = make_repo(tmp_path, {"app/health.py": CLEAN})
    with repo.config_writer() as config:
        config.set_value("core", "autocrlf", "true")
    (tmp_path / "app" / "service.py").write_bytes(SERVICE.replace("\n", "\r\n").encode())
    repo.git.add("app/service.py")
    repo.git.commit("-q", "-m", "service")
    result = unjam(tmp_path, monkeypatch, "apply", ".", "--yes", "--branch", "b")
    assert result.code == 0, result.err
    blob = repo.git.cat_file("-p", "b:app/service.py", strip_newline_in_stdout=False)
    assert "\r" not in blob and "def report():\n" in blob
    assert b"def report():\r\n" in (tmp_path / "app" / "service.py").read_bytes()
    assert repo.git.diff("--stat", "main", "b").splitlines()[-1].strip() == (
        "1 file changed, 2 insertions(+), 2 deletions(-)"
    )
    assert repo.git.status("--porcelain") == ""


@pytest.mark.parametrize(
    ("answer", "code", "branches"), [("n\n", 1, ["main"]), ("y\n", 0, ["b", "main"])]
)
def test_it_asks_at_a_terminal(
    answer: str,
    code: int,
    branches: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = make_repo(tmp_path, FILES)
    monkeypatch.setattr(cli, "_interactive", lambda: True)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli.app, ["apply", ".", "--branch", "b", "-j", "1"], input=answer)
    assert result.exit_code == code, result.stderr
    assert "Commit 2 file(s), 3 site(s) on new branch b?" in result.stderr
    assert sorted(h.name for h in repo.heads) == branches


def test_a_failure_after_checkout_returns_to_the_original_branch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --base behind HEAD git's own checkout moves the tree; a failure after it
    must still leave the user where they were."""
    repo = make_repo(tmp_path, FILES)
    old = repo.head.commit.hexsha
    (tmp_path / "README").write_text("later\n")
    repo.git.add("README")
    repo.git.commit("-q", "-m", "later")
    before = snapshot(repo)
    real = gitflow.Landing._checkout

    def checkout_then_fail(self: gitflow.Landing, branch: str) -> None:
        real(self, branch)
        raise KeyboardInterrupt

    monkeypatch.setattr(gitflow.Landing, "_checkout", checkout_then_fail)
    result = unjam(tmp_path, monkeypatch, "apply", ".", "--yes", "--base", old, "--branch", "b")
    assert result.code == 130 and "interrupted; nothing was changed" in result.err
    assert snapshot(repo) == before


def test_a_file_edited_during_the_run_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user saves a file while unjam is thinking: their edit wins, nothing lands."""
    repo = make_repo(tmp_path, FILES)
    worker = tmp_path / "app" / "worker.py"
    real = gitflow.build_commits

    def build_then_edit(*args: object, **kwargs: object) -> object:
        made = real(*args, **kwargs)  # type: ignore[arg-type]
        worker.write_text(WORKER + "# saved meanwhile\n")
        return made

    monkeypatch.setattr("unjam.git.migrate.build_commits", build_then_edit)
    result = unjam(tmp_path, monkeypatch, "apply", ".", "--yes", "--branch", "b")
    assert result.code == 2 and "app/worker.py changed while unjam ran" in result.err
    assert worker.read_text() == WORKER + "# saved meanwhile\n"
    assert (tmp_path / "app" / "service.py").read_text() == SERVICE
    assert [h.name for h in repo.heads] == ["main"] and repo.active_branch.name == "main"


@pytest.mark.parametrize("target_in_run", [True, False])
def test_symlinked_files_are_not_written_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target_in_run: bool
) -> None:
    """The link stays a link. When the file it links to is rewritten too, that covers
    it; when not (excluded here), the link is one error line."""
    repo = make_repo(tmp_path, FILES)
    (tmp_path / "linked.py").symlink_to(tmp_path / "app" / "worker.py")
    repo.git.add("linked.py")
    repo.git.commit("-q", "-m", "link")
    excluded = [] if target_in_run else ["--exclude", "app/worker.py"]
    result = unjam(
        tmp_path,
        monkeypatch,
        "apply",
        ".",
        "--yes",
        "--branch",
        "b",
        "--format",
        "json",
        *excluded,
    )
    assert "linked.py" not in json.loads(result.out)["totals"]["changed_files"]
    said = "linked.py: is a symlink; unjam does not write through links"
    if target_in_run:
        assert result.code == 0 and said not in result.err
        assert "    await asyncio.sleep(0.1)\n" in repo.git.show("b:app/worker.py")
    else:
        assert result.code == 2 and said in result.err
        assert repo.git.show("b:app/worker.py") == WORKER.rstrip("\n")
    assert (tmp_path / "linked.py").is_symlink()
    assert repo.git.ls_tree("b", "linked.py").startswith("120000")


def test_undo_carries_on_past_a_failing_step() -> None:
    done: list[str] = []

    def fails() -> None:
        raise OSError("index.lock exists")

    landing = gitflow.Landing(None)
    landing.journal += [lambda: done.append("branch"), fails, lambda: done.append("file")]
    with pytest.raises(gitflow.UndoIncomplete, match=r"index\.lock exists"):
        landing.undo()
    assert done == ["file", "branch"] and not landing.journal


def test_json_report_names_the_branch_and_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, FILES)
    start = repo.head.commit.hexsha
    result = unjam(
        tmp_path, monkeypatch, "apply", ".", "--yes", "--branch", "b", "--format", "json"
    )
    assert result.code == 0, result.err
    report = json.loads(result.out)  # stdout is the report alone: no patch around it
    assert report["command"] == "apply" and report["base"] == start
    assert report["branches"] == ["b"]
    shas = [commit["sha"] for commit in report["commits"]]
    assert shas == repo.git.rev_list("--reverse", "main..b").split()
    assert report["totals"]["files_changed"] == 2


def test_run_from_a_sub_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The patch's paths are relative to the repository root, as git reads them from
    anywhere in the work tree; commits too."""
    repo = make_repo(tmp_path, {**FILES, "other/service.py": SERVICE})
    diffed = unjam(tmp_path / "app", monkeypatch, "diff", ".")
    assert "--- a/app/service.py" in diffed.out
    (tmp_path / "change.patch").write_text(diffed.out)
    repo.git.apply("--check", str(tmp_path / "change.patch"))
    result = unjam(tmp_path / "app", monkeypatch, "apply", ".", "--yes", "--branch", "b")
    assert result.code == 0, result.err
    assert "--- a/app/service.py" in result.out  # the preview
    changed = repo.git.diff("--name-only", "main", "b").split()
    assert changed == ["app/service.py", "app/worker.py"]  # other/ was not a target


@pytest.mark.parametrize("no_commit", [True, False])
def test_a_linked_folder_that_leads_outside_is_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_commit: bool
) -> None:
    """The target is a folder linked to one outside the repository: nothing outside is
    written, each such file is one error line, and no traceback."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "worker.py").write_text(WORKER)
    root = tmp_path / "repo"
    root.mkdir()
    make_repo(root, FILES)
    (root / "linked").symlink_to(outside, target_is_directory=True)
    flags = ["--no-commit"] if no_commit else ["--branch", "b"]
    result = unjam(root, monkeypatch, "apply", "linked", "--yes", *flags)
    assert result.code == 2, result.err
    assert "linked/worker.py: is " in result.err and "apply does not write there" in result.err
    assert "Traceback" not in result.err
    assert (outside / "worker.py").read_text() == WORKER


def test_a_path_given_through_a_linked_parent_is_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "sub" / "worker.py").write_text(WORKER)
    root = tmp_path / "repo"
    root.mkdir()
    make_repo(root, FILES)
    (root / "linked").symlink_to(outside, target_is_directory=True)
    result = unjam(root, monkeypatch, "apply", "linked/sub", "--yes", "--no-commit")
    assert result.code == 2 and "outside the folders given" in result.err
    assert (outside / "sub" / "worker.py").read_text() == WORKER


def test_the_diff_of_a_tree_with_a_linked_file_applies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The link is not in the patch (the file it links to is): git would refuse a
    patch that writes text into a symlink."""
    repo = make_repo(tmp_path, FILES)
    (tmp_path / "linked.py").symlink_to(tmp_path / "app" / "worker.py")
    repo.git.add("linked.py")
    repo.git.commit("-q", "-m", "link")
    result = unjam(tmp_path, monkeypatch, "diff", ".")
    assert result.code == 1, result.err
    assert "linked.py" not in result.out
    (tmp_path / "change.patch").write_text(result.out)
    repo.git.apply("--check", "change.patch")


def test_a_file_in_a_submodule_is_one_line_saying_where_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = tmp_path / "library"
    make_repo(library, {"route.py": WORKER})
    root = tmp_path / "main"
    repo = make_repo(root, FILES)
    repo.git.execute(
        ["git", "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(library), "lib"]
    )
    repo.git.commit("-q", "-m", "library")
    result = unjam(root, monkeypatch, "apply", ".", "--yes", "--branch", "b")
    assert result.code == 2
    assert "lib/route.py: belongs to the git repository in lib (a submodule" in result.err
    assert "not in the base commit" not in result.err
    assert "    await asyncio.sleep(0.1)\n" in repo.git.show("b:app/worker.py")
    assert (root / "lib" / "route.py").read_text() == WORKER
