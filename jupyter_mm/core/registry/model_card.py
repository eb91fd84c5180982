"""Model cards: recorded facts plus a few fields people write, as Markdown, HTML or MCT JSON.

Facts come from the store only (the version, its run's params and final metrics, the datasets by
digest, the approval and who decided it, the alias history from the audit trail, the lineage), so a
card can be regenerated at any time and never drifts from the record. The human fields (intended
use, users, limitations, trade-offs, ethical considerations) are version tags named
``mm.card.<field>``, written through :func:`update_model_card` in one registry transaction, so each
change is in the hash-chained audit trail like any other tag change.

Rendering never trusts user text: HTML is built here, element by element, with every recorded or
typed value escaped (no Markdown-to-HTML conversion of user input); Markdown output escapes ``<``,
``>`` and ``&`` so a renderer that allows inline HTML shows the text instead of running it. JSON
follows Google's Model Card Toolkit schema v0.0.2 field names (``model_details``,
``model_parameters``, ``quantitative_analysis``, ``considerations``) and adds nothing at the top
level (the schema forbids extra properties); governance facts go into ``model_details``'s
``documentation`` and ``references``.
"""

from __future__ import annotations

import datetime as _dt
import html
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from ...errors import InvalidInput
from .. import limits, validation
from . import rules
from .lineage import lineage, version_json

if TYPE_CHECKING:
    from ..store import Store
    from .entities import AuditEntry

#: Tag prefix of the fields people fill.
CARD_TAG_PREFIX = "mm.card."
#: The fields people fill, in the order cards show them.
USER_FIELDS = ("intended_use", "users", "limitations", "tradeoffs", "ethical_considerations")
FORMATS = ("markdown", "html", "json")
MCT_SCHEMA_VERSION = "0.0.2"
_TITLES = {
    "intended_use": "Intended use",
    "users": "Intended users",
    "limitations": "Limitations",
    "tradeoffs": "Trade-offs",
    "ethical_considerations": "Ethical considerations",
}
_MISSING_TEXT = "not written yet"


# --------------------------------------------------------------------------- user fields


def update_model_card(
    store: Store,
    name: str,
    version: int | str,
    *,
    actor: str,
    comment: str = "",
    **fields: str | None,
) -> dict[str, str]:
    """Set (or, with ``""``/``None``, clear) the card's user fields of one version.

    All fields are checked first and written in one audited transaction: an unknown field or an
    oversized value changes nothing. Returns the version's user fields afterwards.
    """
    number, actor, comment = rules.version(version), rules.actor(actor), rules.comment(comment)
    if not fields:
        raise InvalidInput(f"name at least one model card field: {', '.join(USER_FIELDS)}")
    validation.known_fields(fields, USER_FIELDS, "model card field")
    wanted: dict[str, str | None] = {}
    for field, value in fields.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            wanted[CARD_TAG_PREFIX + field] = None
            continue
        if not isinstance(value, str):
            raise InvalidInput(
                f"model card field {field!r} must be text, got {type(value).__name__}"
            )
        wanted[CARD_TAG_PREFIX + field] = rules.text(
            value, f"model card field {field!r}", limits.MAX_TAG_VALUE_LENGTH
        )

    def write(conn: Connection) -> None:
        model = store._model_row(conn, name)
        store._version_row(conn, model, number)
        changed = False
        for key, value in wanted.items():
            wrote = store._write_tag(
                conn, model, name, key, value, actor=actor, comment=comment, version=number
            )
            changed = changed or wrote
        if changed:
            store._update_version(conn, model.model_id, number)

    store._registry_write(write)
    return card_fields(store.get_model_version(name, number).tags)


def card_fields(tags: Mapping[str, str]) -> dict[str, str]:
    """The user fields found among a version's tags."""
    return {f: tags[CARD_TAG_PREFIX + f] for f in USER_FIELDS if tags.get(CARD_TAG_PREFIX + f, "")}


# --------------------------------------------------------------------------- facts


