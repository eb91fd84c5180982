"""``mm.compare`` / ``mm.plot_metric`` / ``mm.diff``: widget state against a real SQLite store
(kernel-free: anywidget falls back to a dummy comm), live updates of a running run, and a real
kernel running ``%mm compare`` whose notebook is exported with nbconvert."""

from __future__ import annotations

import base64
import json
import logging
import math
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest

import jupyter_mm as mm
from jupyter_mm.client import comparison as cmp
from jupyter_mm.client import tracking
from jupyter_mm.core.store import Store
from jupyter_mm.errors import InvalidInput
from jupyter_mm.notebook import compare_widget as cw
from jupyter_mm.notebook.compare_widget import CompareWidget

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
T0 = 1_700_000_000_000
EVIL = "</script><img src=x onerror=alert(1)>"


def wait_for(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Poll ``check`` until truthy, failing at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.02)


def decode(arr: Any) -> np.ndarray:
    """plotly's typed-array JSON back to numbers."""
    assert arr["dtype"] == "f8"
    return np.frombuffer(base64.b64decode(arr["bdata"]), "<f8")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Store]:
    """``mm`` pointed at a fresh store: a SQLite file, then a PostgreSQL database."""
    for var in ("MM_TRACKING_URI", "MM_EXPERIMENT_NAME", "MM_ARTIFACT_URI"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(tracking, "_experiment", None)
    monkeypatch.setattr(tracking, "_last", None)
    if request.param == "sqlite":
        mm.set_tracking_uri(str(tmp_path / "store"))
    else:
        monkeypatch.setenv("MM_ARTIFACT_URI", str(tmp_path / "artifacts"))
        mm.set_tracking_uri(request.getfixturevalue("postgres_url"))
    from jupyter_mm.client.backend import get_store

    try:
        yield get_store()
    finally:
        while mm.active_run() is not None:
            mm.end_run()
        mm.set_tracking_uri(None)


def make_run(store: Store, name: str, params: dict[str, str], n: int, scale: float) -> str:
    run = store.create_run(name=name, params=params)
    steps = range(n)
    store.log_batch(
        run.id,
        [("loss", scale / (s + 1), s, T0 + s * 1000) for s in steps]
        + [("acc", 1 - scale / (s + 2), s, T0 + s * 1000) for s in steps],
    )
    store.end_run(run.id, "FINISHED")
    return run.id


@pytest.fixture
def three(store: Store) -> list[str]:
    return [
        make_run(store, "small-lr", {"lr": "0.001", "opt": "adam", "seed": "1"}, 300, 1.0),
        make_run(store, "mid-lr", {"lr": "0.01", "opt": "sgd", "seed": "1"}, 300, 2.0),
        make_run(store, EVIL, {"lr": "0.1", "opt": "adam", "seed": "1"}, 300, 3.0),
    ]


def curves(w: CompareWidget) -> list[dict[str, Any]]:
    return list(w.figures["curves"]["data"])


# ------------------------------------------------------------------------------ state


def test_initial_views(store: Store, three: list[str]) -> None:
    w = mm.compare(three)
    assert w.views == list(cw.VIEWS)
    assert w.metric_keys == ["acc", "loss"] and w.param_keys == ["lr", "opt", "seed"]
    assert w.metric == "acc" and w.scatter_param == "lr" and w.scatter_metric == "acc"
    data = curves(w)
    assert [t["meta"] for t in data] == three  # one line per run, in the order given
    # plotly reads tags in names: user text is escaped for it
    assert data[2]["name"] == "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
    h = store.get_metric_history(three[1], "acc")
    assert (decode(data[1]["y"]) == h["value"]).all()
    assert (decode(data[1]["x"]) == h["step"]).all()
    assert w.table["differing"] == ["lr", "opt"]
    assert [r["id"] for r in w.table["rows"]] == three
    dims = w.figures["parcoords"]["data"][0]["dimensions"]
    assert [d["label"] for d in dims] == ["lr (log)", "opt", "acc"]
    assert dims[0]["values"] == pytest.approx([-3, -2, -1])  # lr spans decades: log10
    assert dims[0]["ticktext"] == ["1e-3", "1e-2", "1e-1"]
    assert dims[1]["ticktext"] == ["adam", "sgd"]
    assert w.figures["scatter"]["layout"]["xaxis"]["type"] == "log"
    assert w.figures["scatter"]["data"][0]["customdata"] == three
    json.dumps(w.figures, allow_nan=False)  # what the comm sends
    json.dumps(w.table, allow_nan=False)
    assert w._plotly[:200].decode().find("plotly.js v") > 0  # plotly.js travels with the widget


def test_single_point_metric_is_drawn_and_not_the_default(store: Store, three: list[str]) -> None:
    """A metric logged once (a final accuracy) is a visible marker, and the metric picker starts on
    one with a history that varies, not on the alphabetically first key."""
    for i, rid in enumerate(three):
        store.log_batch(rid, [("a_final", 0.8 + i / 100, 0, T0)])  # one point per run
        store.log_batch(rid, [("b_const", 1.0, s, T0 + s) for s in range(5)])  # history, no spread
    w = mm.compare(three)
    assert w.metric_keys[:2] == ["a_final", "acc"]
    assert w.metric == "acc"  # a history that varies; "a_final" is one point, "b_const" is flat
    assert w.scatter_metric == "a_final"  # the scatter wants a value that varies
    w.metric = "a_final"
    data = curves(w)
    assert [t["mode"] for t in data] == ["lines+markers"] * 3
    assert [t["marker"]["color"] for t in data] == [w.table["rows"][i]["color"] for i in range(3)]
    assert [len(decode(t["y"])) for t in data] == [1, 1, 1]
    assert [decode(t["y"])[0] for t in data] == pytest.approx([0.8, 0.81, 0.82])
    w.metric = "loss"
    assert {t["mode"] for t in curves(w)} == {"lines"}  # long histories stay plain lines
    # the title sits left, clear of plotly's toolbar (top right)
    assert w.figures["curves"]["layout"]["title"]["xanchor"] == "left"


def test_controls_change_the_curves(store: Store, three: list[str]) -> None:
    w = mm.compare(three, metrics=["loss", "acc"])
    assert w.metric == "loss"
    rev = w.revision
    values = store.get_metric_history(three[0], "loss")["value"]

    w.smoothing = 0.9
    data = curves(w)
    assert len(data) == 6  # the raw line faded behind each smoothed one
    raw, smooth = data[0], data[1]
    assert raw["showlegend"] is False and raw["opacity"] < 1
    assert (decode(raw["y"]) == values).all()
    assert decode(smooth["y"]) == pytest.approx(cmp.ema(values, 0.9))
    assert "EMA 0.9" in w.figures["curves"]["layout"]["title"]["text"]

    w.x_axis = "time"
    assert w.figures["curves"]["layout"]["xaxis"]["type"] == "date"
    stamps = store.get_metric_history(three[0], "loss")["timestamp"]
    assert (decode(curves(w)[1]["x"]) == stamps).all()

    w.log_y = True
    assert w.figures["curves"]["layout"]["yaxis"]["type"] == "log"

    w.metric = "acc"
    acc = store.get_metric_history(three[0], "acc")["value"]
    assert decode(curves(w)[1]["y"]) == pytest.approx(cmp.ema(acc, 0.9))
    assert w.figures["parcoords"]["data"][0]["dimensions"][-1]["label"] == "acc"
    assert w.revision == rev + 4

    w.smoothing = 0.0
    assert len(curves(w)) == 3


def test_hiding_a_run_updates_every_view(store: Store, three: list[str]) -> None:
    w = mm.compare(three)
    w.hidden = [three[1]]
    assert [t["meta"] for t in curves(w)] == [three[0], three[2]]
    assert w.figures["parcoords"]["data"][0]["meta"] == [three[0], three[2]]
    assert len(w.figures["parcoords"]["data"][0]["dimensions"][0]["values"]) == 2
    assert w.figures["scatter"]["data"][0]["customdata"] == [three[0], three[2]]
    assert [r["id"] for r in w.table["rows"]] == three  # still listed, to be shown again
    assert "mid-lr" not in w.static_html("none")
    w.hidden = []
    assert len(curves(w)) == 3


def test_identical_params_can_be_hidden_from_the_table(store: Store, three: list[str]) -> None:
    w = mm.compare(three)
    assert w.table["params"] == ["lr", "opt", "seed"] and w.table["differing"] == ["lr", "opt"]
    assert ">seed</th>" in w.static_html("none")
    w.hide_identical = True
    page = w.static_html("none")
    assert "seed" not in page and ">lr</th>" in page and ">opt</th>" in page


def test_selecting_a_run_highlights_it_everywhere(store: Store, three: list[str]) -> None:
    w = mm.compare(three)
    w.selected = [three[2]]
    opacity = {t["meta"]: t["opacity"] for t in curves(w)}
    assert opacity == {three[0]: 0.3, three[1]: 0.3, three[2]: 1.0}
    marker = w.figures["scatter"]["data"][0]["marker"]
    assert marker["size"][2] > marker["size"][0] and marker["opacity"][0] < 1


def test_bad_values_are_refused_clearly(store: Store, three: list[str]) -> None:
    w = mm.compare(three)
    with pytest.raises(InvalidInput, match="no compared run has the metric 'nope'"):
        w.metric = "nope"
    with pytest.raises(InvalidInput, match="x axis must be one of"):
        w.x_axis = "epoch"
    with pytest.raises(InvalidInput, match="smoothing"):
        w.smoothing = 1.0
    with pytest.raises(InvalidInput, match="not a compared run"):
        w.hidden = ["f" * 32]
    with pytest.raises(InvalidInput, match="no compared run has the param 'wd'"):
        w.scatter_param = "wd"
    assert w.metric == "acc" and w.x_axis == "step"
    with pytest.raises(InvalidInput, match="metric 'auc'"):
        mm.compare(three, metrics=["auc"])
    with pytest.raises(InvalidInput, match="param 'wd'"):
        mm.compare(three, params="wd")
    with pytest.raises(InvalidInput, match="static is one of"):
        mm.compare(three, static="inline")


def test_non_finite_values_and_runs_without_the_metric(store: Store) -> None:
    a = store.create_run(name="a", params={"lr": "0.1"})
    store.log_batch(
        a.id, [("loss", v, i, T0 + i) for i, v in enumerate([1, math.nan, math.inf, 2])]
    )
    b = store.create_run(name="b", params={"lr": "0.2"})
    store.log_batch(b.id, [("acc", 0.5, 0, T0)])
    w = mm.compare([a.id, b.id], metrics=["loss"])
    data = curves(w)
    assert [t["meta"] for t in data] == [a.id]  # b has no loss
    y = decode(data[0]["y"])
    assert y[0] == 1 and math.isnan(y[1]) and math.isnan(y[2]) and y[3] == 2  # gaps
    assert w.table["rows"][0]["metrics"] == {"loss": 2.0}
    json.dumps(w.figures, allow_nan=False)
    # the latest loss is finite for a only: b is left out of parallel coordinates
    assert w.figures["parcoords"]["data"][0]["meta"] == [a.id]
    line = w.figures["parcoords"]["data"][0]["line"]  # one value: a colour range around it
    assert line["cmin"] == pytest.approx(1.9) and line["cmax"] == pytest.approx(2.1)


def test_histories_of_ended_runs_are_read_once(
    store: Store, three: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[tuple[Any, ...]] = []
    read = Store.get_metric_history

    def counting(self: Store, *args: Any, **kwargs: Any) -> Any:
        reads.append(args)
        return read(self, *args, **kwargs)

    monkeypatch.setattr(Store, "get_metric_history", counting)
    cw._ENDED_HISTORIES.clear()
    mm.compare(three)
    assert len(reads) == 3
    w = mm.compare(three)  # the cell run again
    assert len(reads) == 3
    w.metric = "loss"
    assert len(reads) == 6
    w.metric = "acc"
    assert len(reads) == 6
    assert (decode(curves(w)[0]["y"]) == read(store, three[0], "acc")["value"]).all()


def test_plot_metric_is_one_chart(store: Store, three: list[str]) -> None:
    w = mm.plot_metric(three[:2], "loss", smoothing=0.5, log_y=True)
    assert w.views == ["curves"] and list(w.figures) == ["curves"]
    assert w.metric == "loss" and w.smoothing == 0.5
    assert w.figures["curves"]["layout"]["yaxis"]["type"] == "log"
    with pytest.raises(InvalidInput, match="metric 'nope'"):
        mm.plot_metric(three, "nope")


def test_static_html_escapes_user_text_and_embeds_plotly_once(
    store: Store, three: list[str]
) -> None:
    w = mm.compare(three)
    data, _ = w._repr_mimebundle_()
    assert WIDGET_VIEW not in data  # no kernel comm here
    page = data["text/html"]
    assert page.count("plotly.js v") == 1  # embedded once for all views
    assert page.count("Plotly.newPlot(") == 3
    assert "<img" not in page and "</script><img" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # the runs table
    assert data["text/plain"].startswith("compare 3 runs · metric acc")
    cdn = w.static_html("cdn")
    assert "plotly.js v" not in cdn and "cdn.plot.ly" in cdn
    assert "text/html" not in mm.compare(three, static="none")._repr_mimebundle_()[0]


def test_esm_is_plain_and_never_parses_html() -> None:
    source = cw.CompareWidget._esm  # as sent: the shared static/widget.js, then compare.js
    assert "function el(" in source and "function loadPlotly(" in source
    assert "export default" in source and "render" in source
    assert not re.search(r"^\s*import\b", source, re.M), "no static imports: no build step"
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in source
    assert ".jmm-widget {" in cw.CompareWidget._css and ".jmm-cmp-bar" in cw.CompareWidget._css


# ------------------------------------------------------------------------------ live


def test_a_running_run_updates_live_until_it_ends(store: Store) -> None:
    done = make_run(store, "done", {"lr": "0.1"}, 10, 1.0)
    run = mm.start_run(name="live", params={"lr": "0.2"})
    mm.log_metric("loss", 5.0, step=0)
    run.flush()
    w = mm.compare([done, run])
    try:
        w.metric = "loss"
        assert w.live and w.polling
        assert w.table["rows"][1]["status"] == "RUNNING"
        assert len(decode(curves(w)[1]["y"])) == 1
        for s in range(1, 40):
            mm.log_metric("loss", 5.0 / (s + 1), step=s)
        wait_for(lambda: len(curves(w)) == 2 and len(decode(curves(w)[1]["y"])) == 40)
        assert w.table["rows"][1]["metrics"]["loss"] == pytest.approx(5.0 / 40)
        mm.log_metric("f1", 0.5)  # a new metric while running appears in the choices
        wait_for(lambda: "f1" in w.metric_keys)
        mm.end_run()
        wait_for(lambda: not w.polling)
        assert not w.live
        assert w.table["rows"][1]["status"] == "FINISHED"
    finally:
        w.close()
    assert w.polls >= 2  # one poll saw the new points, a later one the new metric


def test_the_displayed_output_gets_the_final_state(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an exported notebook keeps is the state after the runs ended, not the first one."""
    import IPython.display

    shown: list[tuple[Any, dict[str, Any]]] = []
    updates: list[Any] = []

    class Handle:
        def update(self, obj: Any, **kw: Any) -> None:
            updates.append(obj)

    def fake_display(obj: Any, **kw: Any) -> Handle:
        shown.append((obj, kw))
        return Handle()

    monkeypatch.setattr(IPython.display, "display", fake_display)
    run = mm.start_run(name="live")
    mm.log_metric("loss", 1.0)
    run.flush()
    w = mm.compare([run], static="none")
    w._ipython_display_()
    assert len(shown) == 1 and shown[0][1]["display_id"] is True and shown[0][1]["raw"] is True
    assert "1 running" in shown[0][0]["text/plain"]
    mm.end_run()
    wait_for(lambda: not w.polling)
    assert updates and "running" not in updates[-1]["text/plain"]


def test_a_display_that_cannot_be_updated_leaves_a_debug_record(
    store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The frontend went away: the final update fails quietly for the user, not for the log."""
    import IPython.display

    class Handle:
        def update(self, obj: Any, **kw: Any) -> None:
            raise RuntimeError("no such display")

    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: Handle())
    caplog.set_level(logging.DEBUG, logger="jupyter_mm")
    run = mm.start_run(name="live")
    mm.log_metric("loss", 1.0)
    run.flush()
    w = mm.compare([run], static="none")
    w._ipython_display_()
    mm.end_run()
    wait_for(lambda: not w.polling)
    assert not w.live and w.table["rows"][0]["status"] == "FINISHED"
    (record,) = [r for r in caplog.records if "updating the displayed widget" in r.getMessage()]
    assert record.levelno == logging.DEBUG and record.name == "jupyter_mm.notebook.widget_base"
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError


def test_closing_the_widget_stops_the_poller(store: Store) -> None:
    run = mm.start_run(name="live")
    mm.log_metric("loss", 1.0)
    run.flush()
    w = mm.compare([run])
    assert w.polling
    w.close()
    wait_for(lambda: not w.polling)
    assert not w.live


# ------------------------------------------------------------------------------ diff


def snapshot(store: Store, run_id: str, sources: list[str]) -> None:
    nb = nbformat.v4.new_notebook()
    for i, src in enumerate(sources):
        cell = nbformat.v4.new_code_cell(src)
        cell.id = f"c{i}"
        nb.cells.append(cell)
    store.log_artifact(run_id, ".mm/notebook/kernel.ipynb", nbformat.writes(nb).encode())


def test_diff_shows_every_difference_and_the_notebook(store: Store, three: list[str]) -> None:
    snapshot(store, three[0], ["lr = 0.001", "train(lr)"])
    snapshot(store, three[2], ["lr = 0.1", "train(lr)", "print('<b>done</b>')"])
    d = mm.diff(three[0], three[2])
    assert {r["key"] for r in d.data["params"]} == {"lr"}
    assert d.data["notebook"]["cells"] == {"added": 1, "removed": 0, "modified": 1}
    text = d.data["notebook"]["text"]
    assert "lr = 0.001" in text and "lr = 0.1" in text
    page = d._repr_html_()
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<b>done</b>" not in page and "&lt;b&gt;done&lt;/b&gt;" in page
    assert "background:#e6ffec" in page and "background:#ffebe9" in page  # added / removed
    assert "lr: 0.001 → 0.1" in repr(d)
    nb_less = mm.diff(three[0], three[1])
    assert "no notebook snapshot" in nb_less.data["notebook"]["error"]
    assert "notebook: run" in repr(nb_less)


# ------------------------------------------------------------------------------ real kernel


def test_mm_compare_magic_in_a_real_kernel_and_nbconvert_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbconvert import HTMLExporter

    from tests.notebook.support import client_for, notebook

    monkeypatch.setenv("MM_TRACKING_URI", str(tmp_path / ".mm"))
    repo = str(Path(__file__).resolve().parents[2])  # the kernel imports this checkout
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [repo, os.getenv("PYTHONPATH")])))
    nb = notebook(
        [
            "import jupyter_mm as mm\n"
            "for i, lr in enumerate(['0.1', '0.01']):\n"
            "    with mm.start_run(name=f'run-{i}', params={'lr': lr}):\n"
            "        for s in range(50):\n"
            "            mm.log_metric('loss', float(lr) * 100 / (s + 1))",
            "%mm compare params.lr = '0.1' OR params.lr = '0.01'",
            "%mm compare params.lr = '7'",
        ]
    )
    client = client_for(nb, tmp_path)
    with client.running():
        for i in range(3):
            client.run(i)
    first = nb.cells[0].outputs
    assert not [o for o in first if o.output_type == "error"], first
    shown = [o for o in nb.cells[1].outputs if o.output_type == "display_data"]
    assert len(shown) == 1, nb.cells[1].outputs
    data = shown[0]["data"]
    assert WIDGET_VIEW in data  # the live widget in a real frontend
    assert data["text/plain"].startswith("compare 2 runs · metric loss")
    assert "Plotly.newPlot(" in data["text/html"]
    # no match: one line on stderr (IPython's UsageError), not a deep traceback
    (out,) = nb.cells[2].outputs
    assert out["output_type"] == "stream" and out["name"] == "stderr"
    assert out["text"].startswith("UsageError: no runs match the filter")
    assert out["text"].count("\n") == 1

    # nbconvert HTML of the notebook as JupyterLab saves it (no widget state): the static plot
    body, _ = HTMLExporter().from_notebook_node(nb)
    assert body.count("plotly.js v") == 1
    assert re.search(r'Plotly\.newPlot\(\s*"jmm-curves-[0-9a-f]{12}"', body)
    assert "run-0" in body and "run-1" in body
    assert "jmm-compare-table" in body
