"""Deploy bundles (``jupyter mm bundle`` / ``mm.bundle``) from a real SQLite store: the files and
their digests, the pinned requirements, the Kubernetes manifests against the Kubernetes schemas
(``kubernetes-validate``), the InferenceService against KServe's CRD schema, the Dockerfile
parsed, a tampered blob refused, and the bundle's own server started from a fresh virtualenv.

The virtualenv test installs the bundle's requirements from PyPI once per session (pip's cache
makes later runs fast); ``MM_SKIP_BUNDLE_VENV=1`` skips it explicitly. Docker cannot run here, so
no image is built: the Dockerfile is checked by parsing it.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

import jupyter_mm as mm
from jupyter_mm.cli import main as cli_main
from jupyter_mm.client import backend, tracking
from jupyter_mm.errors import IntegrityError, InvalidInput, UntrustedModel
from jupyter_mm.serving.bundle import lock_requirements, model_digest, write_bundle

linear = pytest.importorskip("sklearn.linear_model")

DATA = Path(__file__).parent / "data"
K8S_VERSION = "1.37.0"
TOKEN = "bundle-test-token"


class Doubler:
    """A plain object with ``predict``: cloudpickled, so loading it needs trust."""

    def predict(self, X: Any) -> Any:
        return np.asarray(X, dtype=float)[:, 0] * 2


def _frame(n: int = 40) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(11)
    X = pd.DataFrame({"income": rng.normal(50, 10, n), "age": rng.integers(18, 80, n)})
    y = (X["income"] + rng.normal(0, 5, n) > 50).astype(int).to_numpy()
    return X, y


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A store with ``credit-risk`` version 1 (a scikit-learn model) approved and aliased
    ``champion``; ``mm`` points at it for the module."""
    root = tmp_path_factory.mktemp("bundle-store")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("MM_TRACKING_URI", "MM_EXPERIMENT_NAME", "MM_ARTIFACT_URI"):
            mp.delenv(var, raising=False)
        mp.setattr(tracking, "_experiment", None)
        mp.setattr(tracking, "_last", None)
        mm.set_tracking_uri(str(root / "store"))
        try:
            X, y = _frame()
            mp.setenv("MM_USER", "alice")
            with mm.start_run() as run:
                info = mm.log_model(
                    linear.LogisticRegression(max_iter=500).fit(X, y), "scorer", X.head(3)
                )
            version = mm.register_model(info.model_uri, "credit-risk")
            mm.request_approval("credit-risk", version.version, comment="validated")
            mp.setenv("MM_USER", "bob")
            mm.approve("credit-risk", version.version, comment="ok")
            mm.set_alias("credit-risk", "champion", version.version)
            yield {"root": root, "run_id": run.id, "X": X, "store": backend.get_store()}
        finally:
            while mm.active_run() is not None:
                mm.end_run()
            mm.set_tracking_uri(None)


@pytest.fixture(scope="module")
def built(registered: dict[str, Any]) -> Path:
    """The bundle of ``models:/credit-risk@champion``, written once for the module."""
    out = registered["root"] / "bundle"
    mm.bundle("models:/credit-risk@champion", out, namespace="models")
    return out


def _yaml(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text())
    assert isinstance(doc, dict)
    return doc


# ---------------------------------------------------------------- the bundle's files


