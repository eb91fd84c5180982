"""``mm.diff``: what differs between two runs, shown inline as compact HTML tables and the notebook
diff of their snapshots (nbdime's own text rendering, coloured by line)."""

from __future__ import annotations

import html
import logging
import math
from typing import TYPE_CHECKING, Any

from ..client import comparison as cmp
from .failsafe import log_swallowed

if TYPE_CHECKING:
    from ..core.store import TrackingStore

_log = logging.getLogger(__name__)


class RunDiff:
    """What differs between two runs (from :func:`jupyter_mm.client.comparison.run_diff`),
    displayed as compact HTML tables and the notebook diff; ``.data`` holds the plain dict."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def __repr__(self) -> str:
        return self.text()

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.text())

    def text(self) -> str:
        d = self.data
        lines = [
            f"diff {d['a']['name']} ({d['a']['id'][:8]}) → {d['b']['name']} ({d['b']['id'][:8]})"
        ]
        for part in ("params", "metrics", "tags", "environment", "datasets"):
            rows = d.get(part, [])
            lines.append(f"{part}: {len(rows)} difference{'s' if len(rows) != 1 else ''}")
            for row in rows[:20]:
                lines.append(f"  {row['key']}: {_short(row['a'])} → {_short(row['b'])}")
            if len(rows) > 20:
                lines.append(f"  … {len(rows) - 20} more")
        nb = d.get("notebook")
        if nb is not None:
            if "error" in nb:
                lines.append(f"notebook: {nb['error']}")
            else:
                c = nb["cells"]
                lines.append(
                    f"notebook: {c['modified']} cell(s) modified, {c['added']} added, "
                    f"{c['removed']} removed"
                )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        e = html.escape
        d = self.data
        out = [
            "<div class='jmm-diff' style='font-size:12px'>",
            f"<div><b>{e(d['a']['name'])}</b> <code>{e(d['a']['id'][:8])}</code> → "
            f"<b>{e(d['b']['name'])}</b> <code>{e(d['b']['id'][:8])}</code></div>",
        ]
        for part in ("params", "metrics", "tags", "environment", "datasets"):
            rows = d.get(part, [])
            out.append(f"<h4 style='margin:8px 0 2px'>{part} ({len(rows)})</h4>")
            if not rows:
                out.append("<div style='color:#666'>no differences</div>")
                continue
            body = "".join(
                f"<tr><td><code>{e(str(r['key']))}</code></td><td>{e(_short(r['a']))}</td>"
                f"<td>{e(_short(r['b']))}</td><td>{_delta(r)}</td></tr>"
                for r in rows[:200]
            )
            more = f"<div>… {len(rows) - 200} more</div>" if len(rows) > 200 else ""
            out.append(
                "<table style='border-collapse:collapse'><thead><tr><th>key</th>"
                f"<th>{e(d['a']['name'])}</th><th>{e(d['b']['name'])}</th><th></th></tr></thead>"
                f"<tbody>{body}</tbody></table>{more}"
            )
        nb = d.get("notebook")
        if nb is not None:
            out.append("<h4 style='margin:8px 0 2px'>notebook</h4>")
            out.append(notebook_diff_html(nb))
        out.append("</div>")
        return "".join(out)


def _short(v: Any, limit: int = 120) -> str:
    if v is None:
        return "–"
    text = f"{v:.6g}" if isinstance(v, float) else str(v)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _delta(row: dict[str, Any]) -> str:
    a, b = row["a"], row["b"]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if math.isfinite(a) and math.isfinite(b):
            return html.escape(f"{b - a:+.4g}")
    return html.escape(row["change"])


def notebook_diff_html(nb: dict[str, Any]) -> str:
    """The notebook part of a run diff: nbdime's diff printed as text (its pretty printer), each
    line escaped and coloured by whether it was added or removed."""
    e = html.escape
    if "error" in nb:
        return f"<div style='color:#666'>{e(nb['error'])}</div>"
    c = nb["cells"]
    head = (
        f"<div>{c['modified']} cell(s) modified, {c['added']} added, {c['removed']} removed "
        f"(snapshots: {e(nb['base']['source'])} → {e(nb['other']['source'])})</div>"
    )
    text = nb.get("text")
    if not text:
        return head
    lines = []
    for line in text.splitlines():
        stripped = line.lstrip()
        color = ""
        if stripped.startswith("+"):
            color = "background:#e6ffec"
        elif stripped.startswith("-"):
            color = "background:#ffebe9"
        lines.append(f"<div style='{color}'>{e(line) or '&nbsp;'}</div>")
    return (
        f"{head}<div style='font-family:var(--jp-code-font-family,monospace);white-space:pre;"
        f"overflow:auto;max-height:480px;border:1px solid #ddd;padding:4px'>{''.join(lines)}</div>"
    )


def diff(run_a: Any, run_b: Any, notebook: bool = True) -> RunDiff:
    """Differences between two runs: params, latest metrics, tags, environment (packages, Python,
    platform), datasets, and the notebook diff of their snapshots (nbdime), shown inline."""
    from ..client.reading import get_store

    store = get_store()
    data = cmp.run_diff(store, run_a, run_b, notebook=notebook)
    nb = data.get("notebook")
    if nb is not None and "error" not in nb:
        nb["text"] = _nbdime_text(store, data["a"]["id"], nb["diff"])
    return RunDiff(data)


def _nbdime_text(store: TrackingStore, base_id: str, diff_ops: list[Any]) -> str:
    """nbdime's own text rendering of a notebook diff, without ANSI colours."""
    import io

    from nbdime.prettyprint import PrettyPrintConfig, pretty_print_diff

    from ..client.snapshots import best_snapshot

    base, _ = best_snapshot(store, base_id)
    out = io.StringIO()
    # difflib, not git/diff subprocesses; no ANSI colours (the HTML colours lines itself)
    config = PrettyPrintConfig(out=out, use_git=False, use_diff=False, use_color=False)
    try:
        pretty_print_diff(base, _entries(diff_ops), "", config)
    except Exception as exc:  # a diff nbdime cannot print: say so, keep the rest
        log_swallowed(_log, "printing a notebook diff with nbdime")
        return f"(nbdime could not print this diff: {exc})"
    return _strip_ansi(out.getvalue())


def _entries(value: Any) -> Any:
    """Plain diff dicts back into nbdime's ``DiffEntry`` objects (its printer reads attributes)."""
    from nbdime.diff_format import DiffEntry

    if isinstance(value, list):
        return [_entries(v) for v in value]
    if isinstance(value, dict) and "op" in value:
        return DiffEntry(**{k: _entries(v) if k == "diff" else v for k, v in value.items()})
    return value


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)
