"""The core's logged models: models the MLflow adapter kept inside runs before migration 0007
become entities with their record, and a model's own files are checked like run artifacts."""

from __future__ import annotations

import json
from pathlib import Path

from alembic import command

from jupyter_mm.core import migrate
from jupyter_mm.core.integrity import check_store
from jupyter_mm.core.store import Store


def test_0007_adopts_models_kept_in_runs(store_uri: str, tmp_path: Path) -> None:
    """A pre-0007 store kept an MLflow logged model as a run tag plus a JSON record artifact;
    after the upgrade it is a logged model with that record's status, tags, params and metrics,
    its files still in the run, and the run lists it as an output."""
    artifacts = str(tmp_path / "artifacts")
    model_id = "m-" + "a" * 32
    record = {
        "model_id": model_id, "name": "clf", "model_type": "sk", "status": "LOGGED_MODEL_READY",
        "creation_timestamp_ms": 5, "last_updated_timestamp_ms": 6,
        "tags": {"k": "v"}, "params": {"depth": "3"},
        "metrics": [{"key": "acc", "value": 0.5, "step": 1, "timestamp": 7}],
    }  # fmt: skip
    with Store.open(store_uri, artifact_uri=artifacts) as st:
        run = st.create_run("0")
        st.log_artifact(run.id, f".mlflow/models/{model_id}.json", json.dumps(record).encode())
        st.log_artifact(run.id, f"models/{model_id}/MLmodel", b"flavors: {}\n")
        st.set_tag(run.id, "mm.mlflow.models", json.dumps({model_id: "clf"}))
        with st.engine.connect() as conn:  # back to the store as it was before logged models
            command.downgrade(migrate.alembic_config(conn), "0006")
            conn.commit()
        migrate.upgrade(st.engine)
    with Store.open(store_uri, artifact_uri=artifacts) as st:
        model = st.get_logged_model(model_id)
        assert (model.name, model.status, model.model_type) == ("clf", "READY", "sk")
        assert (model.tags, model.params) == ({"k": "v"}, {"depth": "3"})
        assert [(m.key, m.value, m.step, m.run_id) for m in model.metrics] == [
            ("acc", 0.5, 1, run.id)
        ]
        assert (model.creation_time, model.status_message) == (5, "")
        assert (model.source_run_id, model.artifact_run_id) == (run.id, run.id)
        assert [link.model_id for link in st.run_model_links([run.id])[run.id]] == [model_id]
        found, _ = st.search_logged_models(["0"], filter="params.depth = '3'")
        assert [m.model_id for m in found] == [model_id]


def test_a_models_own_files_are_checked(tmp_path: Path) -> None:
    with Store.open(str(tmp_path / "st")) as st:
        model = st.create_logged_model("0", "own")
        [info] = st.log_model_artifacts(model.model_id, [("MLmodel", b"flavors: {}\n", None)])
        assert st.read_model_artifact(model.model_id, "MLmodel") == b"flavors: {}\n"
        assert check_store(st) == []
        Path(st.blobs._path(info.digest)).write_bytes(b"tampered")
        assert any(info.digest in p for p in check_store(st))
