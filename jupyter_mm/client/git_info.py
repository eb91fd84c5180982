"""The git state of a run's code: commit, branch, origin, and the uncommitted diff.

It runs the ``git`` executable (no library dependency) with ``GIT_OPTIONAL_LOCKS=0`` so a capture
never takes the index lock a user's own ``git`` command is waiting for, with short timeouts, and with
stdin closed so nothing can prompt. Environmental failures never raise: a partial record comes back
with its ``errors`` list.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DIFF_LIMIT = 500_000  # bytes of diff kept in the record; the full size is still reported
TIMEOUT = 5.0  # seconds for each small git command
DIFF_TIMEOUT = 15.0  # seconds for the diff, which reads every changed file

# git variables that would point git at another repository than the one under ``path``
_REPO_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
)


class _GitFailed(Exception):
    pass


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _REPO_VARS}
    env.update(GIT_OPTIONAL_LOCKS="0", GIT_TERMINAL_PROMPT="0", LC_ALL="C", LANGUAGE="")
    return env


def _git(
    git: str, cwd: str, *args: str, timeout: float = TIMEOUT
) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            [git, "-C", cwd, *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=_env(),
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise _GitFailed(f"git {args[0]} timed out after {timeout:g} s") from None
    except OSError as exc:
        raise _GitFailed(f"git {args[0]}: {exc}") from None


def _checked(git: str, cwd: str, *args: str) -> str:
    out = _git(git, cwd, *args)
    if out.returncode != 0:
        message = out.stderr.decode("utf-8", "replace").strip() or f"exit status {out.returncode}"
        raise _GitFailed(f"git {args[0]}: {message}")
    return out.stdout.decode("utf-8", "surrogateescape")


def strip_credentials(url: str) -> str:
    """Remove secrets from a remote URL: all user info of http(s) URLs (a token often stands in the
    user name), the password of other URL schemes. scp-like ``git@host:path`` has none."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable remote URL>"
    if not parts.scheme or "@" not in parts.netloc:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    if parts.scheme.lower() in ("http", "https", "ftp", "ftps"):
        netloc = host
    else:
        netloc = f"{userinfo.partition(':')[0]}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def _parse_status(text: str) -> tuple[str | None, str | None, bool, int]:
    """``git status --porcelain=v2 --branch -z``: (commit, branch, dirty, untracked count)."""
    commit: str | None = None
    branch: str | None = None
    dirty = False
    untracked = 0
    fields = iter(text.split("\0"))
    for entry in fields:
        if entry.startswith("# branch.oid "):
            oid = entry[len("# branch.oid ") :]
            commit = None if oid == "(initial)" else oid
        elif entry.startswith("# branch.head "):
            head = entry[len("# branch.head ") :]
            branch = None if head == "(detached)" else head
        elif entry.startswith("? "):
            untracked += 1
        elif entry[:2] in ("1 ", "u "):
            dirty = True
        elif entry.startswith("2 "):  # rename/copy: the original path follows as its own field
            dirty = True
            next(fields, None)
    return commit, branch, dirty, untracked


def _capped_output(
    args: list[str], limit: int, timeout: float
) -> tuple[bytes, int, int | None, str]:
    """Run ``args`` keeping the first ``limit`` bytes of stdout but counting all of it, so a
    gigantic diff costs neither memory nor a full copy. Returns (kept, total, returncode, stderr);
    returncode None means it timed out and was killed."""
    timed_out = threading.Event()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, env=_env()
        )

        def kill() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout, kill)
        timer.daemon = True
        timer.start()
        kept = bytearray()
        total = 0
        try:
            assert proc.stdout is not None
            while chunk := proc.stdout.read(1 << 16):
                total += len(chunk)
                if len(kept) < limit:
                    kept += chunk[: limit - len(kept)]
            proc.stdout.close()
            proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        err.seek(0)
        stderr = err.read(4096).decode("utf-8", "replace").strip()
    return bytes(kept), total, None if timed_out.is_set() else proc.returncode, stderr


