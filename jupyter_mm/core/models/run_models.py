"""The models a run holds, both kinds, as one list to pick from (the Register dialog's).

* ``mm``: logged with ``mm.log_model``, listed in the run tag ``mm.models``; registered from
  ``runs:/<run>/<path>``.
* ``mlflow``: MLflow 3 logged models (``m-<32 hex>``) whose source run this is or that the run
  logged as an output; registered from ``models:/<model_id>``, as MLflow registers them, so the
  version records the logged model and not only a path.

Only models whose ``MLmodel`` can be found are listed (a half-uploaded model cannot be
registered), except a logged model kept apart from any run, which MLflow itself can register.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...errors import InvalidInput, NotFound
from .mlmodel import MLMODEL, MLModel
from .uris import MODELS_TAG, _json_tag

if TYPE_CHECKING:
    from ..store import Store

PYFUNC = "python_function"


@dataclass(frozen=True)
class RunModel:
    """One model of a run: what the Register dialog shows and the ``source`` it registers."""

    kind: str  # "mm" | "mlflow"
    name: str
    path: str | None  # the model's directory among the run's artifacts (None: kept apart)
    model_id: str | None  # the logged model's id (kind "mlflow")
    flavor: str | None
    logged_time: int | None  # ms
    source: str


def _flavor(flavors: Mapping[str, object]) -> str | None:
    """The model's own flavor (``sklearn``...), else ``python_function``."""
    own = sorted(k for k in flavors if k != PYFUNC)
    return own[0] if own else (PYFUNC if PYFUNC in flavors else None)


def _mlmodel(store: Store, run_id: str, path: str) -> tuple[str | None, int | None] | None:
    """(flavor, time) of the ``MLmodel`` under ``path``; None when there is none."""
    try:
        info = store.artifact_info(run_id, f"{path}/{MLMODEL}")
        flavors = MLModel.from_yaml(store.read_artifact(run_id, info.path)).flavors
    except NotFound:
        return None
    except InvalidInput:  # an unreadable MLmodel is still a model someone may want to see
        return None, None
    return _flavor(flavors), info.created_time


def run_models(store: Store, run_id: str) -> list[RunModel]:
    """The run's models: ``mm.log_model``'s by name, then the ``mlflow`` client's, newest
    first. NotFound when the run does not exist."""
    run = store.get_run(run_id)
    out: list[RunModel] = []
    for name, info in sorted(_json_tag(run, MODELS_TAG).items()):
        path = info.get("artifact_path") if isinstance(info, dict) else None
        path = path if isinstance(path, str) and path else f"models/{name}"
        found = _mlmodel(store, run.id, path)
        if found is None:
            continue
        flavor = info.get("flavor") if isinstance(info, dict) else None
        out.append(
            RunModel(
                kind="mm", name=name, path=path, model_id=None,
                flavor=flavor if isinstance(flavor, str) else found[0], logged_time=found[1],
                source=f"runs:/{run.id}/{path}",
            )
        )  # fmt: skip
    model_ids: list[str] = []
    made, _ = store.search_logged_models(
        [run.experiment_id], filter=f"source_run_id = '{run.id}'", max_results=100
    )
    model_ids += [m.model_id for m in made]
    links = store.run_model_links([run.id]).get(run.id, [])
    model_ids += [k.model_id for k in links if k.direction == "output"]
    mlflow: list[RunModel] = []
    for model_id in dict.fromkeys(model_ids):
        try:
            model = store.get_logged_model(model_id)
        except NotFound:  # deleted since it was linked
            continue
        if model.artifact_run_id is not None:
            found = _mlmodel(store, model.artifact_run_id, model.files_prefix)
            if found is None:  # not finalized: no MLmodel yet
                continue
            flavor, _ = found
        else:
            flavor = model.model_type or None
        mlflow.append(
            RunModel(
                kind="mlflow", name=model.name, path=model.files_prefix
                if model.artifact_run_id == run.id else None,
                model_id=model.model_id, flavor=flavor, logged_time=model.creation_time,
                source=f"models:/{model.model_id}",
            )
        )  # fmt: skip
    mlflow.sort(key=lambda m: -(m.logged_time or 0))
    return out + mlflow