def card_facts(store: Store, name: str, version: int | str) -> dict[str, Any]:
    """Everything a card shows, as JSON-ready data (what the three renderings are made from)."""
    facts = lineage(store, name, version)
    mv = store.get_model_version(name, version)
    model = store.get_registered_model(name)
    history = store.audit_log(name)
    approvals = [
        _entry_json(e)
        for e in history
        if e.version == mv.version and e.action.startswith("approval.")
    ]
    alias_events = [_entry_json(e) for e in history if e.alias is not None]
    fields = card_fields(mv.tags)
    return {
        "model": {
            "name": model.name,
            "description": model.description,
            "owner": model.owner,
            "tags": {k: v for k, v in model.tags.items() if not k.startswith(CARD_TAG_PREFIX)},
            "aliases": dict(model.aliases),
        },
        "version": {
            **version_json(mv),
            "tags": {k: v for k, v in mv.tags.items() if not k.startswith(CARD_TAG_PREFIX)},
        },
        "fields": fields,
        "missing_fields": [f for f in USER_FIELDS if f not in fields],
        "approvals": approvals,
        "alias_history": alias_events,
        "lineage": facts,
        "reproducibility": _reproducibility(mv.tags),
    }


def _reproducibility(tags: Mapping[str, str]) -> dict[str, Any] | None:
    """The latest reproducibility check's summary (``mm.reproducibility``), or None."""
    import json

    from .reproducibility import REPRODUCIBILITY_TAG

    value = tags.get(REPRODUCIBILITY_TAG)
    if not value:
        return None
    try:
        summary = json.loads(value)
    except ValueError:
        return {"passed": None, "problems": ["unreadable summary"]}
    return summary if isinstance(summary, dict) else None


def _reproducibility_lines(facts: dict[str, Any]) -> list[str]:
    r = facts.get("reproducibility")
    if r is None:
        return []
    verdict = {True: "passed", False: "failed"}.get(r.get("passed"), "unreadable")
    lines = [
        f"Verdict: {verdict} (tolerance {r.get('tolerance')})",
        f"Re-run of run {r.get('source_run_id')} as run {r.get('rerun_run_id')} (job {r.get('job_id')})",
        f"Metrics compared: {r.get('metrics_compared')}; predictions compared on: "
        f"{r.get('predictions_sample') or 'no sample'}",
        f"Environment differences: {r.get('environment_differences')}",
    ]
    lines += [f"Difference: {p}" for p in r.get("problems") or []]
    if r.get("details"):
        lines.append(f"Details: sha256 {r['details']}")
    return lines


def _entry_json(e: AuditEntry) -> dict[str, Any]:
    """An audit entry as a card shows it: its exported record (:meth:`AuditEntry.to_json`)
    without the ids, the raw JSON and the previous hash, and its time to the second."""
    record = e.to_json()
    for key in ("model_id", "model", "from_json", "to_json", "prev_hash"):
        del record[key]
    record["time_utc"] = _iso(e.time)
    return record


def _iso(ms: int | None) -> str:
    if ms is None:
        return ""
    when = _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.timezone.utc)
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------- renderings


def model_card(store: Store, name: str, version: int | str, format: str = "markdown") -> Any:
    """The card of one version: Markdown or HTML text, or MCT JSON (a dict)."""
    if format not in FORMATS:
        raise InvalidInput(f"model card format must be one of {', '.join(FORMATS)}, got {format!r}")
    facts = card_facts(store, name, version)
    if format == "json":
        return to_mct(facts)
    return to_html(facts) if format == "html" else to_markdown(facts)


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]


def _metric_text(value: Any) -> str:
    return value if isinstance(value, str) else f"{value:.6g}"


def _approval_text(approval: dict[str, Any] | None) -> str:
    if approval is None:
        return "not submitted"
    if approval["decided_by"]:
        return (
            f"{approval['status']} by {approval['decided_by']} on {_iso(approval['decided_time'])}"
        )
    return f"{approval['status']} (requested by {approval['requested_by']})"


def _lifecycle_text(v: dict[str, Any]) -> str:
    state = v.get("lifecycle", "active")
    if state == "deprecated":
        return f"deprecated: {v.get('deprecation') or ''}"
    return "archived (retired: it no longer serves)" if state == "archived" else state


def _governance(facts: dict[str, Any]) -> list[str]:
    """Approval decisions and alias moves as sentences (shared by every rendering)."""
    lines = []
    for a in facts["approvals"]:
        verb = {
            "approval.requested": "requested approval",
            "approval.approved": "approved",
            "approval.rejected": "rejected",
        }.get(a["action"], a["action"])
        evidence = (a["to"] or {}).get("evidence") if isinstance(a["to"], dict) else None
        line = f"{a['time_utc']}: {a['actor']} {verb}"
        if a["comment"]:
            line += f": {a['comment']}"
        if evidence:
            line += f" (evidence: {', '.join(evidence)})"
        lines.append(line)
    return lines


