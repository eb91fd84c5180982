"""``jupyter-mm/api/registry/...``: the model registry over REST.

Registered models (search with the filter grammar, create, read, rename, describe, tag, delete),
versions (list, register from a run's model, read, describe, tag, delete), aliases (set/move,
delete, history, resolve at a time), approvals (request, approve, reject, with comments and
evidence links), the audit trail (list, JSONL export, verify), the registry policy (store-wide
and per model), lineage, model cards, reference profiles and each version's monitoring.

Every write acts as the authenticated Jupyter identity (:meth:`.base.MMHandler.audit_actor`,
shared with the MLflow routes, so both write the same audit trail); a client cannot name someone
else. Handlers stay thin: parsing here, rules and audit in ``core/registry``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import tornado.web
from jupyter_server.auth.decorator import authorized

from ...core.registry.approvals import POLICY_FLAGS
from ...core.registry.entities import PolicyChange
from ...core.registry.lineage import version_json
from ...errors import InvalidInput
from .base import MMHandler
from .common import (
    int_arg,
    int_field,
    json_object,
    optional_arg,
    required_field,
    string_field,
    string_map,
)

if TYPE_CHECKING:
    from ...core.registry import AuditEntry, Policy, RegisteredModel
    from ...core.store import Store

#: Largest page of a model search (the core's limit).
MAX_MODEL_PAGE = 1000
#: Largest number of audit entries one list request returns.
MAX_AUDIT_PAGE = 10_000
#: Times are milliseconds; beyond this they cannot be a real date (and would overflow BIGINT).
MAX_TIME_MS = 2**53
CARD_FORMATS = ("markdown", "html", "json")
DECISIONS = ("request", "approve", "reject")


def model_json(m: RegisteredModel) -> dict[str, Any]:
    return {
        "name": m.name,
        "description": m.description,
        "owner": m.owner,
        "creation_time": m.creation_time,
        "last_update_time": m.last_update_time,
        "tags": dict(m.tags),
        "aliases": dict(m.aliases),
        "last_version": m.last_version,
    }


def entry_json(e: AuditEntry) -> dict[str, Any]:
    return e.to_json()


def _time_arg(value: str | None, what: str) -> int | str | None:
    """A query-string time: milliseconds, or an ISO-8601 date/time (UTC unless it says)."""
    if value is None or value == "":
        return None
    if value.strip().lstrip("-").isdigit():
        return int_field(value, what, 0, MAX_TIME_MS)
    from ...core.registry.audit import to_ms

    ms = to_ms(value)
    if not 0 <= ms <= MAX_TIME_MS:
        raise InvalidInput(f"'{what}' is out of range: {value!r}")
    return ms


def _comment(body: dict[str, Any]) -> str:
    from ...core.registry import rules

    return rules.comment(string_field(body, "comment"))


def _description(body: dict[str, Any]) -> str | None:
    """Checked here so a multi-part update fails before its first write."""
    from ...core.registry import rules

    value = string_field(body, "description")
    return None if value is None else rules.description(value)


def _evidence(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput("'evidence' must be a list of links (strings)")
    return value


def _new_name(body: dict[str, Any]) -> str | None:
    """``name`` in a model's update: the new name, checked before the first write."""
    from ...core.registry import rules

    value = string_field(body, "name")
    return None if value is None else rules.model_name(value, "new registered model name")