def _diff(git: str, root: str, commit: str | None, limit: int) -> tuple[dict[str, Any], list[str]]:
    errors: list[str] = []
    if commit is not None:
        base = "HEAD"
    else:  # no commit yet: everything in the index is new, diff it against the empty tree
        empty = _git(git, root, "hash-object", "-t", "tree", "--stdin")
        if empty.returncode != 0:
            raise _GitFailed("git hash-object: cannot name the empty tree")
        base = empty.stdout.decode().strip()
    kept, total, code, stderr = _capped_output(
        [git, "-C", root, "diff", base, "--no-color", "--no-ext-diff", "--no-textconv"],
        limit,
        DIFF_TIMEOUT,
    )
    if code is None:
        errors.append(f"git diff timed out after {DIFF_TIMEOUT:g} s; the diff is incomplete")
    elif code != 0:
        raise _GitFailed(f"git diff: {stderr or f'exit status {code}'}")
    truncated = total > len(kept) or code is None
    if total > len(kept):
        cut = kept.rfind(b"\n")  # end on a whole line
        kept = kept[: cut + 1] if cut >= 0 else kept
    diff = kept.decode("utf-8", "replace")
    return {"diff": diff, "diff_bytes": total, "diff_truncated": truncated}, errors


def capture_git(
    path: str | os.PathLike[str], max_diff_bytes: int = DIFF_LIMIT
) -> dict[str, Any] | None:
    """The git state of the work tree holding ``path``, or None if it is in none (or git is missing).

    Keys: ``root``, ``commit`` (full sha; None before the first commit), ``branch`` (None when
    detached), ``remote_url`` (origin, credentials stripped; None without one), ``dirty`` (tracked
    files changed, staged or not), ``untracked`` (count of untracked, not ignored files), ``diff``
    (``git diff HEAD``: staged and unstaged changes of tracked files; before the first commit, the
    index against the empty tree), ``diff_bytes`` (its full size), ``diff_truncated`` and ``errors``.
    """
    try:
        return _capture(path, max_diff_bytes)
    except Exception as exc:  # never raise into the caller for environmental reasons
        return _record(None, [f"git capture failed: {type(exc).__name__}: {exc}"])


def _record(root: str | None, errors: list[str]) -> dict[str, Any]:
    return {
        "root": root,
        "commit": None,
        "branch": None,
        "remote_url": None,
        "dirty": None,
        "untracked": None,
        "diff": None,
        "diff_bytes": None,
        "diff_truncated": False,
        "errors": errors,
    }


def _capture(path: str | os.PathLike[str], limit: int) -> dict[str, Any] | None:
    git = shutil.which("git")
    if git is None:
        return None
    where = Path(path)
    if not where.is_dir():
        if not where.exists():
            return None
        where = where.parent
    top = _git(git, str(where), "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        stderr = top.stderr.decode("utf-8", "replace")
        if "dubious ownership" in stderr or "safe.directory" in stderr:
            # a repository git refuses to read (owned by another user): say so rather than None
            return _record(None, ["git refuses this repository: " + stderr.strip()])
        return None
    root = top.stdout.decode("utf-8", "surrogateescape").rstrip("\n")
    errors: list[str] = []
    record = _record(root, errors)
    status_ok = False
    try:
        status = _checked(git, root, "status", "--porcelain=v2", "--branch", "-z", "-uall")
        commit, branch, dirty, untracked = _parse_status(status)
        record.update(commit=commit, branch=branch, dirty=dirty, untracked=untracked)
        status_ok = True
    except _GitFailed as exc:
        errors.append(str(exc))
    try:
        remote = _git(git, root, "config", "--get", "remote.origin.url")
        if remote.returncode == 0:  # 1 means no origin
            url = remote.stdout.decode("utf-8", "replace").strip()
            record["remote_url"] = strip_credentials(url) if url else None
    except _GitFailed as exc:
        errors.append(str(exc))
    if status_ok:
        try:
            diff, diff_errors = _diff(git, root, record["commit"], limit)
            record.update(diff)
            errors.extend(diff_errors)
        except (_GitFailed, OSError) as exc:
            errors.append(str(exc))
    return record
