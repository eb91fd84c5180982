"""``mm.drift_report``: the widget's state against a real store and prediction log (kernel-free:
anywidget falls back to a dummy comm), and a real kernel whose notebook is exported with
nbconvert."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import jupyter_mm as mm
from jupyter_mm.client import tracking
from jupyter_mm.errors import InvalidInput
from jupyter_mm.notebook import drift_report as dr
from jupyter_mm.notebook.drift_report import DriftReport

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
FEATURE = "<b>x</b>"
EVIL = "</script><img src=x onerror=alert(1)>"
END = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.timezone.utc)
HOUR = dt.timedelta(hours=1)


def data(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """``income`` moved by ``shift`` standard deviations; the categorical ``<b>x</b>`` (one of
    its levels a script-closing string) unchanged."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"income": rng.normal(50 + 10 * shift, 10, rows), FEATURE: rng.choice(["N", EVIL], rows)}
    )


def scores(frame: pd.DataFrame) -> np.ndarray:
    return 1 / (1 + np.exp(-(frame["income"].to_numpy() - 50) / 10))


@pytest.fixture
def credit(store_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``mm`` on a fresh store with model ``credit`` v1 and its reference profile (2000 rows)."""
    for var in ("MM_TRACKING_URI", "MM_EXPERIMENT_NAME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MM_USER", "ana")
    monkeypatch.setenv("MM_ARTIFACT_URI", str(tmp_path / "blobs"))
    monkeypatch.setattr(tracking, "_experiment", None)
    monkeypatch.setattr(tracking, "_last", None)
    mm.set_tracking_uri(store_uri)
    from jupyter_mm.client.backend import get_store

    store = get_store()
    run = store.create_run("0", name="train")
    store.create_registered_model("credit", actor="ana")
    store.create_model_version("credit", f"runs:/{run.id}/model", actor="ana")
    ref = data(2000, 0)
    mm.set_reference("credit", 1, ref, scores(ref))
    try:
        yield "credit"
    finally:
        mm.set_tracking_uri(None)


def log(rows: int, at: dt.datetime, shift: float, seed: int) -> None:
    batch = data(rows, seed, shift)
    mm.log_predictions("credit", 1, batch, scores(batch), at=at)


def by_feature(w: DriftReport) -> dict[str, dict[str, Any]]:
    return {v["feature"]: v for v in w.report["verdicts"]}


# ------------------------------------------------------------------------------ state


def test_verdicts_bins_and_figures_for_no_and_severe_shift(credit: str) -> None:
    calm_end = END - dt.timedelta(days=5)
    log(1500, calm_end - 2 * HOUR, 0.0, seed=1)
    log(1500, END - 2 * HOUR, 2.0, seed=2)

    calm = mm.drift_report("credit", window="1d", end=calm_end)
    severe = mm.drift_report("credit", window="1d", end=END)
    assert isinstance(calm, DriftReport) and calm.report["status"] == "ok"
    assert {v["band"] for v in calm.report["verdicts"]} == {"ok"}
    s = by_feature(severe)
    assert severe.report["status"] == "drift" and severe.report["drifted"]
    assert s["income"]["band"] == "drift" and s["__score__"]["band"] == "drift"
    assert s[FEATURE]["band"] == "ok"
    assert severe.feature == "income"  # the first drifted feature is shown first
    assert severe.report["rows"] == severe.report["compared"] == 1500

    # the same verdicts as mm.drift, number for number
    frame = mm.drift("credit", window="1d", end=END).set_index("feature")
    assert severe.frame.set_index("feature")["band"].to_dict() == frame["band"].to_dict()
    for f, v in s.items():
        for key in ("method", "band", "threshold", "n_reference", "n_current"):
            assert v[key] == frame.loc[f, key], (f, key)
        assert v["statistic"] == pytest.approx(frame.loc[f, "statistic"], rel=1e-12)
        assert v["n_reference"] == 2000 and v["n_current"] == 1500

    # distributions: the verdict's bins, the same on both sides and in both windows
    ref_profile = mm.reference_profile("credit", 1)
    for f, v in s.items():
        bins = v["bins"]
        assert v["bins_source"] == "verdict"
        assert len(bins["labels"]) == len(bins["reference"]) == len(bins["current"])
        assert sum(bins["reference_counts"]) == 2000 and sum(bins["current_counts"]) == 1500
        assert by_feature(calm)[f]["bins"]["labels"] == bins["labels"]
        assert by_feature(calm)[f]["bins"]["reference"] == bins["reference"]
        fig = severe.figures[f]["distribution"]
        ref_trace, cur_trace = fig["data"]
        assert [ref_trace["name"], cur_trace["name"]] == ["reference", "current"]
        assert ref_trace["x"] == cur_trace["x"] == fig["layout"]["xaxis"]["categoryarray"]
        assert ref_trace["y"] == bins["reference"] and cur_trace["y"] == bins["current"]
    assert s["income"]["bins"]["edges"] == ref_profile.features["income"]["deciles"]["edges"]
    # severe (2 sd): three quarters of the current rows are in the reference's top decile
    assert s["income"]["bins"]["current"][-1] > 0.7

    # a threshold of the call is applied, as by mm.drift
    lenient = mm.drift_report(
        "credit", window="1d", end=END, thresholds={"income": {"threshold": 50.0, "warning": 40.0}}
    )
    assert by_feature(lenient)["income"]["band"] == "ok"
    assert by_feature(lenient)["income"]["threshold"] == 50.0


def test_statistic_over_time_per_period(credit: str) -> None:
    # 4 periods of 6 h: nothing in the first, calm in the second, severe in the last two
    log(800, END - 17 * HOUR, 0.0, seed=3)
    log(800, END - 11 * HOUR, 2.0, seed=4)
    log(800, END - 5 * HOUR, 2.0, seed=5)
    w = mm.drift_report("credit", window="1d", end=END, periods=4, min_rows=500)
    periods = w.report["periods"]
    assert periods["rows"] == [0, 800, 800, 800]
    assert periods["starts"][0] == "2026-03-01T12:00:00Z"
    assert periods["ends"][-1] == "2026-03-02T12:00:00Z"
    income = periods["series"]["income"]
    assert income["band"] == ["too few rows", "ok", "drift", "drift"]
    assert income["statistic"][0] is None and income["statistic"][1] < 0.1
    assert income["statistic"][2] > 0.25 and income["threshold"] == 0.25
    assert periods["series"][FEATURE]["band"] == ["too few rows", "ok", "ok", "ok"]
    trend = w.figures["income"]["over_time"]
    line, threshold, warning = trend["data"]
    assert line["y"] == income["statistic"] and line["x"] == periods["starts"]
    assert threshold["y"] == [0.25, 0.25] and warning["y"] == [0.1, 0.1]
    assert "1 period(s) with too few rows" in trend["layout"]["title"]["text"]
    # the whole window's verdict is the one of all its rows
    assert by_feature(w)["income"]["n_current"] == 2400


def test_a_p_value_test_draws_its_p_value_over_time(credit: str) -> None:
    log(600, END - 2 * HOUR, 2.0, seed=6)
    w = mm.drift_report("credit", window="1d", end=END, periods=2, min_rows=100,
                        thresholds={"income": {"method": "ks", "threshold": 0.05}})  # fmt: skip
    v = by_feature(w)["income"]
    assert v["method"] == "ks" and v["drifted"] and v["p_value"] < 0.05
    assert v["bins_source"] == "deciles"  # no bins of its own: drawn on the frozen deciles
    assert sum(v["bins"]["reference_counts"]) == 2000
    line = w.figures["income"]["over_time"]["data"][0]
    assert line["name"] == "p-value" and line["y"][1] == pytest.approx(v["p_value"])


def test_user_text_is_escaped_in_figures_and_static_html(credit: str) -> None:
    log(1000, END - HOUR, 0.0, seed=7)
    w = mm.drift_report("credit", window="1d", end=END)
    assert FEATURE in by_feature(w)  # the data keeps the name as written (the ESM sets textContent)
    figs = json.dumps(list(w.figures.values()))  # keyed by the raw name, which is never drawn
    assert FEATURE not in figs and "<img" not in figs and "</script>" not in figs
    dist = w.figures[FEATURE]["distribution"]
    assert dist["layout"]["title"]["text"].startswith("&lt;b&gt;x&lt;/b&gt;:")
    assert "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in dist["data"][0]["x"]
    data, _ = w._repr_mimebundle_()
    assert WIDGET_VIEW not in data  # no kernel comm here
    page = data["text/html"]
    assert FEATURE not in page and "<img" not in page and "</script><img" not in page
    assert "<td>&lt;b&gt;x&lt;/b&gt;</td>" in page and "<h4>&lt;b&gt;x&lt;/b&gt;</h4>" in page
    assert page.count("plotly.js v") == 1  # embedded once for every figure
    assert page.count("Plotly.newPlot(") == 6  # 3 verdicts × (distribution, over time)
    cdn = w.static_html("cdn")
    assert "plotly.js v" not in cdn and "cdn.plot.ly" in cdn
    assert data["text/plain"].startswith("drift report · credit v1 · ")
    none = mm.drift_report("credit", window="1d", end=END, static="none")._repr_mimebundle_()[0]
    assert "text/html" not in none


def test_a_window_with_too_few_rows_says_so(credit: str) -> None:
    log(20, END - HOUR, 3.0, seed=8)
    w = mm.drift_report("credit", window="1d", end=END)
    r = w.report
    assert r["status"] == "too_few_rows" and r["drifted"] is False and r["rows"] == 20
    assert {v["band"] for v in r["verdicts"]} == {"too few rows"}
    assert [v["feature"] for v in r["verdicts"]] == [FEATURE, "income", "__score__"]
    assert all(v["bins"] is None and v["statistic"] is None for v in r["verdicts"])
    assert w.figures == {"income": {}, FEATURE: {}, "__score__": {}}
    assert "fewer than 500: no verdict" in w.summary()
    assert any("fewer than min_rows=500" in n for n in r["notes"])
    page = w.static_html()
    assert "Plotly.newPlot(" not in page and "plotly.js v" not in page
    assert page.count("too few rows") == 3


def test_bad_arguments_are_refused_clearly(credit: str) -> None:
    log(600, END - HOUR, 0.0, seed=9)
    bad: list[tuple[dict[str, Any], str]] = [
        ({"periods": 0}, "periods must be a whole number from 1 to 100"),
        ({"periods": True}, "periods must be"),
        ({"periods": 2.5}, "periods must be"),
        ({"preset": "nope"}, "unknown preset 'nope'"),
        ({"window": "soon"}, "window 'soon' is not a duration"),
        ({"static": "pdf"}, "static is one of embed, cdn, none"),
        ({"thresholds": {"salary": 0.2}}, "thresholds name feature.*salary"),
        ({"thresholds": {"income": "high"}}, "threshold of 'income' must be a finite number"),
        ({"min_rows": 0}, "min_rows must be a positive whole number"),
        ({"end": "not a date"}, "end"),
    ]
    for kwargs, message in bad:
        with pytest.raises(InvalidInput, match=message):
            mm.drift_report("credit", **kwargs)
    with pytest.raises(InvalidInput, match="name must be a model's name"):
        mm.drift_report("")
    with pytest.raises(mm.NotFound):
        mm.drift_report("credit", version=7)
    w = mm.drift_report("credit", window="1d", end=END, min_rows=100)
    w.feature = FEATURE
    with pytest.raises(InvalidInput, match="not a feature of the report: 'nope'"):
        w.feature = "nope"
    assert w.feature == FEATURE


def test_esm_is_plain_and_never_parses_html() -> None:
    source = dr.DriftReport._esm  # as sent: static/widget.js, plotly.js, then drift_report.js
    assert "function el(" in source and "function loadPlotly(" in source
    assert "export default" in source and "render" in source
    assert not re.search(r"^\s*import\b", source, re.M), "no static imports: no build step"
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in source
    css = dr.DriftReport._css
    assert ".jmm-widget {" in css and ".jmm-table th" in css and ".jmm-drift-table" in css


# ------------------------------------------------------------------------------ real kernel


def test_drift_report_in_a_real_kernel_and_nbconvert_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbconvert import HTMLExporter

    from tests.notebook.support import client_for, notebook

    monkeypatch.setenv("MM_TRACKING_URI", str(tmp_path / ".mm"))
    monkeypatch.setenv("MM_USER", "ana")
    repo = str(Path(__file__).resolve().parents[2])  # the kernel imports this checkout
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [repo, os.getenv("PYTHONPATH")])))
    nb = notebook(
        [
            "import datetime as dt\n"
            "import numpy as np, pandas as pd\n"
            "import jupyter_mm as mm\n"
            "from jupyter_mm.client.backend import get_store\n"
            f"EVIL = {EVIL!r}\n"
            "def data(n, seed, shift=0.0):\n"
            "    rng = np.random.default_rng(seed)\n"
            "    return pd.DataFrame({'income': rng.normal(50 + 10 * shift, 10, n),\n"
            f"                         {FEATURE!r}: rng.choice(['N', EVIL], n)}})\n"
            "st = get_store()\n"
            "run = st.create_run('0', name='train')\n"
            "st.create_registered_model('credit', actor='ana')\n"
            "st.create_model_version('credit', f'runs:/{run.id}/model', actor='ana')\n"
            "ref = data(2000, 0)\n"
            "mm.set_reference('credit', 1, ref, (ref['income'] > 50).astype(float) * 0.8)\n"
            "now = dt.datetime.now(dt.timezone.utc)\n"
            "cur = data(1000, 1, shift=2.0)\n"
            "mm.log_predictions('credit', 1, cur, (cur['income'] > 50).astype(float) * 0.8,\n"
            "                   at=now - dt.timedelta(hours=1))",
            "mm.drift_report('credit', window='1d', periods=2)",
        ]
    )
    client = client_for(nb, tmp_path)
    with client.running():
        for i in range(2):
            client.run(i)
    first = nb.cells[0].outputs
    assert not [o for o in first if o.output_type == "error"], first
    (shown,) = [
        o for o in nb.cells[1].outputs if o.output_type in ("display_data", "execute_result")
    ]
    data = shown["data"]
    assert WIDGET_VIEW in data  # the live widget in a real frontend
    assert data["text/plain"].startswith("drift report · credit v1 · ")
    assert data["text/plain"].endswith("drift: income, score")

    # nbconvert HTML of the notebook as JupyterLab saves it (no widget state): the static report
    body, _ = HTMLExporter().from_notebook_node(nb)
    assert body.count("plotly.js v") == 1
    assert body.count("Plotly.newPlot(") == 6
    assert "jmm-drift-table" in body
    for row in (r"<td>income</td><td>psi</td><td>[0-9.]+</td><td>0.25</td>"
                r"<td style=.color:#c62828;font-weight:600.>drift</td><td>[0-9.e-]+</td>"
                r"<td>2000</td><td>1000</td>",
                r"<td>&lt;b&gt;x&lt;/b&gt;</td><td>psi</td>",
                r"<td>score</td><td>psi</td>"):  # fmt: skip
        assert re.search(row, body), row
    assert FEATURE not in body and "<img src=x" not in body