def test_bundle_holds_the_verified_model_and_its_record(
    registered: dict[str, Any], built: Path
) -> None:
    store = registered["store"]
    run_id = registered["run_id"]
    stored = {
        a.path[len("models/scorer/") :]: a.digest
        for a in store.list_artifacts(run_id, "models/scorer", recursive=True)
    }
    model = built / "model"
    on_disk = {
        p.relative_to(model).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in model.rglob("*")
        if p.is_file()
    }
    assert on_disk == stored
    sums = dict(
        reversed(line.split("  ", 1)) for line in (built / "SHA256SUMS").read_text().splitlines()
    )
    assert sums == {f"model/{rel}": d for rel, d in stored.items()}
    digest = model_digest(stored)
    listing = "".join(f"{stored[r]}  {r}\n" for r in sorted(stored))
    assert digest == "sha256:" + hashlib.sha256(listing.encode()).hexdigest()

    manifest = json.loads((built / "deploy_manifest.json").read_text())
    assert manifest["model"]["name"] == "credit-risk"
    assert manifest["model"]["version"] == "1"
    assert manifest["model"]["digest"] == digest
    assert manifest["model"]["files"] == stored
    assert manifest["run"]["id"] == run_id
    assert manifest["approval"]["status"] == "Approved"
    assert manifest["approval"]["decided_by"] == "bob"
    assert manifest["aliases"] == ["champion"]
    card = (built / "MODEL_CARD.md").read_text()
    assert "credit-risk" in card and card == store.model_card("credit-risk", 1, "markdown")
    readme = (built / "README.md").read_text()
    for command in ("docker build", "pip install -r requirements.txt", "kubectl", "No image"):
        assert command in readme
    assert not list(built.parent.glob(".bundle.*"))  # no temporary directory left behind


def test_requirements_are_pinned_and_hold_no_jupyter(built: Path) -> None:
    lines = [
        line
        for line in (built / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    names = {line.split("==")[0].lower() for line in lines}
    assert all("==" in line for line in lines), lines
    # the model's own requirements, then the server's
    assert {"scikit-learn", "skops", "numpy", "pandas", "scipy"} <= names
    assert {"tornado", "pyyaml", "prometheus-client", "pyarrow", "fsspec"} <= names
    # MLflow is in the model's requirements.txt for MLflow's loader only: ours loads it natively
    model_reqs = (built / "model" / "requirements.txt").read_text()
    assert "mlflow==" in model_reqs and "mlflow" not in names
    assert not names & {"jupyter-mm", "jupyterlab", "jupyter-server", "sqlalchemy", "ipython"}


def test_vendored_server_is_the_jupyter_free_part(built: Path) -> None:
    pkg = built / "server" / "jupyter_mm"
    files = {p.relative_to(pkg).as_posix() for p in pkg.rglob("*.py")}
    assert {"__init__.py", "errors.py", "core/__init__.py", "core/artifacts.py"} <= files
    assert {"core/models/format.py", "core/models/signature.py", "serving/bundle.py"} <= files
    assert not any(f.startswith(("server/", "client/", "notebook/", "core/store/")) for f in files)
    src = Path(mm.__file__).parent
    for rel in files:
        assert (pkg / rel).read_bytes() == (src / rel).read_bytes(), rel
    # the vendored code imports without the rest of the package (nor SQLAlchemy, Jupyter)
    code = (
        "import sys, jupyter_mm.core.models.format, jupyter_mm.core.models.files;"
        "bad = {'sqlalchemy', 'jupyter_server', 'jupyterlab', 'IPython'} & set(sys.modules);"
        "assert not bad, bad;"
        "assert jupyter_mm.__file__.startswith(sys.argv[1]), jupyter_mm.__file__"
    )
    env = {**os.environ, "PYTHONPATH": str(built / "server")}
    subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            f"import sys; sys.path.insert(0, {str(built / 'server')!r}); {code}",
            str(built / "server"),
        ],
        check=True,
        env=env,
    )


# ---------------------------------------------------------------- Kubernetes and KServe


