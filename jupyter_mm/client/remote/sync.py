"""``jupyter mm sync``: send the writes spooled for tracking servers that were unreachable.

Processes replay their spool by themselves when the server is back (and try once more at exit);
this is for what a process could not send before it ended. It also writes the fallback spools of
local stores (``client/fallback.py``): metric points a full or unavailable store could not take
before their run ended; and moves the rows prediction logs spooled when they closed on a full
disk (``serving/prediction_spool.py``) into their logs.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from ...errors import MMError
from .spool import ReplayResult, Spool, spool_root

SERVER_FILE = "server"


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "sync",
        help="send writes spooled while a tracking server was unreachable, and points a "
        "local store could not take (its disk full)",
    )
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
    local = [] if uri and is_remote(uri) else _local_spools(uri)
    logs = [] if uri and is_remote(uri) else _prediction_spools()
    if not urls and not local and not logs:
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
            print(f"{store.url}: {_summary(result, store.spool)}")
        except MMError as e:
            failed += 1
            left = store.spool.pending_records()
            print(f"{store.url}: {e}; {left} write(s) still spooled in {store.spool.dir}")
        finally:
            store.close()
    for spool, db_url, artifact_url in local:
        failed += _sync_local(spool, db_url, artifact_url)
    for root in logs:
        failed += _sync_predictions(root)
    return 1 if failed else 0


def _prediction_spools() -> list[str]:
    from ...serving.prediction_spool import spooled_logs

    return spooled_logs()


def _sync_predictions(root: str) -> int:
    """Move a prediction log's spooled rows into it; 1 if parts are still waiting."""
    from ...serving.prediction_spool import drain, spool_dir

    moved, left = drain(root)
    if left:
        print(f"prediction log {root}: {moved} row(s) written; {left} part(s) still spooled in "
              f"{spool_dir(root)}")  # fmt: skip
        return 1
    print(f"prediction log {root}: {moved} spooled row(s) written")
    return 0


def _summary(result: ReplayResult, spool: Spool) -> str:
    refused = f", {result.rejected} refused (see {spool.dir})" if result.rejected else ""
    return f"{result.applied} write(s) sent{refused}"


def _local_spools(uri: str) -> list[tuple[Spool, str, str | None]]:
    """The fallback spools of local stores: the one of ``uri`` if given, else all."""
    from .. import fallback

    found = [(Spool(d), db, art) for d, db, art in fallback.spooled_stores()]
    if uri:
        from ...core.locations import resolve

        db_url = resolve(uri).db_url
        found = [f for f in found if f[1] == db_url]
    return found


def _sync_local(spool: Spool, db_url: str, artifact_url: str | None) -> int:
    """Write a local store's fallback spool to it; 1 if points are still waiting."""
    from ...core.locations import mask_password
    from ...core.store import Store
    from .. import fallback

    name = mask_password(db_url)
    if not spool.pending():
        print(f"{name}: nothing spooled")
        return 0
    try:
        with Store.open(db_url, artifact_uri=artifact_url) as store:
            result = fallback.replay(store, spool)
    except MMError as e:
        print(f"{name}: {e}; {spool.pending_records()} write(s) still spooled in {spool.dir}")
        return 1
    print(f"{name}: {_summary(result, spool)}")
    return 0


def remember_server(spool: Spool, url: str) -> None:
    """Write the server's URL beside its spool, so ``jupyter mm sync`` knows where to send it."""
    f = spool.dir / SERVER_FILE
    if not f.exists():
        spool.dir.mkdir(parents=True, exist_ok=True)
        f.write_text(url + "\n")
