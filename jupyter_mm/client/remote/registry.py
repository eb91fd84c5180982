"""The model registry through a tracking server: the registry half of ``RemoteStore``.

:class:`RemoteRegistryMixin` answers the registry calls ``mm.register_model``, ``mm.set_alias``,
``mm.approve``, ``mm.audit_log``, ``mm.load_model("models:/...")``... make on a store, over the
REST API under ``{base_url}jupyter-mm/api/registry/`` (``server/handlers/registry.py``), and
returns the same records as a local store (:mod:`jupyter_mm.core.registry.entities`).

Two rules differ from a local store, on purpose:

* **The server decides who acts.** Every registry write is recorded under the identity the server
  authenticated (the token's user on a team server), so the ``actor`` argument is accepted and
  ignored: a client cannot approve under someone else's name.
* **Registry writes are never spooled.** A governance action needs the server's answer (was it
  allowed? which version number?), so while the server is unreachable a registry write raises
  :class:`~jupyter_mm.errors.Unavailable` instead of being kept for later. Before a registry
  write, what this process spooled (runs, models) is sent first, so the server knows the runs
  it refers to. Writes that are not idempotent (registering a version, approval actions,
  renaming a model, deleting a model, a version or an alias) are sent once, without the
  transport's retries: a connection lost after the server acted must not register a second
  version.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from ...core.registry import rules, sources
from ...core.registry.approvals import POLICY_FLAGS, policy_changes
from ...core.registry.entities import (
    Approval,
    AuditEntry,
    AuditProblem,
    AuditReport,
    ModelVersion,
    Policy,
    PolicyChange,
    RegisteredModel,
)
from ...errors import (
    InvalidInput,
    NotFound,
    Unavailable,
)
from .http import Transport

if TYPE_CHECKING:
    from .spool import ReplayResult, Spool

#: Said when a registry write meets an unreachable server.
NOT_SPOOLED = (
    "registry changes are not spooled (a governance action needs the server's answer), so "
    "this one was not kept for later: try again when the server is back"
)


# --------------------------------------------------------------------------- JSON → records


def model_from_json(d: Mapping[str, Any]) -> RegisteredModel:
    return RegisteredModel(
        name=d["name"],
        description=d.get("description") or "",
        owner=d.get("owner") or "",
        creation_time=int(d["creation_time"]),
        last_update_time=int(d["last_update_time"]),
        tags=dict(d.get("tags") or {}),
        aliases={k: int(v) for k, v in (d.get("aliases") or {}).items()},
        last_version=int(d.get("last_version") or 0),
    )


def version_from_json(d: Mapping[str, Any]) -> ModelVersion:
    a = d.get("approval")
    approval = (
        None
        if a is None
        else Approval(
            status=a["status"],
            requested_by=a["requested_by"],
            requested_time=int(a["requested_time"]),
            request_comment=a.get("request_comment") or "",
            evidence=tuple(a.get("evidence") or ()),
            decided_by=a.get("decided_by"),
            decided_time=a.get("decided_time"),
            decision_comment=a.get("decision_comment"),
        )
    )
    return ModelVersion(
        name=d["name"],
        version=int(d["version"]),
        source=d["source"],
        run_id=d.get("run_id"),
        logged_model_id=d.get("logged_model_id"),
        model_path=d.get("model_path"),
        status=d["status"],
        status_message=d.get("status_message") or "",
        stage=d.get("stage") or "None",
        description=d.get("description") or "",
        user_id=d.get("user_id") or "",
        creation_time=int(d["creation_time"]),
        last_update_time=int(d["last_update_time"]),
        tags=dict(d.get("tags") or {}),
        aliases=tuple(d.get("aliases") or ()),
        approval=approval,
        deprecation=d.get("deprecation"),
    )


def entry_from_json(d: Mapping[str, Any]) -> AuditEntry:
    """An audit entry from its JSON form (``AuditEntry.to_json``), hashed fields exact."""
    return AuditEntry(
        seq=int(d["seq"]),
        time=int(d["time"]),
        actor=d["actor"],
        action=d["action"],
        model_id=d.get("model_id"),
        model_name=d.get("model"),
        version=d.get("version"),
        alias=d.get("alias"),
        from_value=d["from_json"],
        to_value=d["to_json"],
        comment=d.get("comment") or "",
        prev_hash=d["prev_hash"],
        hash=d["hash"],
    )


def report_from_json(d: Mapping[str, Any]) -> AuditReport:
    return AuditReport(
        ok=bool(d["ok"]),
        entries=int(d["entries"]),
        head_seq=int(d["head_seq"]),
        head_hash=d["head_hash"],
        problems=tuple(AuditProblem(p["seq"], p["kind"], p["message"]) for p in d["problems"]),
    )


def policy_from_json(d: Mapping[str, Any]) -> Policy:
    return Policy(
        four_eyes=bool(d["four_eyes"]),
        approved_aliases_only=bool(d["approved_aliases_only"]),
        approvers=tuple(d.get("approvers") or ()),  # absent from servers older than 0004
        require_reproduced=bool(d.get("require_reproduced", False)),  # and older than 0008
    )


def _seg(value: Any, what: str) -> str:
    """A name or alias as one URL path segment."""
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{what} must be a non-empty string, got {value!r}")
    return quote(value, safe="")


def _model_path(name: str) -> str:
    return f"registry/models/{_seg(name, 'registered model name')}"


def _version_path(name: str, version: int | str) -> str:
    return f"{_model_path(name)}/versions/{rules.version(version)}"


def _alias_path(name: str, alias: str) -> str:
    return f"{_model_path(name)}/aliases/{_seg(alias, 'alias')}"


def _ms(at: Any) -> int:
    from ...core.registry.audit import to_ms

    return to_ms(at)


# --------------------------------------------------------------------------- the mixin


class RegistryRequests:
    """The requests of :class:`RemoteRegistryMixin` that the store's other server-only mixins
    (webhooks, jobs, retraining) make too: reads need the server, writes are never spooled."""

    if TYPE_CHECKING:

        def _registry_read(self, method: str, path: str, **kw: Any) -> Any: ...

        def _registry_write(self, method: str, path: str, once: bool = False, **kw: Any) -> Any: ...


def item_path(collection: str, item_id: str) -> str:
    """``collection/<item_id>``, the id quoted as one URL path segment."""
    return f"{collection}/{quote(str(item_id), safe='')}"


class RemoteRegistryMixin:
    """Registry methods of :class:`~.store.RemoteStore` (see the module's docstring)."""

    if TYPE_CHECKING:
        url: str
        http: Transport
        spool: Spool
        _offline: bool

        def _contacted(self) -> None: ...

        def replay(self, wait: bool = False, retries: int = 1) -> ReplayResult: ...

    # ------------------------------------------------------------ requests

    def _registry_http(self) -> Transport:
        return self.http

    def _registry_read(self, method: str, path: str, **kw: Any) -> Any:
        """A registry read: needs the server (fails fast while this process is offline)."""
        if self._offline:
            kw.setdefault("retries", 0)
        try:
            reply = self._registry_http().request(method, path, **kw)
        except Unavailable as e:
            raise Unavailable(f"{e}; reading the model registry needs the server") from None
        self._contacted()
        return reply

    def _registry_write(self, method: str, path: str, once: bool = False, **kw: Any) -> Any:
        """A registry write: never spooled. What this process spooled is sent first (the
        write may name a run that is still in the spool). ``once``: no retries (the write is
        not idempotent)."""
        try:
            if self._offline or self.spool.pending():
                self.replay(wait=True, retries=0)
            if once:
                kw["retries"] = 0
            reply = self._registry_http().request(method, path, **kw)
        except Unavailable as e:
            raise Unavailable(f"{e}; {NOT_SPOOLED}") from None
        self._contacted()
        return reply.json()

    # ------------------------------------------------------------ registered models

    def create_registered_model(
        self,
        name: str,
        *,
        actor: str = "",
        description: str | None = None,
        tags: Mapping[str, Any] | None = None,
        comment: str = "",
    ) -> RegisteredModel:
        """Create ``name``, owned by the server's authenticated user (``actor`` is ignored)."""
        body: dict[str, Any] = {"name": rules.model_name(name), "comment": rules.comment(comment)}
        if description is not None:
            body["description"] = rules.description(description)
        if tags:
            body["tags"] = rules.tags(tags)
        return model_from_json(self._registry_write("POST", "registry/models", json_body=body))

    def get_registered_model(self, name: str) -> RegisteredModel:
        return model_from_json(self._registry_read("GET", _model_path(name)).json())

    def search_registered_models(
        self,
        filter: str | None = None,
        order_by: list[str] | tuple[str, ...] | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> tuple[list[RegisteredModel], str | None]:
        query: list[tuple[str, Any]] = [("max_results", max_results)]
        if filter:
            query.append(("filter", filter))
        query += [("order_by", o) for o in order_by or ()]
        if page_token:
            query.append(("page_token", page_token))
        reply = self._registry_read("GET", "registry/models?" + urlencode(query)).json()
        return [model_from_json(m) for m in reply["models"]], reply.get("next_page_token")

    def list_registered_models(self) -> list[RegisteredModel]:
        out: list[RegisteredModel] = []
        token = None
        while True:
            page, token = self.search_registered_models(max_results=1000, page_token=token)
            out += page
            if token is None:
                return out

    def update_registered_model(
        self, name: str, *, actor: str = "", description: str, comment: str = ""
    ) -> RegisteredModel:
        body = {"description": rules.description(description), "comment": rules.comment(comment)}
        return model_from_json(self._registry_write("PATCH", _model_path(name), json_body=body))

    def rename_registered_model(
        self, name: str, new_name: str, *, actor: str = "", comment: str = ""
    ) -> RegisteredModel:
        """Rename ``name`` to ``new_name`` (``AlreadyExists`` if it is taken). Sent once: a
        rename repeated after the server acted would find no model under the old name."""
        body = {
            "name": rules.model_name(new_name, "new registered model name"),
            "comment": rules.comment(comment),
        }
        reply = self._registry_write("PATCH", _model_path(name), once=True, json_body=body)
        return model_from_json(reply)

    def set_registered_model_tag(
        self, name: str, key: str, value: Any, *, actor: str = "", comment: str = ""
    ) -> None:
        body = {"tags": rules.tags({key: value}), "comment": rules.comment(comment)}
        self._registry_write("PATCH", _model_path(name), json_body=body)

    def delete_registered_model_tag(
        self, name: str, key: str, *, actor: str = "", comment: str = ""
    ) -> None:
        body = {"delete_tags": [key], "comment": rules.comment(comment)}
        self._registry_write("PATCH", _model_path(name), json_body=body)

    def delete_registered_model(self, name: str, *, actor: str = "", comment: str = "") -> None:
        params = {"comment": rules.comment(comment)}
        self._registry_write("DELETE", _model_path(name), once=True, params=params)

    # ------------------------------------------------------------ versions

    def create_model_version(
        self,
        name: str,
        source: str,
        *,
        actor: str = "",
        run_id: str | None = None,
        logged_model_id: str | None = None,
        model_path: str | None = None,
        description: str | None = None,
        tags: Mapping[str, Any] | None = None,
        comment: str = "",
    ) -> ModelVersion:
        """Register the next version of ``name`` from ``source``. The server finds the model a
        ``runs:/`` source names itself (``run_id``/``model_path`` are not sent); an MLflow
        logged model (``logged_model_id``) is registered by its ``models:/m-...`` URI."""
        if logged_model_id and not (isinstance(source, str) and source.startswith("runs:/")):
            source = f"models:/{logged_model_id}"
        source = sources.parse(source).uri  # the server's rules, before any request
        body: dict[str, Any] = {"source": source, "comment": rules.comment(comment)}
        if description is not None:
            body["description"] = rules.description(description)
        if tags:
            body["tags"] = rules.tags(tags)
        path = f"{_model_path(name)}/versions"
        return version_from_json(self._registry_write("POST", path, once=True, json_body=body))

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        return version_from_json(self._registry_read("GET", _version_path(name, version)).json())

    def list_model_versions(self, name: str) -> list[ModelVersion]:
        """The versions of ``name``, newest first."""
        reply = self._registry_read("GET", f"{_model_path(name)}/versions").json()
        return [version_from_json(v) for v in reply["versions"]]

    def update_model_version(
        self, name: str, version: int | str, *, actor: str = "", description: str, comment: str = ""
    ) -> ModelVersion:
        body = {"description": rules.description(description), "comment": rules.comment(comment)}
        path = _version_path(name, version)
        return version_from_json(self._registry_write("PATCH", path, json_body=body))

    def set_model_version_lifecycle(
        self, name: str, version: int | str, state: str, *, actor: str = "", reason: str = ""
    ) -> ModelVersion:
        body = {"lifecycle": state, "reason": rules.comment(reason)}
        path = _version_path(name, version) + "/lifecycle"
        return version_from_json(self._registry_write("PUT", path, json_body=body))

    def delete_model_version(
        self, name: str, version: int | str, *, actor: str = "", comment: str = ""
    ) -> None:
        """Delete a version; the server deletes the aliases on it too (each one audited)."""
        params = {"comment": rules.comment(comment)}
        self._registry_write("DELETE", _version_path(name, version), once=True, params=params)

    def set_model_version_tag(
        self,
        name: str,
        version: int | str,
        key: str,
        value: Any,
        *,
        actor: str = "",
        comment: str = "",
    ) -> None:
        body = {"tags": rules.tags({key: value}), "comment": rules.comment(comment)}
        self._registry_write("PATCH", _version_path(name, version), json_body=body)

    def delete_model_version_tag(
        self, name: str, version: int | str, key: str, *, actor: str = "", comment: str = ""
    ) -> None:
        body = {"delete_tags": [key], "comment": rules.comment(comment)}
        self._registry_write("PATCH", _version_path(name, version), json_body=body)

    # ------------------------------------------------------------ aliases

    def set_registered_model_alias(
        self, name: str, alias: str, version: int | str, *, actor: str = "", comment: str = ""
    ) -> None:
        body = {
            "version": rules.version(version),
            "comment": rules.comment(comment),
        }
        self._registry_write("PUT", _alias_path(name, rules.alias(alias)), json_body=body)

    def delete_registered_model_alias(
        self, name: str, alias: str, *, actor: str = "", comment: str = ""
    ) -> None:
        params = {"comment": rules.comment(comment)}
        self._registry_write("DELETE", _alias_path(name, alias), once=True, params=params)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version ``alias`` points at now; an unknown alias is ``InvalidInput`` (as a
        local store answers)."""
        number = self._registry_read("GET", _alias_path(name, alias)).json()["version"]
        if number is None:
            raise InvalidInput(f"Registered model alias {alias} not found.")
        return self.get_model_version(name, number)

    # ------------------------------------------------------------ approvals and policy

    def _decide(
        self, name: str, version: int | str, decision: str, body: dict[str, Any]
    ) -> ModelVersion:
        path = f"{_version_path(name, version)}/approval/{decision}"
        return version_from_json(self._registry_write("POST", path, once=True, json_body=body))

    def request_approval(
        self,
        name: str,
        version: int | str,
        *,
        actor: str = "",
        comment: str = "",
        evidence: Iterable[str] | None = None,
    ) -> ModelVersion:
        body = {"comment": rules.comment(comment), "evidence": rules.evidence(evidence)}
        return self._decide(name, version, "request", body)

    def approve(
        self, name: str, version: int | str, *, actor: str = "", comment: str
    ) -> ModelVersion:
        return self._decide(
            name, version, "approve", {"comment": rules.comment(comment, required=True)}
        )

    def reject(
        self, name: str, version: int | str, *, actor: str = "", comment: str
    ) -> ModelVersion:
        return self._decide(
            name, version, "reject", {"comment": rules.comment(comment, required=True)}
        )

    def registry_policy(self, name: str | None = None) -> Policy:
        path = "registry/policy" if name is None else f"{_model_path(name)}/policy"
        return policy_from_json(self._registry_read("GET", path).json())

    def set_registry_policy(
        self, change: PolicyChange, *, actor: str = "", name: str | None = None, comment: str = ""
    ) -> Policy:
        # every switch is sent, null where it keeps its value
        body: dict[str, Any] = {"comment": rules.comment(comment), **dict.fromkeys(POLICY_FLAGS)}
        body.update(policy_changes(change))
        if change.approvers is not None:
            body["approvers"] = list(body["approvers"])
        path = "registry/policy" if name is None else f"{_model_path(name)}/policy"
        return policy_from_json(self._registry_write("PUT", path, json_body=body))

    # ------------------------------------------------------------ the audit trail

    def audit_log(
        self,
        name: str | None = None,
        *,
        since: Any = None,
        until: Any = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        """Entries in order, all or of one registered model (under any of its past names)."""
        params = {
            "model": name,
            "since": None if since is None else _ms(since),
            "until": None if until is None else _ms(until),
            "limit": limit,
        }
        reply = self._registry_read("GET", "registry/audit", params=params).json()
        return [entry_from_json(e) for e in reply["entries"]]

    def alias_history(self, name: str, alias: str) -> list[AuditEntry]:
        reply = self._registry_read("GET", f"{_alias_path(name, alias)}/history").json()
        return [entry_from_json(e) for e in reply["entries"]]

    def resolve(self, name: str, alias: str, at: Any = None) -> int | None:
        """The version ``alias`` pointed to at ``at`` (now when ``None``), from the server's
        audit trail; ``None`` when it pointed nowhere (or, now, when there is no such model,
        as a local store answers)."""
        params = None if at is None else {"at": _ms(at)}
        try:
            reply = self._registry_read("GET", _alias_path(name, alias), params=params).json()
        except NotFound:
            if at is None:
                return None
            raise
        version = reply["version"]
        return None if version is None else int(version)

    def verify_audit(self, expected_head: str | None = None) -> AuditReport:
        """The server recomputes its audit trail's hash chain."""
        params = {"expected_head": expected_head} if expected_head else None
        return report_from_json(
            self._registry_read("GET", "registry/audit/verify", params=params).json()
        )

    def iter_audit_jsonl(self) -> Iterator[str]:
        """The server's trail as JSON lines, exactly as it exports them."""
        data = self._registry_read("GET", "registry/audit/export").data.decode("utf-8")
        yield from data.splitlines(keepends=True)

    def export_audit(self, out: str | IO[str]) -> int:
        """Write the trail as JSONL to a path or a text stream; returns the number of entries."""
        lines = list(self.iter_audit_jsonl())  # all fetched before the file is touched
        if isinstance(out, str):
            with open(out, "w", encoding="utf-8") as f:
                f.writelines(lines)
        else:
            out.writelines(lines)
        return len(lines)

    # ------------------------------------------------------------ lineage and model cards

    def lineage(self, name: str, version: int | str) -> dict[str, Any]:
        """The server's lineage of a version (what ``core.registry.lineage`` answers there)."""
        reply: dict[str, Any] = self._registry_read(
            "GET", f"{_version_path(name, version)}/lineage"
        ).json()
        return reply

    def model_card(self, name: str, version: int | str, format: str = "markdown") -> Any:
        """The card the server renders: Markdown or HTML text, or Model Card Toolkit JSON."""
        path = f"{_version_path(name, version)}/card"
        return self._registry_read("GET", path, params={"format": format}).json()["card"]

    def update_model_card(
        self, name: str, version: int | str, *, actor: str = "", comment: str = "", **fields: Any
    ) -> dict[str, str]:
        body = {**fields, "comment": rules.comment(comment)}
        path = f"{_version_path(name, version)}/card"
        reply: dict[str, str] = self._registry_write("PATCH", path, json_body=body)["fields"]
        return reply

    # ------------------------------------------------------------ reference profiles

    def set_reference_profile(
        self,
        name: str,
        version: int | str,
        profile: Mapping[str, Any],
        *,
        actor: str = "",
        comment: str = "",
    ) -> str:
        """Send the profile; the server stores it and tags the version (audited, as itself)."""
        from ...core.registry.reference import canonical

        canonical(profile)  # refused here, before the request, as a local store refuses it
        body = {"profile": dict(profile), "comment": rules.comment(comment)}
        path = f"{_version_path(name, version)}/reference"
        return str(self._registry_write("PUT", path, json_body=body)["digest"])

    def reference_profile(self, name: str, version: int | str) -> dict[str, Any] | None:
        reply = self._registry_read("GET", f"{_version_path(name, version)}/reference").json()
        if reply.get("digest") is None:
            return None
        return {"digest": reply["digest"], "profile": reply["profile"]}
