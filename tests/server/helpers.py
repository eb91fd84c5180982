"""Helpers for the server-extension tests."""

from __future__ import annotations

import re
from collections.abc import Iterator

from tornado.routing import PathMatches, Router
from tornado.web import Application, RequestHandler

#: Every verb tornado dispatches, with whether a request body goes with it.
VERBS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_BODY_VERBS = {"POST", "PUT", "PATCH"}


def _walk(router: Router) -> Iterator[tuple[str, type[RequestHandler]]]:
    for rule in getattr(router, "rules", []):
        target = rule.target
        if isinstance(target, Router):
            yield from _walk(target)
        elif isinstance(target, type) and issubclass(target, RequestHandler):
            if isinstance(rule.matcher, PathMatches):
                yield rule.matcher.regex.pattern, target


def mm_routes(web_app: Application) -> list[tuple[str, type[RequestHandler]]]:
    """(URL regex, handler class) of every route the jupyter-mm extension registered."""
    routes = [(p, h) for p, h in _walk(web_app.default_router) if "jupyter-mm" in p]
    routes += [(p, h) for p, h in _walk(web_app.wildcard_router) if "jupyter-mm" in p]
    return sorted(set(routes), key=lambda r: r[0])


def implemented_verbs(handler: type[RequestHandler]) -> list[str]:
    return [
        verb
        for verb in VERBS
        if getattr(handler, verb.lower()) is not RequestHandler._unimplemented_method
        and verb in handler.SUPPORTED_METHODS
    ]


def is_public_by_design(handler: type[RequestHandler], verb: str) -> bool:
    """jupyter_server's own ``@allow_unauthenticated`` verbs (APIHandler's CORS-preflight OPTIONS).

    A verb defined by jupyter-mm never counts as public: the tests check that too.
    """
    method = getattr(handler, verb.lower())
    own = getattr(method, "__module__", "").startswith("jupyter_mm")
    return hasattr(method, "__allow_unauthenticated") and not own


def example_path(pattern: str) -> str:
    """A concrete URL path matching a route regex: each group becomes a plausible segment."""
    path = pattern.rstrip("$").lstrip("^")
    # Innermost groups first, so nested groups collapse to one segment.
    group = re.compile(r"\((?:\?P<\w+>)?[^()]*\)")
    while group.search(path):
        # a 32-hex segment fits ids and names; a group that says {64} (a SHA-256) gets 64
        path = group.sub(lambda m: "0123456789abcdef" * (4 if "{64}" in m.group(0) else 2), path)
    path = path.replace("\\", "").replace("?", "")
    return path


def needs_body(verb: str) -> bool:
    return verb in _BODY_VERBS


def refused_sources(exp_id: str, run_id: str, other_run_id: str) -> dict[str, list[str]]:
    """Model-version sources the registry refuses (400 INVALID_PARAMETER_VALUE) for a version of
    ``run_id`` (experiment ``exp_id``), by kind; MLflow 3.17.2 refuses each of them too, except
    the two marked stricter. ``other_run_id`` is another run's id."""
    root = f"mlflow-artifacts:/{exp_id}/{run_id}/artifacts"
    return {
        "plain": [
            "mlflow-artifacts://host:9000/models/../../../",
            "http://host:9000/models/../../../",
            f"{root}/../../../etc",
            f"runs:/{run_id}/../../x",
            "s3://bucket/models/../../other",
        ],
        "encoded": [
            f"{root}/%2E%2E/%2E%2E/etc",
            f"{root}/model/%252E%252E/%252E%252E/etc",  # encoded twice
            "s3://bucket/models/..%2f..%2fother",
            f"runs:/{run_id}/model/%2e%2e/%2e%2e/x",
            "s3://bucket/model%00",
        ],
        "query": [
            "s3://bucket/models?x=../../etc",
            f"{root}/model?path=%2E%2E%2F%2E%2E",
            "gs://bucket/models?p=..",  # stricter: MLflow looks for '..' between '/' only
        ],
        "fragment": [
            "s3://bucket/models#/../../etc",
            f"runs:/{run_id}/model#..",  # stricter, as above
        ],
        "local": [
            "/tmp",
            "file:///etc/passwd",
            "/tmp/x/../..",
            f"mlflow-artifacts:/{exp_id}/{other_run_id}/artifacts/model",  # another run's root
            f"mlflow-artifacts:/9{exp_id}/{run_id}/artifacts/model",  # the run, another experiment
            "mlflow-artifacts:/models",  # inside no run's root
        ],
        "host": ["https://example.com/models/m", "ftp://host/model"],
    }


def accepted_sources(exp_id: str, run_id: str) -> list[str]:
    """Sources MLflow 3.17.2 accepts with ``run_id``, and so must we."""
    root = f"mlflow-artifacts:/{exp_id}/{run_id}/artifacts"
    return [
        f"runs:/{run_id}/model",
        f"{root}/model",
        f"{root}/model///",
        "s3://bucket/models/foo///bar",
        "s3://bucket/models/artifact/..../",
        "gs://bucket/path/model",
        "dbfs:/databricks/mlflow/model",
    ]


def insert_old_versions(db_url: str, name: str, sources: list[str], first: int = 1) -> None:
    """Versions ``first``.. of registered model ``name`` (which must exist, its versions up to
    ``first - 1`` with it) with these sources, written straight into the database as an older
    release, or a hand edit, could have left them: no check of the source runs."""
    import time

    import sqlalchemy as sa

    from jupyter_mm.core import schema as s

    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            m = s.registered_models.c
            model_id = conn.execute(sa.select(m.model_id).where(m.name == name)).scalar_one()
            now = int(time.time() * 1000)
            conn.execute(
                sa.insert(s.model_versions),
                [
                    dict(
                        model_id=model_id,
                        version=i,
                        source=src,
                        status="READY",
                        status_message="",
                        stage="None",
                        description="",
                        user_id="old",
                        creation_time=now,
                        last_update_time=now,
                    )  # fmt: skip
                    for i, src in enumerate(sources, first)
                ],
            )
            conn.execute(
                sa.update(s.registered_models)
                .where(m.model_id == model_id)
                .values(last_version=first + len(sources) - 1)
            )
    finally:
        engine.dispose()


#: Unknown paths under the MLflow prefix, by prefix (MLflow serves api/ and ajax-api/, 2.0 and 3.0).
UNKNOWN_MLFLOW_PATHS = [
    "api/2.0/mlflow/no-such-rpc",
    "api/3.0/mlflow/no-such-rpc",
    "api/3.0/mlflow/traces/x/info",
    "ajax-api/2.0/mlflow/no-such-rpc",
    "ajax-api/3.0/mlflow/no-such-rpc",
    "api/2.0/mlflow-artifacts/no-such-route",
    "api/4.0/mlflow/experiments/list",
    "no-such-page",
]


def parquet_bytes(columns: dict[str, list[object]], row_group_size: int | None = None) -> bytes:
    """A Parquet file of ``columns`` (written by pyarrow), as bytes."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    out = io.BytesIO()
    pq.write_table(pa.table(columns), out, row_group_size=row_group_size)
    return out.getvalue()