def _tags_change(body: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """``tags`` to set and ``delete_tags`` to remove, all checked before the first write."""
    from ...core import validation

    tags = string_map(body.get("tags"), "tags")
    for k, v in tags.items():
        validation.tag_value(validation.key(k, "tag name"), v)
    delete = body.get("delete_tags") or []
    if not isinstance(delete, list) or not all(isinstance(k, str) for k in delete):
        raise InvalidInput("'delete_tags' must be a list of tag names")
    return tags, delete


# --------------------------------------------------------------------------- store calls


def _search_models(
    store: Store, filter: str | None, order_by: list[str], max_results: int, token: str | None
) -> dict[str, Any]:
    models, next_token = store.search_registered_models(filter, order_by, max_results, token)
    return {"models": [model_json(m) for m in models], "next_page_token": next_token}


def _create_model(store: Store, actor: str, body: dict[str, Any]) -> dict[str, Any]:
    model = store.create_registered_model(
        string_field(body, "name", required=True) or "",
        actor=actor,
        description=string_field(body, "description"),
        tags=string_map(body.get("tags"), "tags"),
        comment=_comment(body),
    )
    return model_json(model)


def _update_model(store: Store, actor: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
    new_name = _new_name(body)
    description = _description(body)
    tags, delete = _tags_change(body)
    comment = _comment(body)
    store.get_registered_model(name)  # NotFound before any write
    if new_name is not None and new_name != name:
        # first: the one change that can still be refused (the name taken), so a refusal
        # leaves nothing written; the rest applies under the new name
        store.rename_registered_model(name, new_name, actor=actor, comment=comment)
        name = new_name
    if description is not None:
        store.update_registered_model(name, actor=actor, description=description, comment=comment)
    for k, v in tags.items():
        store.set_registered_model_tag(name, k, v, actor=actor, comment=comment)
    for k in delete:
        store.delete_registered_model_tag(name, k, actor=actor, comment=comment)
    return model_json(store.get_registered_model(name))


def _delete_model(store: Store, actor: str, name: str, comment: str) -> dict[str, Any]:
    store.delete_registered_model(name, actor=actor, comment=comment)
    return {"deleted": name}


def _source(store: Store, body: dict[str, Any]) -> tuple[str, str | None, str | None, str | None]:
    """(source URI, run id, model path, logged model id): ``source``, or ``run_id`` + ``path``
    of a run's model. A ``runs:/`` source must hold a model (its ``MLmodel``), as
    ``mm.register_model`` checks; a ``models:/m-…`` source (an MLflow 3 logged model) leads
    back to its run as the MLflow route's does, so the run lists the version."""
    source = string_field(body, "source")
    run_id = string_field(body, "run_id")
    path = string_field(body, "path")
    if source is None:
        if run_id is None or not path:
            raise InvalidInput(
                "give 'source' (runs:/RUN_ID/PATH or a model URI) or 'run_id' + 'path'"
            )
        source = f"runs:/{run_id}/{path.strip('/')}"
    elif run_id is not None or path is not None:
        raise InvalidInput("give either 'source' or 'run_id' + 'path', not both")
    from ...core.registry.sources import parse

    parsed = parse(source)  # MLflow's source rules, before anything is looked up
    if parsed.logged_model_id is not None:
        from ..mlflow.registry import logged_model_lineage

        run_id, path = logged_model_lineage(store, parsed.logged_model_id, None)
        return source, run_id, path, parsed.logged_model_id
    if not source.startswith("runs:/"):
        return source, None, None, None
    from ...core.models.uris import in_run

    if parsed.run_id is None or not parsed.path:
        raise InvalidInput(f"{source!r}: a runs URI is runs:/RUN_ID/PATH")
    location = in_run(store, parsed.run_id, parsed.path)  # NotFound unless a model is there
    return source, location.run_id, location.path, None


def _create_version(
    store: Store, actor: str, name: str, body: dict[str, Any]
) -> tuple[dict[str, Any], str | None]:
    """The new version, and why it has no reference profile when its run's logged evaluation
    dataset could not be profiled."""
    description = string_field(body, "description")
    tags = string_map(body.get("tags"), "tags")
    comment = _comment(body)
    store.get_registered_model(name)  # NotFound first
    uri, run_id, path, logged_model_id = _source(store, body)
    v = store.create_model_version(
        name, uri, actor=actor, run_id=run_id, model_path=path, logged_model_id=logged_model_id,
        description=description, tags=tags, comment=comment,
    )  # fmt: skip
    if logged_model_id is not None:
        from ..mlflow.registry import record_registration

        record_registration(store, logged_model_id, v)
    # the run's logged evaluation dataset becomes the version's reference profile, as
    # mm.register_model does; the version exists either way (a failure is logged, not raised)
    from ...monitoring.references import default_reference

    stored, why = default_reference(store, name, v.version, actor=actor)
    return version_json(store.get_model_version(name, v.version) if stored else v), why


def _update_version(
    store: Store, actor: str, name: str, version: int, body: dict[str, Any]
) -> dict[str, Any]:
    description = _description(body)
    tags, delete = _tags_change(body)
    comment = _comment(body)
    store.get_model_version(name, version)  # NotFound before any write
    if description is not None:
        store.update_model_version(
            name, version, actor=actor, description=description, comment=comment
        )
    for k, v in tags.items():
        store.set_model_version_tag(name, version, k, v, actor=actor, comment=comment)
    for k in delete:
        store.delete_model_version_tag(name, version, k, actor=actor, comment=comment)
    return version_json(store.get_model_version(name, version))


def _delete_version(
    store: Store, actor: str, name: str, version: int, comment: str
) -> dict[str, Any]:
    store.delete_model_version(name, version, actor=actor, comment=comment)
    return {"deleted": str(version)}


def _set_alias(
    store: Store, actor: str, name: str, alias: str, version: int, comment: str
) -> dict[str, Any]:
    store.set_registered_model_alias(name, alias, version, actor=actor, comment=comment)
    return version_json(store.get_model_version(name, version))


def _delete_alias(store: Store, actor: str, name: str, alias: str, comment: str) -> dict[str, Any]:
    store.delete_registered_model_alias(name, alias, actor=actor, comment=comment)
    return {"deleted": alias}


def _resolve(store: Store, name: str, alias: str, at: int | str | None) -> dict[str, Any]:
    if at is None:
        store.get_registered_model(name)  # now: the model must exist (NotFound)
    # at a past time the model may since have been renamed or deleted: the trail answers
    version = store.resolve(name, alias, at)
    return {"name": name, "alias": alias, "at": at, "version": version}


def _decide(
    store: Store, actor: str, name: str, version: int, decision: str, body: dict[str, Any]
) -> dict[str, Any]:
    comment = _comment(body)
    if decision == "request":
        v = store.request_approval(
            name, version, actor=actor, comment=comment, evidence=_evidence(body.get("evidence"))
        )
    elif body.get("evidence") is not None:
        raise InvalidInput("'evidence' goes with the approval request, not with the decision")
    elif decision == "approve":
        v = store.approve(name, version, actor=actor, comment=comment)
    else:
        v = store.reject(name, version, actor=actor, comment=comment)
    return version_json(v)


def _audit(
    store: Store, name: str | None, since: Any, until: Any, limit: int | None
) -> dict[str, Any]:
    return {
        "entries": [
            entry_json(e) for e in store.audit_log(name, since=since, until=until, limit=limit)
        ]
    }


def _verify(store: Store, expected_head: str | None) -> dict[str, Any]:
    report = store.verify_audit(expected_head)
    return {
        "ok": report.ok,
        "entries": report.entries,
        "head_seq": report.head_seq,
        "head_hash": report.head_hash,
        "problems": [{"seq": p.seq, "kind": p.kind, "message": p.message} for p in report.problems],
    }


def policy_json(p: Policy, name: str | None) -> dict[str, Any]:
    return {
        "model": name,
        "four_eyes": p.four_eyes,
        "approved_aliases_only": p.approved_aliases_only,
        "approvers": list(p.approvers),
        "require_reproduced": p.require_reproduced,
    }


def _set_policy(store: Store, actor: str, name: str | None, body: dict[str, Any]) -> dict[str, Any]:
    flags = {key: body.get(key) for key in POLICY_FLAGS}
    for key, value in flags.items():
        if value is not None and not isinstance(value, bool):
            raise InvalidInput(f"'{key}' must be true, false or null, got {value!r}")
    approvers = body.get("approvers")
    if approvers is not None and not isinstance(approvers, list):
        raise InvalidInput(f"'approvers' must be a list of user names or null, got {approvers!r}")
    change = PolicyChange(approvers=approvers, **flags)
    policy = store.set_registry_policy(change, actor=actor, name=name, comment=_comment(body))
    return policy_json(policy, name)


def _card(store: Store, name: str, version: int, format: str) -> dict[str, Any]:
    from ...core.registry.model_card import card_fields, model_card

    card = model_card(store, name, version, format)
    fields = card_fields(store.get_model_version(name, version).tags)
    return {"name": name, "version": version, "format": format, "card": card, "fields": fields}


def _update_card(
    store: Store, actor: str, name: str, version: int, body: dict[str, Any]
) -> dict[str, Any]:
    from ...core.registry.model_card import USER_FIELDS, update_model_card

    fields = {k: body[k] for k in USER_FIELDS if k in body}
    for k, v in fields.items():
        if v is not None and not isinstance(v, str):
            raise InvalidInput(f"'{k}' must be text or null, got {type(v).__name__}")
    values = update_model_card(store, name, version, actor=actor, comment=_comment(body), **fields)
    return {"name": name, "version": version, "fields": values}


def _reference(store: Store, name: str, version: int) -> dict[str, Any] | None:
    return store.reference_profile(name, version)


def _set_reference(
    store: Store, actor: str, name: str, version: int, profile: Any, comment: str
) -> str:
    return store.set_reference_profile(name, version, profile, actor=actor, comment=comment)


def _version(value: Any) -> int:
    from ...core.registry import rules

    return rules.version(value)


# --------------------------------------------------------------------------- handlers


class RegistryHandler(MMHandler):
    auth_resource = "jupyter_mm:registry"


class ModelsHandler(RegistryHandler):
    """``GET`` searches models (``filter``, ``order_by``, ``max_results``, ``page_token``);
    ``POST {name, description, tags, comment}`` creates one owned by the caller."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        filter = optional_arg(self, "filter")
        order_by = self.get_query_arguments("order_by")
        max_results = int_arg(self, "max_results", 1, MAX_MODEL_PAGE)
        token = optional_arg(self, "page_token")
        self.send_json(
            await self.call_store(_search_models, filter, order_by, max_results or 100, token)
        )

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        body = json_object(self, ("name", "description", "tags", "comment"))
        self.send_json(await self.call_store(_create_model, self.actor, body), status=201)


class ModelHandler(RegistryHandler):
    """One model: ``GET``; ``PATCH {name, description, tags, delete_tags, comment}`` (``name``
    renames it; every part is checked before the first write); ``DELETE ?comment=`` (with its
    versions; the audit trail keeps the record)."""

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        model = await self.call_store(lambda store: store.get_registered_model(name))
        self.send_json(model_json(model))

    @tornado.web.authenticated
    @authorized
    async def patch(self, name: str) -> None:
        body = json_object(self, ("name", "description", "tags", "delete_tags", "comment"))
        self.send_json(await self.call_store(_update_model, self.actor, name, body))

    @tornado.web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        comment = self.get_query_argument("comment", "")
        self.send_json(await self.call_store(_delete_model, self.actor, name, comment))


class VersionsHandler(RegistryHandler):
    """``GET``: the model's versions, newest first; ``POST {source | run_id + path,
    description, tags, comment}`` registers the next version."""

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        versions = await self.call_store(lambda store: store.list_model_versions(name))
        self.send_json({"versions": [version_json(v) for v in versions]})

    @tornado.web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        body = json_object(self, ("source", "run_id", "path", "description", "tags", "comment"))
        created, why = await self.call_store(_create_version, self.actor, name, body)
        if why is not None:  # the version exists; the server's log says why it has no profile
            self.log.warning("%s", why)
        self.send_json(created, status=201)


class VersionHandler(RegistryHandler):
    """One version: ``GET``; ``PATCH {description, tags, delete_tags, comment}``; ``DELETE
    ?comment=`` (with its tags and approval; each alias on it is deleted, audited)."""

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str, version: str) -> None:
        number = _version(version)
        v = await self.call_store(lambda store: store.get_model_version(name, number))
        self.send_json(version_json(v))

    @tornado.web.authenticated
    @authorized
    async def patch(self, name: str, version: str) -> None:
        number = _version(version)
        body = json_object(self, ("description", "tags", "delete_tags", "comment"))
        self.send_json(await self.call_store(_update_version, self.actor, name, number, body))

    @tornado.web.authenticated
    @authorized
    async def delete(self, name: str, version: str) -> None:
        number = _version(version)
        comment = self.get_query_argument("comment", "")
        self.send_json(await self.call_store(_delete_version, self.actor, name, number, comment))


class LifecycleHandler(RegistryHandler):
    """``PUT .../lifecycle {lifecycle, reason}``: deprecate, archive or reactivate a version
    (a reason is required to deprecate or archive; archiving what serves is refused)."""

    @tornado.web.authenticated
    @authorized
    async def put(self, name: str, version: str) -> None:
        number = _version(version)
        body = json_object(self, ("lifecycle", "reason"))
        state = required_field(body, "lifecycle", "active, deprecated or archived")
        reason = body.get("reason", "")
        v = await self.call_store(
            lambda store: store.set_model_version_lifecycle(
                name, number, state, actor=self.actor, reason=reason
            )
        )
        self.send_json(version_json(v))


class ApprovalHandler(RegistryHandler):
    """``POST .../approval/request {comment, evidence}``, ``.../approve {comment}``,
    ``.../reject {comment}`` (a decision needs a comment; four eyes: not by the requester)."""

    @tornado.web.authenticated
    @authorized
    async def post(self, name: str, version: str, decision: str) -> None:
        if decision not in DECISIONS:
            raise tornado.web.HTTPError(404, f"no approval action {decision!r}")
        number = _version(version)
        body = json_object(self, ("comment", "evidence"), required=False)
        self.send_json(await self.call_store(_decide, self.actor, name, number, decision, body))


class AliasHandler(RegistryHandler):
    """``GET ?at=``: the version the alias points to (now, or at a past time, from the audit
    trail); ``PUT {version, comment}`` sets or moves it; ``DELETE ?comment=`` removes it."""

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str, alias: str) -> None:
        at = _time_arg(self.get_query_argument("at", None), "at")
        self.send_json(await self.call_store(_resolve, name, alias, at))

    @tornado.web.authenticated
    @authorized
    async def put(self, name: str, alias: str) -> None:
        body = json_object(self, ("version", "comment"))
        if body.get("version") is None:
            raise InvalidInput("'version' is required")
        number = _version(body["version"])
        comment = _comment(body)
        self.send_json(await self.call_store(_set_alias, self.actor, name, alias, number, comment))

    @tornado.web.authenticated
    @authorized
    async def delete(self, name: str, alias: str) -> None:
        comment = self.get_query_argument("comment", "")
        self.send_json(await self.call_store(_delete_alias, self.actor, name, alias, comment))


class AliasHistoryHandler(RegistryHandler):
    """``GET``: every set, move and deletion of the alias, oldest first."""

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str, alias: str) -> None:
        entries = await self.call_store(lambda store: store.alias_history(name, alias))
        self.send_json({"entries": [entry_json(e) for e in entries]})


class AuditHandler(RegistryHandler):
    """``GET ?model=&since=&until=&limit=``: audit entries in order, with their hashes."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        name = optional_arg(self, "model")
        since = _time_arg(self.get_query_argument("since", None), "since")
        until = _time_arg(self.get_query_argument("until", None), "until")
        limit = int_arg(self, "limit", 1, MAX_AUDIT_PAGE)
        self.send_json(await self.call_store(_audit, name, since, until, limit))


class AuditExportHandler(RegistryHandler):
    """``GET``: the whole trail as JSON lines (``application/x-ndjson``), oldest first."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        lines = await self.call_store(lambda store: list(store.iter_audit_jsonl()))
        self.set_header("Content-Disposition", 'attachment; filename="registry-audit.jsonl"')
        self.finish("".join(lines), set_content_type="application/x-ndjson")


class AuditVerifyHandler(RegistryHandler):
    """``GET ?expected_head=``: recompute the hash chain; ``ok`` false names every problem."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        expected = optional_arg(self, "expected_head")
        self.send_json(await self.call_store(_verify, expected))


class LineageHandler(RegistryHandler):
    """``GET``: version → run → notebook snapshot, execution log → datasets → environment →
    git, with artifact digests; absent pieces in ``missing``."""

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str, version: str) -> None:
        from ...core.registry.lineage import lineage

        number = _version(version)
        self.send_json(await self.call_store(lineage, name, number))


