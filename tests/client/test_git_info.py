"""capture_git against real repositories made in tmp_path (global and system git config ignored)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_mm.client import git_info
from jupyter_mm.client.git_info import capture_git, strip_credentials


@pytest.fixture(autouse=True)
def _isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # never find an enclosing repo
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "test@example.com")
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(var, raising=False)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with one commit of ``a.txt`` on branch ``main``."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "a.txt").write_text("one\ntwo\nthree\n")
    git(path, "add", "a.txt")
    git(path, "commit", "-q", "-m", "first")
    return path


def capture(path: Path, **kwargs: Any) -> dict[str, Any]:
    record = capture_git(path, **kwargs)
    assert record is not None
    json.dumps(record)  # the record must be storable as is
    return record


def test_clean_repo(repo: Path) -> None:
    record = capture(repo)
    assert record == {
        "root": str(repo.resolve()),
        "commit": git(repo, "rev-parse", "HEAD"),
        "branch": "main",
        "remote_url": None,
        "dirty": False,
        "untracked": 0,
        "diff": "",
        "diff_bytes": 0,
        "diff_truncated": False,
        "errors": [],
    }
    assert len(record["commit"]) == 40


def test_path_below_the_root_or_a_file(repo: Path) -> None:
    (repo / "sub" / "deeper").mkdir(parents=True)
    assert capture(repo / "sub" / "deeper")["root"] == str(repo.resolve())
    assert capture(repo / "a.txt")["root"] == str(repo.resolve())


def test_dirty_repo_diff(repo: Path) -> None:
    (repo / "a.txt").write_text("one\nTWO\nthree\n")  # unstaged change
    (repo / "b.txt").write_text("staged\n")
    git(repo, "add", "b.txt")  # staged new file
    (repo / "untracked.txt").write_text("not in the diff\n")
    (repo / "newdir").mkdir()
    (repo / "newdir" / "x").write_text("x")
    (repo / "newdir" / "y").write_text("y")
    record = capture(repo)
    assert record["dirty"] is True
    assert record["untracked"] == 3  # files, not directories
    diff = record["diff"]
    assert "diff --git a/a.txt b/a.txt" in diff
    assert "-two\n+TWO\n" in diff
    assert "diff --git a/b.txt b/b.txt" in diff and "+staged\n" in diff
    assert "not in the diff" not in diff
    assert record["diff_bytes"] == len(diff.encode()) and not record["diff_truncated"]
    assert record["errors"] == []


def test_only_untracked_files_is_not_dirty(repo: Path) -> None:
    (repo / "new.txt").write_text("x")
    (repo / ".gitignore").write_text("ignored.txt\n")
    (repo / "ignored.txt").write_text("x")
    record = capture(repo)
    assert (record["dirty"], record["untracked"], record["diff"]) == (False, 2, "")


def test_rename_is_dirty(repo: Path) -> None:
    git(repo, "mv", "a.txt", "renamed.txt")
    record = capture(repo)
    assert record["dirty"] is True and record["untracked"] == 0
    assert "renamed.txt" in record["diff"]


def test_detached_head(repo: Path) -> None:
    (repo / "a.txt").write_text("changed\n")
    git(repo, "commit", "-q", "-am", "second")
    first = git(repo, "rev-parse", "HEAD~1")
    git(repo, "checkout", "-q", "--detach", first)
    record = capture(repo)
    assert record["branch"] is None
    assert record["commit"] == first
    assert record["dirty"] is False


def test_no_commits_yet(tmp_path: Path) -> None:
    path = tmp_path / "fresh"
    path.mkdir()
    git(path, "init", "-q", "-b", "trunk")
    record = capture(path)
    assert record["commit"] is None and record["branch"] == "trunk"
    assert (record["dirty"], record["untracked"], record["diff"]) == (False, 0, "")

    (path / "new.py").write_text("print('hello')\n")
    (path / "loose.txt").write_text("untracked\n")
    git(path, "add", "new.py")
    record = capture(path)
    assert record["commit"] is None
    assert record["dirty"] is True and record["untracked"] == 1
    assert "+print('hello')" in record["diff"] and "untracked" not in record["diff"]
    assert record["errors"] == []


def test_huge_diff_is_truncated(repo: Path) -> None:
    line = "x" * 99 + "\n"
    (repo / "big.txt").write_text(line * 100)
    git(repo, "add", "big.txt")
    git(repo, "commit", "-q", "-m", "big")
    (repo / "big.txt").write_text(line.upper() * 10_000)  # about 1 MB of changed lines
    record = capture(repo)
    assert record["diff_truncated"] is True
    assert record["diff_bytes"] > 1_000_000
    kept = record["diff"].encode()
    assert git_info.DIFF_LIMIT - 200 < len(kept) <= git_info.DIFF_LIMIT
    assert record["diff"].endswith("\n")  # cut on a whole line
    assert record["errors"] == []

    small = capture(repo, max_diff_bytes=1000)
    assert small["diff_truncated"] is True and len(small["diff"].encode()) <= 1000
    assert small["diff_bytes"] == record["diff_bytes"]


def test_remote_credentials_are_stripped(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "https://alice:s3cret-token@git.example.com/team/proj.git")
    assert capture(repo)["remote_url"] == "https://git.example.com/team/proj.git"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:token@github.com/o/r.git", "https://github.com/o/r.git"),
        ("https://ghp_abc@github.com/o/r.git", "https://github.com/o/r.git"),
        ("http://u:p@host:8080/r", "http://host:8080/r"),
        ("ssh://git:pw@host/r.git", "ssh://git@host/r.git"),
        ("ssh://git@host/r.git", "ssh://git@host/r.git"),
        ("git@github.com:o/r.git", "git@github.com:o/r.git"),
        ("https://github.com/o/r.git", "https://github.com/o/r.git"),
        ("/srv/git/r.git", "/srv/git/r.git"),
    ],
)
def test_strip_credentials(url: str, expected: str) -> None:
    assert strip_credentials(url) == expected


def test_not_a_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert capture_git(plain) is None
    assert capture_git(tmp_path / "missing") is None


def test_inside_the_git_directory_is_not_a_work_tree(repo: Path) -> None:
    assert capture_git(repo / ".git") is None


def test_git_not_installed(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(git_info.shutil, "which", lambda name: None)
    assert capture_git(repo) is None


def test_works_while_another_git_holds_the_index_lock(repo: Path) -> None:
    lock = repo / ".git" / "index.lock"
    lock.write_text("")
    (repo / "a.txt").write_text("changed\n")
    record = capture(repo)
    assert record["dirty"] is True and record["errors"] == []
    assert lock.exists()


def test_repository_variables_of_the_kernel_are_ignored(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    assert capture(repo)["commit"] is not None


def test_unexpected_failure_is_reported_not_raised(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("no processes left")

    monkeypatch.setattr(git_info, "_capture", boom)
    record = capture(repo)
    assert record["root"] is None
    assert record["errors"] == ["git capture failed: RuntimeError: no processes left"]


def test_failed_status_gives_partial_record(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = git_info._git

    def slow_status(git: str, cwd: str, *args: str, timeout: float = 5.0) -> Any:
        if args[0] == "status":
            raise git_info._GitFailed("git status timed out after 5 s")
        return real(git, cwd, *args, timeout=timeout)

    monkeypatch.setattr(git_info, "_git", slow_status)
    git(repo, "remote", "add", "origin", "git@host:r.git")
    record = capture(repo)
    assert record["root"] == str(repo.resolve())
    assert record["remote_url"] == "git@host:r.git"
    assert record["dirty"] is None and record["diff"] is None
    assert record["errors"] == ["git status timed out after 5 s"]


def test_capped_output_kills_on_timeout() -> None:
    code = "import sys, time; sys.stdout.write('x' * 100); sys.stdout.flush(); time.sleep(30)"
    kept, total, returncode, _ = git_info._capped_output([sys.executable, "-c", code], 10, 0.5)
    assert (kept, total, returncode) == (b"x" * 10, 100, None)