def test_kubernetes_manifests_validate(built: Path) -> None:
    import kubernetes_validate

    docs = {p.name: _yaml(p) for p in sorted((built / "k8s").glob("*.yaml"))}
    assert set(docs) == {"deployment.yaml", "service.yaml", "hpa.yaml"}
    for doc in docs.values():
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)  # raises on any error
        assert doc["metadata"]["name"] == "credit-risk" and doc["metadata"]["namespace"] == "models"

    deployment = docs["deployment.yaml"]
    pod = deployment["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"] == {
        "path": "/v2/health/ready",
        "port": 8080,
        "scheme": "HTTP",
    }
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    sc = container["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert pod["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert pod["metadata"]["annotations"]["prometheus.io/path"] == "/metrics"
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == "8080"
    digest = json.loads((built / "deploy_manifest.json").read_text())["model"]["digest"]
    assert pod["metadata"]["annotations"]["jupyter-mm.io/model-digest"] == digest
    assert docs["hpa.yaml"]["apiVersion"] == "autoscaling/v2"
    assert docs["hpa.yaml"]["spec"]["scaleTargetRef"]["name"] == "credit-risk"
    assert docs["service.yaml"]["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]

    # the validator is strict: the same Deployment with a misspelt field is refused
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def _kserve_schema() -> dict[str, Any]:
    return _yaml(DATA / "kserve_inferenceservice_v1beta1.schema.yaml")


def _unknown_fields(doc: Any, schema: dict[str, Any], where: str = "") -> list[str]:
    """Fields the structural schema does not declare (the API server would prune them silently;
    ``kubectl --validate=strict`` refuses them)."""
    found: list[str] = []
    if isinstance(doc, dict) and "properties" in schema:
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            return found
        for key, value in doc.items():
            sub = schema["properties"].get(key)
            if sub is None:
                found.append(f"{where}.{key}")
            else:
                found += _unknown_fields(value, sub, f"{where}.{key}")
    elif isinstance(doc, list) and "items" in schema:
        for i, item in enumerate(doc):
            found += _unknown_fields(item, schema["items"], f"{where}[{i}]")
    return found


def test_inference_service_validates_against_kserve_crd(built: Path) -> None:
    import jsonschema

    schema = _kserve_schema()
    isvc = _yaml(built / "kserve" / "inferenceservice.yaml")
    jsonschema.validate(isvc, schema)
    assert _unknown_fields(isvc, schema) == []
    assert isvc["apiVersion"] == "serving.kserve.io/v1beta1" and isvc["kind"] == "InferenceService"
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"
    (container,) = isvc["spec"]["predictor"]["containers"]
    deployment = _yaml(built / "k8s" / "deployment.yaml")
    assert container["name"] == "kserve-container"
    assert container["image"] == deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"

    # the schema bites: a wrong type, a missing predictor and an unknown field are all caught
    bad = json.loads(json.dumps(isvc))
    bad["spec"]["predictor"]["minReplicas"] = "one"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**isvc, "spec": {}}, schema)
    bad = json.loads(json.dumps(isvc))
    bad["spec"]["predictor"]["containers"][0]["prot"] = 8080
    assert _unknown_fields(bad, schema) == [".spec.predictor.containers[0].prot"]


def test_deployment_mode_and_image_are_written_as_given(
    registered: dict[str, Any], tmp_path: Path
) -> None:
    image = "registry.example/credit-risk@sha256:" + "a" * 64
    done = write_bundle(
        registered["store"],
        "models:/credit-risk/1",
        tmp_path / "b",
        image=image,
        deployment_mode="Knative",
    )
    isvc = _yaml(done.path / "kserve" / "inferenceservice.yaml")
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Knative"
    assert isvc["spec"]["predictor"]["containers"][0]["image"] == image
    deployment = _yaml(done.path / "k8s" / "deployment.yaml")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == image
    with pytest.raises(InvalidInput, match="deployment mode"):
        write_bundle(
            registered["store"],
            "models:/credit-risk/1",
            tmp_path / "c",
            deployment_mode="Serverless",
        )
    assert not (tmp_path / "c").exists()


# ---------------------------------------------------------------- the Dockerfile