class ReproducibilityHandler(RegistryHandler):
    """``GET``: the version's latest reproducibility check, ``{summary, details}`` (both null
    when it was never checked): the audited ``mm.reproducibility`` summary and the details blob
    it names (every metric compared, the predictions, the environment differences), verified
    against its digest as it is read."""

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str, version: str) -> None:
        from ...core.registry.reproducibility import reproducibility

        number = _version(version)
        found = await self.call_store(reproducibility, name, number)
        self.send_json(found or {"summary": None, "details": None})


class ModelCardHandler(RegistryHandler):
    """``GET ?format=markdown|html|json``: the card (HTML escaped; JSON in Model Card
    Toolkit's schema); ``PATCH {intended_use, users, limitations, tradeoffs,
    ethical_considerations, comment}`` writes the human fields (audited)."""

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str, version: str) -> None:
        number = _version(version)
        fmt = self.get_query_argument("format", "markdown") or "markdown"
        if fmt not in CARD_FORMATS:
            raise InvalidInput(f"format must be one of {', '.join(CARD_FORMATS)}, got {fmt!r}")
        self.send_json(await self.call_store(_card, name, number, fmt))

    @tornado.web.authenticated
    @authorized
    async def patch(self, name: str, version: str) -> None:
        from ...core.registry.model_card import USER_FIELDS

        number = _version(version)
        body = json_object(self, (*USER_FIELDS, "comment"))
        self.send_json(await self.call_store(_update_card, self.actor, name, number, body))