def _alias_lines(facts: dict[str, Any]) -> list[str]:
    out = []
    for e in facts["alias_history"]:
        before = (e["from"] or {}).get("version") if isinstance(e["from"], dict) else None
        after = (e["to"] or {}).get("version") if isinstance(e["to"], dict) else None
        if e["action"] == "alias.deleted":
            what = f"{e['alias']} removed from version {before}"
        elif before is None:
            what = f"{e['alias']} set to version {after}"
        else:
            what = f"{e['alias']} moved from version {before} to {after}"
        line = f"{e['time_utc']}: {what} by {e['actor']}"
        if e["comment"]:
            line += f" ({e['comment']})"
        out.append(line)
    return out


def _lineage_rows(facts: dict[str, Any]) -> list[tuple[str, str]]:
    lin = facts["lineage"]
    rows: list[tuple[str, str]] = [("source", facts["version"]["source"])]
    run = lin["run"]
    if run:
        rows.append(
            (
                "run",
                f"{run['id']} ({run['name']}, {run['status']}, by {run['user'] or 'unknown user'}, "
                f"{_iso(run['start_time'])} to {_iso(run['end_time']) or 'running'})",
            )
        )
        if run.get("notebook_path"):
            rows.append(("notebook", run["notebook_path"]))
    if lin["model_files"]:
        files = lin["model_files"]
        rows.append(
            (
                "model files",
                f"{_architecture(files)}: {files['files']} files, MLmodel sha256 "
                f"{files['mlmodel_digest'] or 'none'}",
            )
        )
    snap = lin["notebook"]["snapshot"]
    if snap:
        rows.append(
            ("notebook snapshot", f"{snap['path']} ({snap['source']}), sha256 {snap['digest']}")
        )
    log = lin["execution_log"]
    if log:
        flags = [
            f
            for f, on in (
                ("out of order", log["out_of_order"]),
                ("hidden state", log["hidden_state"]),
            )
            if on
        ]
        rows.append(
            (
                "execution log",
                f"{log['entries']} executions; flags: {', '.join(flags) or 'none'}; "
                f"sha256 {log['digest']}",
            )
        )
    git = lin["git"]
    if git:
        rows.append(
            (
                "git",
                f"commit {git['commit']} on {git['branch'] or '(detached)'}"
                f"{' with uncommitted changes' if git['dirty'] else ''}"
                f"{', remote ' + git['remote'] if git['remote'] else ''}",
            )
        )
    env = lin["environment"]
    if env:
        pkgs = ", ".join(f"{k} {v}" for k, v in sorted(env["key_packages"].items()))
        rows.append(
            (
                "environment",
                f"Python {env['python']} on {env['platform']}"
                + (f"; {pkgs}" if pkgs else "")
                + f"; fingerprint {env['fingerprint']}",
            )
        )
    for m in lin["missing"]:
        rows.append((m["part"].replace("_", " "), f"not recorded: {m['reason']}"))
    return rows


def _dataset_text(d: dict[str, Any]) -> str:
    parts = [f"context {d['context']}", f"sha256 {d['digest']}"]
    if d["row_count"] is not None:
        parts.append(f"{d['row_count']} rows")
    if d["source"]:
        parts.append(f"source {d['source']}")
    return "; ".join(parts)


def _value_table(
    values: Mapping[str, Any] | None, what: str, cell: Callable[[Any], str]
) -> list[str]:
    """A Markdown table of a run's ``values`` by name (metrics, params), or a line saying none."""
    if not values:
        return [f"_no {what}s recorded_"]
    rows = [f"| {_md(k)} | {cell(x)} |" for k, x in sorted(values.items())]
    return [f"| {what} | value |", "|---|---|", *rows]


def _md(text: Any) -> str:
    """Text safe inside Markdown: no inline HTML survives, table pipes stay in their cell."""
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("|", "\\|")
    )