def test_dockerfile_base_user_healthcheck_and_labels(
    registered: dict[str, Any], built: Path
) -> None:
    from dockerfile_parse import DockerfileParser

    parser = DockerfileParser(path=str(built / "Dockerfile"))
    assert parser.baseimage == f"python:{sys.version_info[0]}.{sys.version_info[1]}-slim"
    instructions = [(i["instruction"], i["value"]) for i in parser.structure]
    users = [v for ins, v in instructions if ins == "USER"]
    assert len(users) == 1
    uid, _, gid = users[0].partition(":")
    assert uid.isdigit() and int(uid) > 0 and gid.isdigit() and int(gid) > 0
    (health,) = [v for ins, v in instructions if ins == "HEALTHCHECK"]
    assert "/v2/health/ready" in health and "urllib.request" in health and "curl" not in health
    assert ("EXPOSE", "8080") in instructions
    (cmd,) = [v for ins, v in instructions if ins == "CMD"]
    argv = json.loads(cmd)
    assert argv[:5] == ["python", "-m", "jupyter_mm.serving", "--model-dir", "/opt/model"]
    assert argv[argv.index("--host") + 1] == "0.0.0.0" and argv[argv.index("--port") + 1] == "8080"
    # nothing installs jupyter-mm or JupyterLab: only the bundle's requirements
    runs = " ".join(v for ins, v in instructions if ins == "RUN")
    assert "pip install --no-cache-dir -r /opt/server/requirements.txt" in runs
    assert "jupyter" not in runs.lower()

    labels = parser.labels
    manifest = json.loads((built / "deploy_manifest.json").read_text())
    assert labels["org.opencontainers.image.title"] == "credit-risk"
    assert labels["org.opencontainers.image.version"] == "1"
    assert labels["org.opencontainers.image.created"] == manifest["created"]
    assert labels["io.jupyter-mm.model.name"] == "credit-risk"
    assert labels["io.jupyter-mm.model.version"] == "1"
    assert labels["io.jupyter-mm.model.digest"] == manifest["model"]["digest"]
    assert labels["io.jupyter-mm.model.run-id"] == registered["run_id"]
    assert argv[argv.index("--digest") + 1] == manifest["model"]["digest"]


def test_dockerfile_labels_carry_the_runs_git_commit(
    registered: dict[str, Any], tmp_path: Path
) -> None:
    from dockerfile_parse import DockerfileParser

    store = registered["store"]
    with mm.start_run() as run:
        X, y = _frame()
        info = mm.log_model(linear.LogisticRegression(max_iter=300).fit(X, y), "m", X.head(2))
        mm.set_tag("mlflow.source.git.commit", "0123456789abcdef0123456789abcdef01234567")
        mm.set_tag("mlflow.source.git.repoURL", "https://git.example/risk/models.git")
    done = write_bundle(store, info.model_uri, tmp_path / "b")
    labels = DockerfileParser(path=str(done.path / "Dockerfile")).labels
    assert labels["org.opencontainers.image.revision"] == "0123456789abcdef0123456789abcdef01234567"
    assert labels["org.opencontainers.image.source"] == "https://git.example/risk/models.git"
    assert labels["io.jupyter-mm.model.run-id"] == run.id
    assert "io.jupyter-mm.model.version" not in labels  # a runs:/ URI has no registry version
    assert not (done.path / "MODEL_CARD.md").exists()


# ---------------------------------------------------------------- refusals


def test_tampered_blob_stops_the_bundle(registered: dict[str, Any], tmp_path: Path) -> None:
    store = registered["store"]
    X, y = _frame()
    with mm.start_run():
        info = mm.log_model(linear.LogisticRegression(max_iter=200).fit(X, y), "t", X.head(2))
    digest = store.artifact_info(info.run_id, f"{info.artifact_path}/MLmodel").digest
    (blob,) = [p for p in (registered["root"] / "store").rglob(digest[2:]) if p.is_file()]
    blob.chmod(0o644)
    blob.write_bytes(blob.read_bytes().replace(b"sklearn", b"sklearm"))
    out = tmp_path / "tampered"
    with pytest.raises(IntegrityError, match="MLmodel.*no bundle was written"):
        write_bundle(store, info.model_uri, out)
    assert not out.exists()
    assert not list(tmp_path.glob(".tampered.*"))
    # the CLI says so in one line, exit code 2, no traceback
    code = cli_main(
        ["--store", str(registered["root"] / "store"), "bundle", info.model_uri, "--out", str(out)]
    )
    assert code == 2 and not out.exists()