class ReferenceProfileHandler(RegistryHandler):
    """``GET``: the version's reference profile ``{name, version, digest, profile}`` (both null
    when it has none); ``PUT {profile, comment}`` stores one (content-addressed, audited as a
    change of the version tag ``mm.reference``)."""

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str, version: str) -> None:
        number = _version(version)
        found = await self.call_store(_reference, name, number)
        self.send_json(
            {"name": name, "version": number, **(found or {"digest": None, "profile": None})}
        )

    @tornado.web.authenticated
    @authorized
    async def put(self, name: str, version: str) -> None:
        number = _version(version)
        body = json_object(self, ("profile", "comment"))
        profile = required_field(body, "profile")
        digest = await self.call_store(
            _set_reference, self.actor, name, number, profile, _comment(body)
        )
        self.send_json({"name": name, "version": number, "digest": digest})


class MonitoringHandler(RegistryHandler):
    """``GET ?history=``: the model's monitors and, per version (newest first), its monitoring
    status (``no-data`` ... ``performance-down``), the monitors watching it, its latest
    evaluation record and its last ``history`` evaluations, oldest first
    (:func:`...monitoring.overview.model_monitoring`)."""

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        from ...monitoring.overview import DEFAULT_HISTORY, MAX_HISTORY, model_monitoring

        history = int_arg(self, "history", 1, MAX_HISTORY)
        self.send_json(await self.call_store(model_monitoring, name, history or DEFAULT_HISTORY))


