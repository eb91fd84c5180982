"""Model cards: made of recorded facts plus audited user fields; Markdown, escaped HTML and
Model Card Toolkit JSON."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import jupyter_mm as mm
from jupyter_mm.core.registry.model_card import (
    CARD_TAG_PREFIX,
    card_fields,
    model_card,
    update_model_card,
)
from jupyter_mm.core.store import Store
from jupyter_mm.errors import InvalidInput, NotFound

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes" | pipe'


def _bank_story(store: Store) -> str:
    """A scored run, registered, approved by a validator and made champion."""
    run = store.create_run(name="logit-v2", params={"C": "0.5", "penalty": "l2"})
    store.log_batch(run.id, metrics=[("auc", 0.81, 0, 1), ("ks", 0.42, 0, 1)])
    from jupyter_mm.core.entities import DatasetInput

    store.log_dataset(
        run.id,
        DatasetInput(
            name="applications",
            digest="ab" * 32,
            context="training",
            source="s3://bank/apps.parquet",
            row_count=120_000,
        ),
    )
    store.log_artifact(
        run.id, "models/m/MLmodel", b"flavors:\n  python_function: {}\n  sklearn: {}\n"
    )
    store.create_registered_model("credit-risk", actor="alice", description="PD model")
    store.create_model_version("credit-risk", f"runs:/{run.id}/models/m", actor="alice")
    store.request_approval(
        "credit-risk", 1, actor="alice", comment="ready", evidence=["https://wiki/validation/42"]
    )
    store.approve("credit-risk", 1, actor="bob", comment="validated: AUC stable")
    store.set_registered_model_alias("credit-risk", "champion", 1, actor="bob", comment="go live")
    return run.id


def test_card_is_made_of_recorded_facts(store: Store) -> None:
    run_id = _bank_story(store)
    md = model_card(store, "credit-risk", 1)
    assert md.startswith("# Model card: credit-risk version 1\n")
    assert "PD model" in md and "Owner: alice" in md
    assert re.search(r"- Approval: Approved by bob on \d{4}-\d\d-\d\dT", md)
    assert "| auc | 0.81 |" in md and "| ks | 0.42 |" in md
    assert "| C | 0.5 |" in md and "| penalty | l2 |" in md
    assert "applications" in md and "sha256 " + "ab" * 32 in md and "120000 rows" in md
    assert re.search(
        r"alice requested approval: ready \(evidence: https://wiki/validation/42\)", md
    )
    assert re.search(r"bob approved: validated: AUC stable", md)
    assert "champion set to version 1 by bob (go live)" in md
    assert run_id in md
    # nothing written by people yet: said so, not invented
    assert md.count("_not written yet_") == 5
    # the lineage's gaps are stated
    assert "notebook snapshot | not recorded" in md


def test_user_fields_are_audited_and_all_or_nothing(store: Store) -> None:
    _bank_story(store)
    before = len(store.audit_log())
    fields = update_model_card(
        store,
        "credit-risk",
        1,
        actor="carol",
        comment="card drafted",
        intended_use="Scoring retail loan applications.\n\nNot for mortgages.",
        limitations="Trained on 2020-2025 data.",
    )
    assert fields == {
        "intended_use": "Scoring retail loan applications.\n\nNot for mortgages.",
        "limitations": "Trained on 2020-2025 data.",
    }
    entries = store.audit_log()[before:]
    assert [(e.action, e.actor, e.comment) for e in entries] == [
        ("version.tag_set", "carol", "card drafted"),
        ("version.tag_set", "carol", "card drafted"),
    ]
    assert {k for e in entries for k in e.after} == {
        CARD_TAG_PREFIX + "intended_use",
        CARD_TAG_PREFIX + "limitations",
    }
    assert store.verify_audit().ok
    # the same values again change and record nothing
    update_model_card(
        store, "credit-risk", 1, actor="carol", limitations="Trained on 2020-2025 data."
    )
    assert len(store.audit_log()) == before + 2

    # one bad field: nothing written
    with pytest.raises(InvalidInput, match="unknown model card field"):
        update_model_card(store, "credit-risk", 1, actor="carol", users="x", colour="blue")
    with pytest.raises(InvalidInput, match="limit"):
        update_model_card(store, "credit-risk", 1, actor="carol", users="x", tradeoffs="y" * 9000)
    with pytest.raises(InvalidInput, match="at least one"):
        update_model_card(store, "credit-risk", 1, actor="carol")
    with pytest.raises(NotFound):
        update_model_card(store, "credit-risk", 9, actor="carol", users="x")
    assert "users" not in card_fields(store.get_model_version("credit-risk", 1).tags)
    assert len(store.audit_log()) == before + 2

    # clearing a field is a recorded deletion
    update_model_card(store, "credit-risk", 1, actor="dave", limitations="")
    last = store.audit_log()[-1]
    assert last.action == "version.tag_deleted" and last.actor == "dave"
    md = model_card(store, "credit-risk", 1)
    assert "Scoring retail loan applications.\n\nNot for mortgages." in md
    assert md.count("_not written yet_") == 4


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_hostile_user_text_is_escaped_in_html_and_markdown(store: Store) -> None:
    run = store.create_run(name=HOSTILE[:200], params={"p": HOSTILE})
    store.log_batch(run.id, metrics=[("m", 1.0, 0, 1), ("nan", float("nan"), 0, 1)])
    store.create_registered_model("m", actor="x<y", description=HOSTILE)
    store.create_model_version("m", f"runs:/{run.id}/model", actor="x<y", description=HOSTILE)
    update_model_card(
        store, "m", 1, actor="x<y", intended_use=HOSTILE, ethical_considerations=HOSTILE
    )
    store.request_approval("m", 1, actor="x<y", comment=HOSTILE, evidence=[HOSTILE])

    page = model_card(store, "m", 1, format="html")
    parser = _Collect()
    parser.feed(page)
    # only the card's own structure: no script, no img, no event handler attributes
    assert set(parser.tags) <= {"div", "h1", "h2", "p", "br", "ul", "li", "em", "table"} | {
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    }
    assert parser.attrs == [("class", "jp-mm-model-card")]
    assert "<script" not in page and "<img" not in page
    assert html.escape(HOSTILE) in page
    # the text still reads as typed
    assert HOSTILE in "".join(parser.text)

    hostile_json = model_card(store, "m", 1, format="json")
    _check_mct_field_names(hostile_json)
    assert {"type": "nan", "slice": ""} in hostile_json["quantitative_analysis"][
        "performance_metrics"
    ]  # NaN has no JSON number: named, without a value
    md = model_card(store, "m", 1, format="markdown")
    assert "<script" not in md and "<img" not in md
    assert "&lt;script&gt;" in md and "\\| pipe" in md


def test_mct_json_shape(store: Store) -> None:
    _bank_story(store)
    update_model_card(
        store,
        "credit-risk",
        1,
        actor="carol",
        intended_use="Retail loans.",
        users="Credit officers.",
        limitations="No thin-file applicants.\n\nRecalibrate yearly.",
        tradeoffs="Recall over precision.",
        ethical_considerations="Protected attributes excluded.",
    )
    card = model_card(store, "credit-risk", 1, format="json")
    assert set(card) == {
        "schema_version",
        "model_details",
        "model_parameters",
        "quantitative_analysis",
        "considerations",
    }
    details = card["model_details"]
    assert details["name"] == "credit-risk" and details["overview"] == "PD model"
    assert details["owners"] == [{"name": "alice", "contact": ""}]
    assert details["version"]["name"] == "1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", details["version"]["date"])  # MCT: format date
    assert "bob approved: validated: AUC stable" in details["documentation"]
    run_id = store.get_model_version("credit-risk", 1).run_id
    assert {"reference": f"runs:/{run_id}"} in details["references"]
    assert card["model_parameters"]["model_architecture"] == "models/m (python_function, sklearn)"
    assert card["model_parameters"]["data"][0]["name"] == "applications"
    assert "ab" * 32 in card["model_parameters"]["data"][0]["description"]
    assert card["quantitative_analysis"]["performance_metrics"] == [
        {"type": "auc", "value": 0.81, "slice": ""},
        {"type": "ks", "value": 0.42, "slice": ""},
    ]
    assert card["model_parameters"]["data"][0]["link"] == "s3://bank/apps.parquet"
    assert "Lineage:" in details["documentation"]
    assert "model files: models/m (python_function, sklearn)" in details["documentation"]
    c = card["considerations"]
    assert c["use_cases"] == [{"description": "Retail loans."}]
    assert c["users"] == [{"description": "Credit officers."}]
    assert c["limitations"] == [
        {"description": "No thin-file applicants."},
        {"description": "Recalibrate yearly."},
    ]
    assert c["tradeoffs"] == [{"description": "Recall over precision."}]
    assert c["ethical_considerations"] == [
        {"name": "Protected attributes excluded.", "mitigation_strategy": ""}
    ]
    _check_mct_field_names(card)
    with pytest.raises(InvalidInput, match="format"):
        model_card(store, "credit-risk", 1, format="pdf")


#: Field names Model Card Toolkit's schema v0.0.2 allows (additionalProperties: false).
_MCT_FIELDS: dict[str, Any] = {
    "model_details": {
        "name",
        "overview",
        "documentation",
        "owners",
        "version",
        "licenses",
        "references",
        "citations",
    },
    "model_parameters": {"model_architecture", "data", "input_format", "output_format"},
    "quantitative_analysis": {"performance_metrics", "graphics"},
    "considerations": {"users", "use_cases", "limitations", "tradeoffs", "ethical_considerations"},
}


def _check_mct_field_names(card: dict[str, Any]) -> None:
    """The v0.0.2 schema's names and types: top level closed; metric values numbers; version
    date a date; references and dataset links URIs; licenses need an identifier or text."""
    assert set(card) <= {"schema_version", *_MCT_FIELDS}
    for section, allowed in _MCT_FIELDS.items():
        assert set(card[section]) <= allowed, (section, set(card[section]) - allowed)
    details = card["model_details"]
    assert set(details["version"]) <= {"name", "date", "diff"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", details["version"]["date"])
    assert all(set(o) <= {"name", "contact"} for o in details["owners"])
    assert all(re.match(r"^[A-Za-z][\w+.-]*:\S+$", r["reference"]) for r in details["references"])
    assert all({"identifier", "custom_text"} & set(x) for x in details["licenses"])
    for metric in card["quantitative_analysis"]["performance_metrics"]:
        assert set(metric) <= {"type", "value", "slice"}
        assert "value" not in metric or isinstance(metric["value"], (int, float))
    for d in card["model_parameters"]["data"]:
        assert set(d) <= {"name", "link", "sensitive", "graphics", "description"}
        assert "link" not in d or re.match(r"^[A-Za-z][\w+.-]*:\S+$", d["link"])
    for key in ("users", "use_cases", "limitations", "tradeoffs"):
        assert all(set(x) == {"description"} for x in card["considerations"][key])
    for risk in card["considerations"]["ethical_considerations"]:
        assert set(risk) <= {"name", "mitigation_strategy"}
    json.dumps(card, allow_nan=False)  # strict JSON


def test_mm_model_card_api(
    sqlite_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("MM_TRACKING_URI", "MM_ARTIFACT_URI", "MM_EXPERIMENT_NAME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MM_USER", "carol")
    _bank_story(sqlite_store)
    mm.set_tracking_uri(str(tmp_path / "store"))
    try:
        assert mm.update_model_card("credit-risk", 1, intended_use="Retail.") == {
            "intended_use": "Retail."
        }
        md = mm.model_card("credit-risk", 1)
        page = mm.model_card("credit-risk", 1, format="html")
        card = mm.model_card("credit-risk", 1, format="json")
    finally:
        mm.set_tracking_uri(None)
    assert "## Intended use\n\nRetail." in md
    assert "<h2>Intended use</h2>\n<p>Retail.</p>" in page
    assert card["considerations"]["use_cases"] == [{"description": "Retail."}]
    assert sqlite_store.audit_log()[-1].actor == "carol"
