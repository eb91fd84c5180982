"""The ``jupyter mm server`` sub-command: its options, and the call into :mod:`.standalone`.

Kept apart from :mod:`.standalone` so that ``jupyter mm status`` and friends do not import
jupyter_server just to build their argument parser.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

EPILOG = """\
Every option falls back to an environment variable: MM_TRACKING_URI (--store), MM_ARTIFACT_URI
(--artifacts), MM_SERVER_IP, MM_SERVER_PORT, MM_SERVER_BASE_URL, MM_SERVER_USERS_FILE,
MM_SERVER_TOKEN (prefer it to --token: a command line is visible to every local user),
MM_SERVER_TOKEN_USER, MM_SERVER_WORKERS. See docs/team-server.md.
"""


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``server`` on the ``jupyter mm`` sub-parsers."""
    p: argparse.ArgumentParser = sub.add_parser(
        "server",
        help="run the team server (REST + MLflow routes, token auth, no JupyterLab)",
        description="Serve one shared store to a team: jupyter-mm's REST API and MLflow routes, "
        "with per-user tokens; each run records the authenticated user.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--store",
        dest="server_store",
        metavar="URI",
        help="postgresql://user:password@host/db (or a directory / sqlite:///file.db for a trial); "
        "the schema is migrated at start",
    )
    p.add_argument(
        "--artifacts", metavar="URL", help="artifact root, e.g. s3://bucket/prefix or a directory"
    )
    p.add_argument("--ip", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", help="port to listen on (default 8890)")
    p.add_argument("--base-url", help="URL prefix, e.g. /services/mm/ behind JupyterHub")
    p.add_argument(
        "--users-file",
        metavar="FILE",
        help='JSON {"user": "sha256:<hex of token>"}; re-read when it changes',
    )
    p.add_argument("--token", help="one shared token (recorded as --token-user)")
    p.add_argument("--token-user", help="user name of the shared token (default: team)")
    p.add_argument(
        "--workers",
        metavar="N",
        help="server processes sharing the port (SO_REUSEPORT; default 1); a supervisor "
        "restarts any that exits",
    )
    p.add_argument("--certfile", help="TLS certificate (PEM); usually a reverse proxy does TLS")
    p.add_argument("--keyfile", help="TLS private key (PEM)")
    p.add_argument(
        "--new-token",
        metavar="USER",
        help="print a new random token for USER and its users-file entry, then exit",
    )
    p.add_argument(
        "--role",
        choices=("reader", "writer", "admin"),
        help="with --new-token: the user's role (reader: read only; writer, the default: also "
        "track and register; admin: also change registry policies)",
    )
    p.set_defaults(fn=cmd_server)
    return p


def cmd_server(args: argparse.Namespace) -> int:
    if args.new_token:
        from .identity import check_username, new_token, token_digest

        user = check_username(args.new_token, "--new-token")
        token = new_token()
        entry: Any = token_digest(token)
        if args.role:
            entry = {"token": entry, "role": args.role}
        print(f"token for {user} (give it to them; it is not stored): {token}")
        print("users-file entry:", json.dumps({user: entry}))
        return 0
    if args.role:
        from ..errors import InvalidInput

        raise InvalidInput(
            "--role goes with --new-token; a running server takes roles from the users file"
        )
    from .standalone import TeamServerOptions, serve

    return serve(
        TeamServerOptions(
            store=args.server_store or getattr(args, "store", None),
            artifacts=args.artifacts,
            ip=args.ip,
            port=args.port,
            base_url=args.base_url,
            users_file=args.users_file,
            token=args.token,
            token_user=args.token_user,
            certfile=args.certfile,
            keyfile=args.keyfile,
            workers=args.workers,
        )
    )