class VersionMonitoringHandler(RegistryHandler):
    """``GET ?history=``: the version's latest monitor evaluation as a report (the verdicts and
    their bins, each feature's reference and current distributions, the score's) and each
    statistic over the evaluations kept (:func:`...monitoring.report.evaluation_report`);
    ``report`` null before its first evaluation."""

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str, version: str) -> None:
        from ...monitoring.overview import DEFAULT_HISTORY, MAX_HISTORY
        from ...monitoring.report import evaluation_report

        number = _version(version)
        history = int_arg(self, "history", 1, MAX_HISTORY)
        self.send_json(
            await self.call_store(evaluation_report, name, number, history or DEFAULT_HISTORY)
        )


class PolicyHandler(RegistryHandler):
    """``registry/policy`` (store-wide) and ``registry/models/{name}/policy`` (one model, with
    its overrides): ``GET`` the policy in force; ``PUT {four_eyes, approved_aliases_only,
    approvers, require_reproduced, comment}`` changes it (audited; a field left out or null keeps its value).

    Its own resource, so a deployment's authorizer can keep policy changes to administrators
    (the team server does: :class:`~..identity.MMOnlyAuthorizer`)."""

    auth_resource = "jupyter_mm:registry_policy"

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str | None = None) -> None:
        policy = await self.call_store(lambda store: store.registry_policy(name))
        self.send_json({**policy_json(policy, name), "acting_as": self.audit_actor()})

    @tornado.web.authenticated
    @authorized
    async def put(self, name: str | None = None) -> None:
        body = json_object(
            self,
            ("four_eyes", "approved_aliases_only", "approvers", "require_reproduced", "comment"),
        )
        policy = await self.call_store(_set_policy, self.actor, name, body)
        self.send_json({**policy, "acting_as": self.audit_actor()})
