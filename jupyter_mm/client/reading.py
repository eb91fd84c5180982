"""Reading runs back: single runs, DataFrames of runs, metric histories and artifacts."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core import limits, records
from ..core.entities import Run as _Run
from ..errors import NotFound
from .backend import get_store as _open_store
from .backend import get_tracking_uri, store_exists

if TYPE_CHECKING:
    import pandas as pd

    from ..core.entities import ArtifactInfo, Run
    from ..core.store import TrackingStore


def get_store() -> TrackingStore:
    """The store, for reading: a missing default store is not created just to be read."""
    if not store_exists():
        raise NotFound(
            f"nothing has been tracked here yet: there is no store at {get_tracking_uri()} "
            "(it is created by the first run)"
        )
    return _open_store()


def get_run(run_id: str) -> RunRecord:
    """The run, with its notebook records (``environment``, ``git``, ``execution_log``, ``cell``)
    loaded on first access."""
    store = get_store()
    run = store.get_run(_id(run_id))
    return RunRecord(
        **{f.name: getattr(run, f.name) for f in dataclasses.fields(run)}, _store=store
    )


@dataclasses.dataclass(frozen=True, repr=False)
class RunRecord(_Run):
    """A :class:`~jupyter_mm.core.entities.Run` plus the records a ``%%track`` cell stored."""

    _store: Any = dataclasses.field(default=None, compare=False)

    def _record(self, path: str) -> Any:
        try:
            return json.loads(self._store.read_artifact(self.id, path))
        except NotFound:
            return None

    @functools.cached_property
    def environment(self) -> dict[str, Any] | None:
        """Python, platform, hardware, installed and imported packages (None if not recorded)."""
        return self._record(records.ENVIRONMENT)

    @functools.cached_property
    def git(self) -> dict[str, Any] | None:
        """Repository, commit, branch, remote, dirty flag and uncommitted diff."""
        return self._record(records.GIT)

    @functools.cached_property
    def execution_log(self) -> dict[str, Any] | None:
        """``{"entries": [...], "flags": {"out_of_order", "edited_after_run", ...}}``."""
        return self._record(records.EXECUTION_LOG)

    @functools.cached_property
    def cell(self) -> dict[str, Any] | None:
        """The tracked cell: source, cell id, execution count and outputs."""
        return self._record(records.CELL)


def snapshot(run_id: Any) -> Any:
    """The run's notebook as it ran (an nbformat notebook): JupyterLab's live document when it
    sent one, else the kernel's copy from disk or from its history. ``.metadata["jupyter_mm"]``
    says which."""
    from .snapshots import best_snapshot

    nb, source = best_snapshot(get_store(), _id(run_id))
    nb.metadata.setdefault("jupyter_mm", {})["snapshot_source"] = source
    return nb


def restore(run_id: Any, path: str | os.PathLike[str] | None = None) -> str:
    """Write the run's notebook snapshot as a new notebook (next to the original by default,
    named after the run) and return its path. Never overwrites an existing file."""
    import nbformat

    rid = _id(run_id)
    nb = snapshot(rid)
    if path is None:
        run = get_store().get_run(rid)
        original = run.tags.get(records.TAG_NOTEBOOK_FILE)
        folder = (
            Path(original).parent if original and Path(original).parent.is_dir() else Path.cwd()
        )
        stem = Path(original).stem if original else "notebook"
        target = folder / f"{stem}-{run.name}.ipynb"
        n = 1
        while target.exists():
            n += 1
            target = folder / f"{stem}-{run.name}-{n}.ipynb"
    else:
        target = Path(path)
        if target.exists():
            from ..errors import InvalidInput

            raise InvalidInput(f"{str(target)!r} exists; restore writes a new notebook")
    nbformat.write(nb, str(target))
    return str(target)


def _id(run: Any) -> str:
    return run if isinstance(run, str) else run.id


def _experiment_ids(experiment: str | Iterable[str] | None) -> list[str] | None:
    if experiment is None:
        return None
    store = get_store()
    names = [experiment] if isinstance(experiment, str) else list(experiment)
    ids = []
    for name in names:
        exp = store.get_experiment_by_name(name)
        if exp is None:
            if name.isdigit():
                ids.append(name)
                continue
            raise NotFound(f"no experiment named {name!r}")
        ids.append(exp.id)
    return ids


def runs(
    filter: str | None = None,
    order_by: str | Sequence[str] | None = None,
    experiment: str | Iterable[str] | None = None,
    max_results: int | None = None,
) -> pd.DataFrame:
    """Runs as a DataFrame: ``run_id``, ``name``, ``status``, ``start_time``, ``end_time``,
    ``experiment``, then ``params.*``, ``metrics.*`` (latest values) and ``tags.*`` columns."""
    import pandas as pd

    if not store_exists():
        return runs_frame([], pd)
    store = get_store()
    orders = [order_by] if isinstance(order_by, str) else list(order_by or [])
    wanted = max_results if max_results is not None else None
    collected: list[Run] = []
    token = None
    while True:
        page = (
            limits.MAX_RESULTS
            if wanted is None
            else min(limits.MAX_RESULTS, wanted - len(collected))
        )
        batch, token = store.search_runs(
            _experiment_ids(experiment), filter, orders, max_results=page, page_token=token
        )
        collected.extend(batch)
        if token is None or (wanted is not None and len(collected) >= wanted):
            break
    return runs_frame(collected, pd)


def runs_frame(items: list[Run], pd: Any) -> pd.DataFrame:
    base = {
        "run_id": [r.id for r in items],
        "name": [r.name for r in items],
        "status": [r.status for r in items],
        "start_time": pd.to_datetime([r.start_time for r in items], unit="ms", utc=True),
        "end_time": pd.to_datetime([r.end_time for r in items], unit="ms", utc=True),
        "experiment": [r.experiment for r in items],
        "user": [r.user for r in items],
    }
    extra: dict[str, list[Any]] = {}
    for prefix, attr in (("params", "params"), ("metrics", "metrics"), ("tags", "tags")):
        keys = sorted({k for r in items for k in getattr(r, attr)})
        for k in keys:
            extra[f"{prefix}.{k}"] = [getattr(r, attr).get(k) for r in items]
    frame = pd.DataFrame({**base, **extra})
    for col in frame.columns:
        if col.startswith("metrics."):
            frame[col] = frame[col].astype("float64")
    from .comparison import runs_frame_class  # shows statuses in colour; otherwise plain pandas

    return runs_frame_class()(frame)


def metric_history(run_id: Any, key: str, max_points: int | None = None) -> pd.DataFrame:
    """A metric's history (``step``, ``value``, ``timestamp``); with ``max_points``, down-sampled
    keeping each bucket's minimum and maximum so spikes survive."""
    import pandas as pd

    h = get_store().get_metric_history(_id(run_id), key, max_points=max_points)
    frame = pd.DataFrame({"step": h["step"], "value": h["value"], "timestamp": h["timestamp"]})
    if not len(frame) and key not in get_store().metric_keys(_id(run_id)):
        raise NotFound(f"run {_id(run_id)} has no metric {key!r}")
    return frame