def to_markdown(facts: dict[str, Any]) -> str:
    v, m, lin = facts["version"], facts["model"], facts["lineage"]
    out = [f"# Model card: {_md(m['name'])} version {v['version']}", ""]
    overview = v["description"] or m["description"]
    if overview:
        out += [_md(overview), ""]
    out += [
        "## Model details",
        "",
        f"- Owner: {_md(m['owner'])}",
        f"- Registered by {_md(v['user_id'])} on {_iso(v['creation_time'])}",
        f"- Source: `{_md(v['source'])}`",
        f"- Aliases: {_md(', '.join(v['aliases'])) or 'none'}",
        f"- Approval: {_md(_approval_text(v['approval']))}",
        f"- Lifecycle: {_md(_lifecycle_text(v))}",
        "",
    ]
    for field in USER_FIELDS:
        out += [f"## {_TITLES[field]}", ""]
        text = facts["fields"].get(field)
        out += [*(_md(p) + "\n" for p in _paragraphs(text))] if text else [f"_{_MISSING_TEXT}_", ""]
    run = lin["run"] or {}
    out += ["## Performance (final metrics of the run)", ""]
    out += _value_table(run.get("metrics"), "metric", _metric_text)
    out += ["", "## Parameters", ""]
    out += _value_table(run.get("params"), "param", _md)
    out += ["", "## Data", ""]
    out += [f"- **{_md(d['name'])}**: {_md(_dataset_text(d))}" for d in lin["datasets"]] or [
        "_no dataset recorded_"
    ]
    out += ["", "## Approvals", ""]
    out += [f"- {_md(line)}" for line in _governance(facts)] or ["_never submitted_"]
    out += ["", "## Reproducibility", ""]
    out += [f"- {_md(line)}" for line in _reproducibility_lines(facts)] or ["_never checked_"]
    out += ["", "## Alias history", ""]
    out += [f"- {_md(line)}" for line in _alias_lines(facts)] or ["_no alias ever set_"]
    out += ["", "## Lineage", "", "| part | record |", "|---|---|"]
    out += [f"| {_md(k)} | {_md(x)} |" for k, x in _lineage_rows(facts)]
    return "\n".join(out).rstrip() + "\n"


