"""The live run panel: kernel-free widget tests (anywidget falls back to a dummy comm) against a real
store, and one real kernel run through nbclient."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import jupyter_mm as mm
from jupyter_mm.client.tracking import start_run
from jupyter_mm.notebook import live_panel
from jupyter_mm.notebook.live_panel import LivePanel
from jupyter_mm.notebook.widget_base import STATIC

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def wait_for(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.02)


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Any]:
    mm.set_tracking_uri(str(tmp_path / "s"))
    r = start_run(name="baseline")
    try:
        yield r
    finally:
        if not r.ended:
            r.end("KILLED")
        mm.set_tracking_uri(None)


def test_traits_follow_logged_metrics(run: Any) -> None:
    panel = LivePanel(run).show()
    try:
        assert panel.name == "baseline"
        assert panel.run_id == run.id
        assert panel.status == "RUNNING"
        assert abs(panel.started - time.time()) < 60
        for i in range(10):
            run.log_metric("loss", 1 / (i + 1))
            run.log_metric("acc", i / 10)
        wait_for(lambda: panel.metrics.get("loss", {}).get("last") == 1 / 10)
        wait_for(lambda: len(panel.metrics["acc"]["points"]) == 10)
        assert panel.metrics["loss"]["points"][:2] == [[0, 1.0], [1, 0.5]]
        assert panel.metrics["acc"]["last"] == pytest.approx(0.9)
        assert panel.polling
        assert panel.polls >= 1
        json.dumps(panel.metrics, allow_nan=False)  # what the comm will send
    finally:
        run.end("FINISHED")
        panel.finish("FINISHED")


def test_nan_and_inf_serialize(run: Any) -> None:
    panel = LivePanel(run).show()
    run.log_metric("loss", 1.0)
    run.log_metric("loss", float("nan"))
    run.log_metric("grad", float("inf"))
    run.log_metric("low", float("-inf"))
    wait_for(lambda: {"loss", "grad", "low"} <= panel.metrics.keys())
    wait_for(lambda: len(panel.metrics["loss"]["points"]) == 2)
    assert panel.metrics["loss"]["last"] == "NaN"
    assert panel.metrics["loss"]["points"] == [[0, 1.0], [1, "NaN"]]
    assert panel.metrics["grad"] == {"last": "inf", "points": [[0, "inf"]]}
    assert panel.metrics["low"]["last"] == "-inf"
    json.dumps(panel.metrics, allow_nan=False)
    run.end("FINISHED")
    panel.finish("FINISHED")
    assert "loss NaN" in panel.summary()


def test_finish_sets_final_state_and_stops_the_thread(run: Any) -> None:
    panel = LivePanel(run).show()
    wait_for(lambda: panel.polls >= 1)
    for i in range(3):
        run.log_metric("loss", 0.5 - i * 0.1)
    run.end("FAILED")  # the last points arrive with the ending, after the panel's last poll maybe
    panel.finish("FAILED")
    assert not panel.polling
    assert panel.status == "FAILED"
    assert panel.ended is not None and panel.ended >= panel.started
    assert panel.metrics["loss"]["last"] == pytest.approx(0.3)
    assert len(panel.metrics["loss"]["points"]) == 3
    polls = panel.polls
    time.sleep(live_panel.POLL_SECONDS * 2)
    assert panel.polls == polls
    panel.finish("FINISHED")  # a second call changes nothing
    assert panel.status == "FAILED"


def test_polling_stops_when_the_run_ends_elsewhere(run: Any) -> None:
    panel = LivePanel(run).show()
    run.log_metric("acc", 0.75)
    run.end("FINISHED")
    wait_for(lambda: not panel.polling)
    assert panel.status == "FINISHED"
    assert panel.metrics["acc"]["last"] == 0.75


def test_poller_errors_stop_it_quietly() -> None:
    class BrokenStore:
        def get_run(self, run_id: str) -> Any:
            raise RuntimeError("store gone")

    class FakeRun:
        id = "0" * 32
        name = "broken"
        store = BrokenStore()
        ended = False

        def flush(self) -> None:
            raise RuntimeError("no")

    panel = LivePanel(FakeRun()).show()
    wait_for(lambda: not panel.polling)
    panel.finish("FAILED")  # never raises
    assert panel.status == "FAILED"


def test_text_summary_and_mimebundle(run: Any) -> None:
    run.log_metric("loss", 0.2)
    run.log_metric("acc", 0.9)
    panel = LivePanel(run)
    run.end("FINISHED")
    panel.finish("FINISHED")
    text = panel.summary()
    assert text.startswith(f"run 'baseline' (id {run.id[:8]}…) FINISHED ")
    assert text.endswith(" · acc 0.9 · loss 0.2")
    data, _ = panel._repr_mimebundle_()
    assert data["text/plain"] == text
    assert "<b>baseline</b>" in data["text/html"]
    assert WIDGET_VIEW not in data  # no kernel comm here: nothing could render the widget


def test_user_text_is_escaped_in_html(tmp_path: Path) -> None:
    mm.set_tracking_uri(str(tmp_path / "s"))
    try:
        with start_run(name="<img src=x onerror=alert(1)>") as r:
            r.log_metric("loss", 1.0)  # metric names cannot hold markup characters at all
            panel = LivePanel(r)
        panel.finish("FINISHED")
        html = panel._repr_mimebundle_()[0]["text/html"]
        assert "<img" not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html
    finally:
        mm.set_tracking_uri(None)


def test_text_fallback_without_a_kernel_comm(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """No widget frontend possible: show() displays a text summary and updates it on finish."""
    import IPython.display
    from IPython.core.interactiveshell import InteractiveShell

    shown: list[tuple[Any, dict[str, Any]]] = []
    updates: list[Any] = []

    class Handle:
        def update(self, obj: Any, **kw: Any) -> None:
            updates.append(obj)

    def fake_display(obj: Any, **kw: Any) -> Handle:
        shown.append((obj, kw))
        return Handle()

    monkeypatch.setattr(IPython.display, "display", fake_display)
    monkeypatch.setattr(InteractiveShell, "initialized", classmethod(lambda cls: True))
    panel = LivePanel(run).show()
    assert len(shown) == 1
    obj, kw = shown[0]
    assert kw == {"raw": True, "display_id": True}
    assert obj["text/plain"].startswith("run 'baseline'") and "RUNNING" in obj["text/plain"]
    run.log_metric("loss", 0.25)
    run.end("FINISHED")
    panel.finish("FINISHED")
    assert updates, "finish must update the text display"
    assert "FINISHED" in updates[-1]["text/plain"] and "loss 0.25" in updates[-1]["text/plain"]


def test_many_metrics_are_capped(run: Any) -> None:
    for i in range(live_panel.MAX_LISTED + 5):
        run.log_metric(f"m{i:03d}", float(i))
    run.end("FINISHED")
    panel = LivePanel(run)
    panel.finish("FINISHED")
    assert len(panel.metrics) == live_panel.MAX_LISTED
    assert panel.hidden == 5
    with_points = [k for k, m in panel.metrics.items() if m["points"]]
    assert len(with_points) == live_panel.MAX_SPARKLINES
    assert panel.summary().endswith("+5 more")


def test_esm_is_plain_and_never_parses_html() -> None:
    assert (STATIC / "live_panel.js").is_file() and (STATIC / "live_panel.css").is_file()
    # inside the package, so the wheel carries them
    assert STATIC.parent == Path(live_panel.__file__).parent
    source = live_panel.LivePanel._esm  # as sent: the shared static/widget.js, then the panel's
    assert "function el(" in source and ".jmm-widget {" in live_panel.LivePanel._css
    assert "export default" in source and "render" in source
    assert not re.search(r"^\s*import\b", source, re.M), "no imports: no build step, no CDN"
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in source
    assert "textContent" in source


# ------------------------------------------------------------------ a real kernel


def test_panel_in_a_real_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.notebook.support import client_for, notebook

    store_dir = tmp_path / ".mm"
    monkeypatch.setenv("MM_TRACKING_URI", str(store_dir))
    nb = notebook(
        [
            "import jupyter_mm as mm",
            "import time\n"
            "from jupyter_mm.client.tracking import start_run\n"
            "from jupyter_mm.notebook.live_panel import LivePanel\n"
            "run = start_run(name='live-demo')\n"
            "panel = LivePanel(run).show()\n"
            "for i in range(20):\n"
            "    mm.log_metric('loss', 1 / (i + 1))\n"
            "    time.sleep(0.05)\n"
            "run.end('FINISHED')\n"
            "panel.finish('FINISHED')\n"
            "print('polling', panel.polling, 'polls', panel.polls)",
        ]
    )
    client = client_for(nb, tmp_path)
    with client.running():
        client.run(0)
        client.run(1)
        client.set_widgets_metadata()  # what nbclient does after running a whole notebook
    outputs = nb.cells[1].outputs
    assert not [o for o in outputs if o.output_type == "error"], outputs
    shown = [o for o in outputs if o.output_type == "display_data"]
    assert len(shown) == 1
    data = shown[0]["data"]
    assert WIDGET_VIEW in data
    assert data["text/plain"].startswith("run 'live-demo' (id ")
    assert "FINISHED" in data["text/plain"] and "loss 0.05" in data["text/plain"]
    stream = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "polling False" in stream
    assert int(stream.split("polls")[1]) >= 1
    # nbclient saved the widget's state with the notebook: the final state renders after export
    model_id = data[WIDGET_VIEW]["model_id"]
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    saved = state[model_id]["state"]
    assert saved["status"] == "FINISHED" and saved["name"] == "live-demo"
    assert saved["metrics"]["loss"]["last"] == pytest.approx(0.05)
    assert len(saved["metrics"]["loss"]["points"]) == 20


def test_show_live_panel_never_raises(run: Any) -> None:
    panel = live_panel.show_live_panel(run)
    assert panel is not None and panel.polling
    run.end("FINISHED")
    panel.finish("FINISHED")
    assert not panel.polling
    assert live_panel.show_live_panel(object()) is None  # not a run at all


def test_a_panel_that_cannot_be_shown_leaves_a_debug_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="jupyter_mm")
    assert live_panel.show_live_panel(object()) is None  # the cell goes on without a panel
    (record,) = [r for r in caplog.records if r.name == "jupyter_mm.notebook.live_panel"]
    assert record.levelno == logging.DEBUG and "showing a live panel" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is AttributeError