def test_untrusted_model_needs_trust(registered: dict[str, Any], tmp_path: Path) -> None:
    with mm.start_run():
        info = mm.log_model(Doubler(), "doubler", pd.DataFrame({"x": [1.0, 2.0]}))
    with pytest.raises(UntrustedModel, match="trust"):
        write_bundle(registered["store"], info.model_uri, tmp_path / "u")
    assert not (tmp_path / "u").exists()
    done = write_bundle(registered["store"], info.model_uri, tmp_path / "u", trust=True)
    from dockerfile_parse import DockerfileParser

    (cmd,) = [
        i["value"]
        for i in DockerfileParser(path=str(done.path / "Dockerfile")).structure
        if i["instruction"] == "CMD"
    ]
    assert "--trust" in json.loads(cmd)
    assert "cloudpickle==" in (done.path / "requirements.txt").read_text()


def test_out_must_be_new_or_empty(registered: dict[str, Any], built: Path) -> None:
    with pytest.raises(InvalidInput, match="not an empty directory"):
        write_bundle(registered["store"], "models:/credit-risk/1", built)
    assert (built / "Dockerfile").is_file()  # the existing bundle is untouched


def test_lock_refuses_what_it_cannot_pin() -> None:
    installed = np.__version__
    text = lock_requirements(["numpy", "# a comment", "pandas>=1"])
    assert f"numpy=={installed}\n" in text and f"pandas=={pd.__version__}\n" in text
    with pytest.raises(InvalidInput, match="does not satisfy"):
        lock_requirements(["numpy<1"])
    with pytest.raises(InvalidInput, match="not installed here"):
        lock_requirements(["surely-not-a-distribution-xyz"])
    with pytest.raises(InvalidInput, match="options"):
        lock_requirements(["--index-url https://example.invalid/simple"])
    assert "mlflow" not in lock_requirements(["mlflow==3.17.2", "numpy"], drop=["mlflow"])


