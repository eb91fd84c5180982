"""``jupyter mm`` (or ``jupyter-mm``): look at and look after a store from the shell.

jupyter mm status                  which store, how many experiments and runs
jupyter mm runs [FILTER] [-o KEY]  recent runs as a table
jupyter mm experiments             experiments
jupyter mm check [--repair]        database integrity, artifact hashes, the audit chain and
                                   leftover temporary files (--repair removes those)
jupyter mm server --store URI ...  the team server (docs/team-server.md)
jupyter mm sync [--uri URL]        send writes spooled while a tracking server was down
jupyter mm serve MODEL_URI... ...  serve models over MLflow's scoring protocol and the Open
                                   Inference Protocol v2 (docs/serving.md)
jupyter mm bundle URI --out DIR    a deploy bundle: model, Dockerfile, Kubernetes and KServe
                                   manifests (docs/serving.md)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import MMError


def _store(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from .core.store import Store

    return Store.open(args.store)


def cmd_status(args: argparse.Namespace) -> int:
    from . import __version__

    st = _store(args)
    counts = st.counts()
    print(f"jupyter-mm {__version__}")
    print(f"store: {st.display_uri} ({st.kind})")
    print(f"artifacts: {st.location.artifact_url or '(none configured)'}")
    print(f"experiments: {counts['experiments']}  runs: {counts['runs']}")
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    import pandas as pd

    from .client.reading import runs_frame

    st = _store(args)
    found, _ = st.search_runs(None, args.filter, args.order_by or None, max_results=args.limit)
    frame = runs_frame(found, pd)
    if frame.empty:
        print("no runs")
        return 0
    cols = ["run_id", "name", "status", "experiment", "start_time"]
    cols += [c for c in frame.columns if c.startswith(("params.", "metrics."))]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(frame[cols].to_string(index=False))
    return 0


def cmd_experiments(args: argparse.Namespace) -> int:
    for e in _store(args).list_experiments(view="all"):
        print(f"{e.id:>6}  {e.name}  ({e.lifecycle_stage})")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from .core.integrity import check_store, repair_store

    store = _store(args)
    if args.repair:
        for done in repair_store(store):
            print(f"repaired: {done}")
    problems = check_store(store)
    for p in problems:
        print(f"problem: {p}")
    print("ok" if not problems else f"{len(problems)} problem(s)")
    return 0 if not problems else 1


def cmd_bundle(args: argparse.Namespace) -> int:
    import os

    from .serving.bundle import PredictionLogSettings, bundle, write_bundle
    from .serving.runner import split_columns

    kwargs = {
        "image": args.image,
        "trust": args.trust,
        "deployment_mode": args.deployment_mode,
        "namespace": args.namespace,
        "prediction_log": PredictionLogSettings(
            rate=args.log_predictions,
            uri=args.prediction_log_uri,
            drop=split_columns(args.log_drop),
            hash=split_columns(args.log_hash),
            retention_days=args.log_retention_days,
        ),
    }
    if args.store and not os.path.isdir(args.model_uri):
        done = write_bundle(_store(args), args.model_uri, args.out, **kwargs)
    else:  # MM_TRACKING_URI (a directory, a database or a tracking server), as mm.bundle does
        done = bundle(args.model_uri, args.out, **kwargs)
    version = f" version {done.version}" if done.version else ""
    print(f"bundle of {done.name}{version} ({done.digest}) written to {done.path}")
    print(f"image to build: {done.image}; see {done.path / 'README.md'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jupyter mm", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--store", help="tracking URI (default: MM_TRACKING_URI or the nearest .mm/)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("status", help="which store, how many runs").set_defaults(fn=cmd_status)
    p = sub.add_parser("runs", help="list runs")
    p.add_argument("filter", nargs="?", help='search filter, e.g. "metrics.auc > 0.8"')
    p.add_argument("-o", "--order-by", action="append", help="e.g. 'metrics.auc DESC' (repeatable)")
    p.add_argument("-n", "--limit", type=int, default=20)
    p.set_defaults(fn=cmd_runs)
    sub.add_parser("experiments", help="list experiments").set_defaults(fn=cmd_experiments)
    p = sub.add_parser(
        "check",
        help="verify the database, artifact hashes, the registry audit chain and leftover "
        "temporary files",
    )
    p.add_argument("--repair", action="store_true", help="remove leftover temporary files first")
    p.set_defaults(fn=cmd_check)
    p = sub.add_parser(
        "bundle", help="write a deploy bundle (Dockerfile, Kubernetes, KServe) for a model"
    )
    p.add_argument(
        "model_uri", help="models:/NAME@ALIAS, models:/NAME/VERSION, runs:/RUN/PATH or a directory"
    )
    p.add_argument("--out", required=True, type=Path, help="new (or empty) directory to write")
    p.add_argument("--image", help="image reference the manifests deploy (default NAME:VERSION)")
    p.add_argument("--namespace", help="Kubernetes namespace written into the manifests")
    p.add_argument(
        "--deployment-mode",
        choices=("Standard", "Knative"),
        default="Standard",
        help="KServe deployment mode (always written out; default Standard)",
    )
    p.add_argument(
        "--trust",
        action="store_true",
        help="bundle a model whose loading runs code from its files (pickle, cloudpickle)",
    )
    p.add_argument("--log-predictions", type=float, default=0.0, metavar="RATE",
                   help="the image's server logs this fraction of scored rows (default 0: off)")  # fmt: skip
    p.add_argument("--prediction-log-uri", help="where the image's server writes its log")
    p.add_argument("--log-drop", metavar="COLUMNS", help="comma-separated columns not logged")
    p.add_argument("--log-hash", metavar="COLUMNS",
                   help="comma-separated columns logged hashed (salt: MM_PREDICTION_LOG_SALT, "
                   "from a Secret in the manifests)")  # fmt: skip
    p.add_argument("--log-retention-days", type=int, metavar="DAYS",
                   help="days the log keeps its partitions")  # fmt: skip
    p.set_defaults(fn=cmd_bundle)
    from .server.team_cli import add_parser as add_server_parser

    add_server_parser(sub)
    from .client.remote.sync import add_parser as add_sync_parser

    add_sync_parser(sub)
    from .serving.runner import add_parser as add_serve_parser

    add_serve_parser(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.fn(args))
    except MMError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