def experiments() -> pd.DataFrame:
    import pandas as pd

    rows = get_store().list_experiments() if store_exists() else []
    return pd.DataFrame(
        {
            "experiment_id": [e.id for e in rows],
            "name": [e.name for e in rows],
            "creation_time": pd.to_datetime([e.creation_time for e in rows], unit="ms", utc=True),
        }
    )


def list_artifacts(
    run_id: Any, path: str | None = None, recursive: bool = True
) -> list[ArtifactInfo]:
    return get_store().list_artifacts(_id(run_id), path, recursive=recursive)


def load_artifact(run_id: Any, path: str) -> bytes:
    return get_store().read_artifact(_id(run_id), path)


def download_artifacts(
    run_id: Any, path: str | None = None, dest: str | os.PathLike[str] = "."
) -> str:
    """Copy an artifact (or a folder of them) under ``dest``, keeping logical paths; returns the
    local path of what was downloaded. Content is verified against its hash as it is written."""
    store = get_store()
    rid = _id(run_id)
    root = Path(dest)
    if path is None:
        files = store.list_artifacts(rid, recursive=True)
    else:
        try:  # one file, else a folder of them
            files = [store.artifact_info(rid, path)]
        except NotFound:
            files = store.list_artifacts(rid, path, recursive=True)
            if not files:
                raise
    for a in files:
        target = root.joinpath(*a.path.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        with open(tmp, "wb") as out:
            for block in store.iter_artifact(rid, a.path):
                out.write(block)
        os.replace(tmp, target)
    return str(root.joinpath(*path.split("/")) if path else root)
