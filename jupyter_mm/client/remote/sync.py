"""``jupyter mm sync``: send the writes spooled for tracking servers that were unreachable.

Processes replay their spool by themselves when the server is back (and try once more at exit);
this is for what a process could not send before it ended.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from ...errors import MMError, Unavailable
from .spool import Spool, spool_root

SERVER_FILE = "server"


def add_parser(sub: Any) -> None:
    p = sub.add_parser("sync", help="send writes spooled while a tracking server was unreachable")
    p.add_argument(
        "--uri",
        help="the tracking server (default: MM_TRACKING_URI if it is http(s), else every "
        "server with a spool)",
    )
    p.set_defaults(fn=cmd_sync)


def spooled_servers() -> list[str]:
    """The servers that have a spool directory (each remembers its URL)."""
    root = spool_root()
    if not root.is_dir():
        return []
    urls = []
    for d in sorted(root.iterdir()):
        f = d / SERVER_FILE
        if f.is_file():
            urls.append(f.read_text().strip())
    return urls


def cmd_sync(args: argparse.Namespace) -> int:
    from ..backend import is_remote
    from .store import RemoteStore

    uri = args.uri or os.environ.get("MM_TRACKING_URI") or ""
    urls = [uri] if uri and is_remote(uri) else spooled_servers()
    if not urls:
        print(f"nothing to sync (no spool under {spool_root()})")
        return 0
    failed = 0
    for url in urls:
        store = RemoteStore(url)
        try:
            if not store.spool.pending():
                print(f"{store.url}: nothing spooled")
                continue
            result = store.replay(wait=True)
            print(
                f"{store.url}: {result.applied} write(s) sent"
                + (
                    f", {result.rejected} refused (see {store.spool.dir})"
                    if result.rejected
                    else ""
                )
            )
        except Unavailable as e:
            failed += 1
            left = store.spool.pending_records()
            print(f"{store.url}: {e}; {left} write(s) still spooled in {store.spool.dir}")
        except MMError as e:
            failed += 1
            print(f"{store.url}: {e}")
        finally:
            store.close()
    return 1 if failed else 0


def remember_server(spool: Spool, url: str) -> None:
    """Write the server's URL beside its spool, so ``jupyter mm sync`` knows where to send it."""
    f = spool.dir / SERVER_FILE
    if not f.exists():
        spool.dir.mkdir(parents=True, exist_ok=True)
        f.write_text(url + "\n")