def _h(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _html_text(text: str) -> str:
    return "".join(
        f"<p>{'<br>'.join(_h(line) for line in p.split(chr(10)))}</p>" for p in _paragraphs(text)
    )


def _html_table(head: tuple[str, str], rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><td>{_h(a)}</td><td>{_h(b)}</td></tr>" for a, b in rows)
    return (
        f"<table><thead><tr><th>{_h(head[0])}</th><th>{_h(head[1])}</th></tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def _html_list(items: list[str], empty: str) -> str:
    if not items:
        return f"<p><em>{_h(empty)}</em></p>"
    return "<ul>" + "".join(f"<li>{_h(i)}</li>" for i in items) + "</ul>"


def to_html(facts: dict[str, Any]) -> str:
    """A self-contained HTML fragment; every value (typed or recorded) is escaped."""
    v, m, lin = facts["version"], facts["model"], facts["lineage"]
    run = lin["run"] or {}
    parts = [
        '<div class="jp-mm-model-card">',
        f"<h1>Model card: {_h(m['name'])} version {_h(v['version'])}</h1>",
    ]
    overview = v["description"] or m["description"]
    if overview:
        parts.append(_html_text(overview))
    parts.append("<h2>Model details</h2>")
    parts.append(
        _html_list(
            [
                f"Owner: {m['owner']}",
                f"Registered by {v['user_id']} on {_iso(v['creation_time'])}",
                f"Source: {v['source']}",
                f"Aliases: {', '.join(v['aliases']) or 'none'}",
                f"Approval: {_approval_text(v['approval'])}",
                f"Lifecycle: {_lifecycle_text(v)}",
            ],
            "",
        )
    )
    for field in USER_FIELDS:
        parts.append(f"<h2>{_h(_TITLES[field])}</h2>")
        text = facts["fields"].get(field)
        parts.append(_html_text(text) if text else f"<p><em>{_MISSING_TEXT}</em></p>")
    parts.append("<h2>Performance (final metrics of the run)</h2>")
    metrics = [(k, _metric_text(x)) for k, x in sorted((run.get("metrics") or {}).items())]
    parts.append(
        _html_table(("metric", "value"), metrics) if metrics else "<p><em>no metrics</em></p>"
    )
    parts.append("<h2>Parameters</h2>")
    params = sorted((run.get("params") or {}).items())
    parts.append(_html_table(("param", "value"), params) if params else "<p><em>none</em></p>")
    parts.append("<h2>Data</h2>")
    parts.append(
        _html_list(
            [f"{d['name']}: {_dataset_text(d)}" for d in lin["datasets"]], "no dataset recorded"
        )
    )
    parts.append("<h2>Approvals</h2>")
    parts.append(_html_list(_governance(facts), "never submitted"))
    parts.append("<h2>Reproducibility</h2>")
    parts.append(_html_list(_reproducibility_lines(facts), "never checked"))
    parts.append("<h2>Alias history</h2>")
    parts.append(_html_list(_alias_lines(facts), "no alias ever set"))
    parts.append("<h2>Lineage</h2>")
    parts.append(_html_table(("part", "record"), _lineage_rows(facts)))
    parts.append("</div>")
    return "\n".join(parts) + "\n"


def _architecture(files: dict[str, Any] | None) -> str:
    if not files:
        return ""
    flavors = ", ".join(files.get("flavors") or [])
    return f"{files['path']} ({flavors})" if flavors else str(files["path"])


def _is_uri(text: str) -> bool:
    scheme, sep, rest = text.partition(":")
    return bool(sep and rest and scheme[:1].isalpha() and " " not in text)


def to_mct(facts: dict[str, Any]) -> dict[str, Any]:
    """The card in Model Card Toolkit's JSON schema v0.0.2 (its field names and types: metric
    values are numbers, the version date a date, references URIs; nothing extra at the top).

    Governance facts without an MCT field (approvals, alias history, digests) are written out in
    ``model_details.documentation``."""
    v, m, lin = facts["version"], facts["model"], facts["lineage"]
    run = lin["run"] or {}
    fields = facts["fields"]
    files = lin["model_files"] or {}
    uris = [v["source"]]
    if run:
        uris.append(f"runs:/{run['id']}")
    snap = lin["notebook"]["snapshot"]
    if snap and run:
        uris.append(f"runs:/{run['id']}/{snap['path']}")
    if lin["git"] and lin["git"]["remote"]:
        uris.append(lin["git"]["remote"])
    references = [{"reference": u} for u in dict.fromkeys(uris) if _is_uri(u)]
    documentation = "\n".join(
        [f"Lifecycle: {_lifecycle_text(v)}"]
        + ["Approvals:", *(_governance(facts) or ["never submitted"])]
        + ["Reproducibility:", *(_reproducibility_lines(facts) or ["never checked"])]
        + ["Alias history:", *(_alias_lines(facts) or ["no alias ever set"])]
        + ["Lineage:", *(f"{part}: {record}" for part, record in _lineage_rows(facts))]
    )

    def described(field: str) -> list[dict[str, str]]:
        return [{"description": p} for p in _paragraphs(fields.get(field, ""))]

    def dataset(d: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"name": d["name"]}
        if d["source"] and _is_uri(d["source"]):
            out["link"] = d["source"]
        out["sensitive"] = {"sensitive_data": []}
        out["description"] = _dataset_text(d)
        return out

    def metric(key: str, value: Any) -> dict[str, Any]:
        # MCT wants a number; NaN and ±Inf have no JSON number, so they keep only their name
        out: dict[str, Any] = {"type": key}
        if not isinstance(value, str):
            out["value"] = value
        out["slice"] = ""
        return out

    return {
        "schema_version": MCT_SCHEMA_VERSION,
        "model_details": {
            "name": m["name"],
            "overview": v["description"] or m["description"],
            "documentation": documentation,
            "owners": [{"name": m["owner"], "contact": ""}],
            "version": {
                "name": str(v["version"]),
                "date": _iso(v["creation_time"])[:10],
                "diff": v["description"],
            },
            "licenses": [],
            "references": references,
            "citations": [],
        },
        "model_parameters": {
            "model_architecture": _architecture(lin["model_files"]),
            "data": [dataset(d) for d in lin["datasets"]],
            "input_format": (files.get("signature") or {}).get("inputs", ""),
            "output_format": (files.get("signature") or {}).get("outputs", ""),
        },
        "quantitative_analysis": {
            "performance_metrics": [
                metric(k, x) for k, x in sorted((run.get("metrics") or {}).items())
            ],
            "graphics": {"description": "", "collection": []},
        },
        "considerations": {
            "users": described("users"),
            "use_cases": described("intended_use"),
            "limitations": described("limitations"),
            "tradeoffs": described("tradeoffs"),
            "ethical_considerations": [
                {"name": p, "mitigation_strategy": ""}
                for p in _paragraphs(fields.get("ethical_considerations", ""))
            ],
        },
    }