def test_cli_writes_a_bundle(registered: dict[str, Any], tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "cli"
    code = cli_main(
        [
            "--store",
            str(registered["root"] / "store"),
            "bundle",
            "models:/credit-risk@champion",
            "--out",
            str(out),
            "--image",
            "img:1",
            "--log-predictions",
            "0.25",
            "--log-drop",
            "age, latency_ms",
        ]
    )
    assert code == 0
    said = capsys.readouterr().out
    assert "credit-risk version 1" in said and str(out) in said
    assert (
        _yaml(out / "k8s" / "deployment.yaml")["spec"]["template"]["spec"]["containers"][0]["image"]
        == "img:1"
    )
    dockerfile = (out / "Dockerfile").read_text()
    assert 'MM_LOG_PREDICTIONS="0.25"' in dockerfile
    assert 'MM_PREDICTION_LOG_DROP="age,latency_ms"' in dockerfile
    assert "MM_PREDICTION_LOG_HASH" not in dockerfile  # nothing hashed: no salt asked for


def test_prediction_log_settings_reach_the_bundles_server(
    registered: dict[str, Any], tmp_path: Path
) -> None:
    """The bundle's log settings are the image's ENV, and the bundle's vendored server started
    with that environment drops, hashes and writes as they say; the manifests take the salt
    from a Secret."""
    import re

    import kubernetes_validate
    from dockerfile_parse import DockerfileParser

    from jupyter_mm.serving.bundle import PredictionLogSettings
    from jupyter_mm.serving.prediction_log import read_predictions

    log_root = tmp_path / "plog"
    settings = PredictionLogSettings(1.0, str(log_root), drop=("age",), hash=("income",),
                                     retention_days=180)  # fmt: skip
    done = write_bundle(registered["store"], "models:/credit-risk/1", tmp_path / "b",
                        prediction_log=settings)  # fmt: skip
    envs = DockerfileParser(path=str(done.path / "Dockerfile")).envs
    log_env = {k: v for k, v in envs.items() if k.startswith("MM_")}
    assert log_env == {
        "MM_LOG_PREDICTIONS": "1.0",
        "MM_PREDICTION_LOG_URI": str(log_root),
        "MM_PREDICTION_LOG_DROP": "age",
        "MM_PREDICTION_LOG_HASH": "income",
        "MM_PREDICTION_LOG_RETENTION_DAYS": "180",
    }
    for doc in (_yaml(done.path / "k8s" / "deployment.yaml"),
                _yaml(done.path / "kserve" / "inferenceservice.yaml")):  # fmt: skip
        spec = doc["spec"].get("template", {}).get("spec") or doc["spec"]["predictor"]
        (salt_ref,) = [e for e in spec["containers"][0]["env"]
                       if e["name"] == "MM_PREDICTION_LOG_SALT"]  # fmt: skip
        assert salt_ref["valueFrom"]["secretKeyRef"]["name"] == "credit-risk-prediction-log-salt"
    kubernetes_validate.validate(_yaml(done.path / "k8s" / "deployment.yaml"), K8S_VERSION,
                                 strict=True)  # fmt: skip
    assert "credit-risk-prediction-log-salt" in (done.path / "README.md").read_text()

    env = {**os.environ, **log_env, "MM_PREDICTION_LOG_SALT": "bundle-salt",
           "PYTHONPATH": str(done.path / "server")}  # fmt: skip
    env.pop("MM_SERVE_TOKEN", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_mm.serving", "--model-dir", str(done.path / "model"),
         "--name", "credit-risk", "--version", "1", "--open", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        match = re.search(r":(\d+)/ \(pid", proc.stdout.readline())
        assert match, proc.stderr.read() if proc.stderr else ""
        split = json.loads(registered["X"].head(2).to_json(orient="split", index=False))
        status, _, body = _request(
            f"http://127.0.0.1:{match.group(1)}/invocations", {"dataframe_split": split}, token=None
        )
        assert status == 200, body
    finally:
        proc.terminate()  # SIGTERM: the log is flushed as the server stops
        assert proc.wait(60) == 0
    df = read_predictions(str(log_root), "credit-risk")
    assert len(df) == 2 and "input.age" not in df.columns
    assert list(df["input.income"]) == [
        hashlib.sha256(f"bundle-salt\0{float(row[0])!r}".encode()).hexdigest()
        for row in split["data"]
    ]


def test_bad_prediction_log_settings_stop_the_bundle(
    registered: dict[str, Any], tmp_path: Path
) -> None:
    from jupyter_mm.serving.bundle import PredictionLogSettings

    for settings, says in (
        (PredictionLogSettings(0.0, drop=("age",)), "--log-predictions RATE"),
        (PredictionLogSettings(1.0, drop=("age",), hash=("age",)), "both dropped and hashed"),
        (PredictionLogSettings(1.5), "fraction"),
    ):
        with pytest.raises(InvalidInput, match=says):
            write_bundle(registered["store"], "models:/credit-risk/1", tmp_path / "x",
                         prediction_log=settings)  # fmt: skip
        assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------- the bundle's own server


@pytest.fixture(scope="session")
def bundle_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv made once per session; each bundle test installs into it with pip's cache."""
    if os.environ.get("MM_SKIP_BUNDLE_VENV") == "1":
        pytest.skip("MM_SKIP_BUNDLE_VENV=1")
    venv = tmp_path_factory.mktemp("bundle-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    return venv


@pytest.fixture(scope="module")
def venv_python(bundle_venv: Path, built: Path) -> str:
    python = str(bundle_venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_REQUIRE_VIRTUALENV")}
    subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            "-r",
            str(built / "requirements.txt"),
        ],
        check=True,
        env=env,
    )
    return python


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(url: str, body: Any = None, token: str | None = TOKEN) -> tuple[int, Any, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.headers, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, json.loads(e.read() or b"null")


@pytest.fixture(scope="module")
def bundle_server(venv_python: str, built: Path) -> Iterator[str]:
    """The bundle's server, run from the bundle directory by the fresh virtualenv's Python with
    only ``server/`` on its path, as the Dockerfile's CMD runs it."""
    port = _free_port()
    argv = json.loads(
        [
            line
            for line in (built / "Dockerfile").read_text().splitlines()
            if line.startswith("CMD")
        ][0][4:]
    )
    argv[0] = venv_python
    argv[argv.index("--model-dir") + 1] = "model"
    argv[argv.index("--host") + 1] = "127.0.0.1"
    argv[argv.index("--port") + 1] = str(port)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MM_"))}
    env.update(PYTHONPATH="server", MM_SERVE_TOKEN=TOKEN, PYTHONNOUSERSITE="1")
    proc = subprocess.Popen(argv, cwd=built, env=env, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:  # readiness, as Kubernetes' probe asks it
            if proc.poll() is not None:
                pytest.fail(
                    f"the bundle's server exited: {proc.stderr.read() if proc.stderr else ''}"
                )
            try:
                if _request(f"{base}/v2/health/ready", token=None)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the bundle's server did not become ready in 120 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_fresh_venv_loads_the_bundled_model_with_the_vendored_code(
    registered: dict[str, Any], built: Path, venv_python: str
) -> None:
    """What the image holds (its requirements, ``server/``, ``model/``) loads the model and
    predicts what ``mm.load_model`` predicts, with no jupyter-mm installed."""
    X = registered["X"].head(7)
    expected = mm.load_model("models:/credit-risk@champion").predict(X)
    code = (
        "import json, sys, pandas as pd\n"
        "from jupyter_mm.core.models.format import load_model\n"
        "X = pd.read_json(sys.stdin, orient='split')\n"
        "print(json.dumps(load_model('model').predict(X).tolist()))\n"
        "bad = {'sqlalchemy', 'jupyter_server', 'jupyterlab', 'IPython'} & set(sys.modules)\n"
        "assert not bad, bad\n"
        "import os, jupyter_mm\n"
        "assert jupyter_mm.__file__.startswith(os.path.abspath('server')), jupyter_mm.__file__\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MM_"))}
    env.update(PYTHONPATH="server", PYTHONNOUSERSITE="1")
    done = subprocess.run(
        [venv_python, "-c", code],
        cwd=built,
        env=env,
        input=X.to_json(orient="split"),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == np.asarray(expected).tolist()
    listed = subprocess.run(
        [venv_python, "-m", "pip", "list", "--format=json"], capture_output=True, text=True, env=env
    )
    names = {d["name"].lower() for d in json.loads(listed.stdout)}
    assert "scikit-learn" in names and "tornado" in names
    assert not names & {"jupyter-mm", "jupyterlab", "jupyter-server", "mlflow", "sqlalchemy"}


def test_bundle_server_from_fresh_venv_answers_both_protocols(
    registered: dict[str, Any], built: Path, bundle_server: str
) -> None:
    X = registered["X"].head(5)
    expected = mm.load_model("models:/credit-risk@champion").predict(X)
    digest = json.loads((built / "deploy_manifest.json").read_text())["model"]["digest"]

    status, headers, body = _request(
        f"{bundle_server}/invocations",
        {"dataframe_split": json.loads(X.to_json(orient="split", index=False))},
    )
    assert status == 200, body
    assert np.asarray(body["predictions"]).tolist() == np.asarray(expected).tolist()
    assert headers["X-MM-Model-Name"] == "credit-risk"
    assert headers["X-MM-Model-Version"] == "1"
    assert headers["X-MM-Model-Digest"] == digest

    inputs = [
        {"name": "income", "datatype": "FP64", "shape": [len(X)], "data": X["income"].tolist()},
        {"name": "age", "datatype": "INT64", "shape": [len(X)], "data": X["age"].tolist()},
    ]
    status, headers, body = _request(
        f"{bundle_server}/v2/models/credit-risk/infer", {"id": "req-1", "inputs": inputs}
    )
    assert status == 200, body
    assert body["id"] == "req-1" and body["model_name"] == "credit-risk"
    (output,) = body["outputs"]
    assert list(output["data"]) == np.asarray(expected).tolist()

    # a bad body is refused with the column named, and health stays open without a token
    status, _, body = _request(
        f"{bundle_server}/invocations",
        {"dataframe_split": {"columns": ["income"], "data": [[1.0]]}},
    )
    assert status == 400 and "age" in json.dumps(body)
    assert _request(f"{bundle_server}/v2/health/live", token=None)[0] == 200
    assert _request(f"{bundle_server}/invocations", {"instances": []}, token=None)[0] == 401
