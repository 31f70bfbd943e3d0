"""The Python SDK over HTTP: ``Client`` (blocking) and ``AsyncClient`` (asyncio).

Both speak the routes of the public contract, return the server's JSON as plain dicts and
raise :mod:`ipsim.clients.errors` classes for every failure::

    with Client("http://127.0.0.1:8080") as client:
        client.create_collection("patents", "text")
        client.upsert("patents", [{"id": "EP1", "content": {"text": "..."}}])
        answer = client.search("patents", {"text": "a folding bicycle"}, k=5)

The two classes share every request description and answer check below; they differ
only in how a request is sent. ``transport`` is httpx's seam: pass an
``httpx.MockTransport`` in tests, or a transport with retries or proxies in production.
"""

from __future__ import annotations

import email.utils
import json
import math
import os
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import Any, Generic, Self, TypeVar
from urllib.parse import quote, urlencode

import httpx

from ipsim import __version__
from ipsim.clients.batching import batched
from ipsim.clients.errors import (
    IpsimError,
    ServerError,
    TransportError,
    code_for_status,
    error_from_code,
)

DEFAULT_URL = "http://127.0.0.1:8080"
API_KEY_ENV = "IPSIM_API_KEY"
CA_FILE_ENV = "IPSIM_CA_FILE"
SVG_TYPE = "image/svg+xml"
HTML_TYPE = "text/html"
PREVIEW_TYPES = {"png": "image/png", "glb": "model/gltf-binary"}
"""Mesh preview forms → the media type the server answers with."""

APPLICATIONS_PATH = "/v1/applications"
T = TypeVar("T")
JSONObject = dict[str, Any]


class Client:
    """A blocking client for one ipsim server; close it, or use it as a context manager.

    ``api_key`` is sent as ``Authorization: Bearer KEY``; when omitted it is read from the
    ``IPSIM_API_KEY`` environment variable. ``timeout`` is in seconds, per request. An
    ``https`` server is checked against ``ca_file`` (PEM; default ``IPSIM_CA_FILE``) when
    given, else against the system's trusted authorities.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        ca_file: str | os.PathLike[str] | None = None,
    ) -> None:
        self.url = _check_url(url)
        self._http = httpx.Client(
            base_url=self.url,
            headers=_headers(api_key),
            timeout=timeout,
            transport=transport,
            verify=_verify(ca_file),
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool; the client cannot be used afterwards."""
        self._http.close()

    def create_collection(
        self,
        name: str,
        modality: str,
        *,
        index: str | JSONObject | None = None,
        shards: int | None = None,
        model: str | None = None,
    ) -> JSONObject:
        """Create a collection and return its info; ``index`` is a type name or a full spec."""
        return self._send(_create_collection_call(name, modality, index, shards, model))

    def list_collections(self) -> list[JSONObject]:
        """Every collection's info."""
        return self._send(_list_collections_call())

    def get_collection(self, name: str) -> JSONObject:
        """One collection's info (``name, modality, count, dim, index, shards, model``)."""
        return self._send(_get_collection_call(name))

    def delete_collection(self, name: str) -> None:
        """Delete a collection and everything in it."""
        self._send(_delete_collection_call(name))

    def upsert(
        self, collection: str, documents: Iterable[JSONObject], *, batch_size: int = 256
    ) -> int:
        """Add or replace documents, ``batch_size`` per request; return how many were upserted.

        Documents are ``{"id": str, "content": {...}, "fields": {...}}``. Each request is
        all-or-nothing on the server; when one fails, the batches before it stay written.
        """
        return sum(
            self._send(_upsert_call(collection, batch)) for batch in batched(documents, batch_size)
        )

    def get(self, collection: str, doc_id: str) -> JSONObject:
        """One stored document."""
        return self._send(_get_document_call(collection, doc_id))

    def depict(self, collection: str, doc_id: str) -> str:
        """A stored document drawn by the server, as SVG text (chemical structures)."""
        return self._send(_depict_call(collection, doc_id))

    def preview(self, collection: str, doc_id: str, form: str = "png") -> bytes:
        """A stored design's preview: ``png`` thumbnail or ``glb`` simplified model (meshes)."""
        return self._send(_preview_call(collection, doc_id, form))

    def delete(self, collection: str, doc_id: str) -> None:
        """Delete one document."""
        self._send(_delete_document_call(collection, doc_id))

    def search(
        self,
        collection: str,
        query: JSONObject,
        *,
        k: int = 10,
        offset: int = 0,
        filter: JSONObject | None = None,
        mode: str | None = None,
        group_by: str | None = None,
        group_size: int | None = None,
        facets: list[str | JSONObject] | None = None,
    ) -> JSONObject:
        """Search one collection; return the server's answer (``hits``, ``total``, ``took_ms``;
        ``groups`` with ``group_by``: at most ``group_size`` hits per value of that field;
        ``facets`` with ``facets``: counts per value or child code, e.g. ``["ipc"]`` or
        ``[{"field": "ipc", "prefix": "A61K"}]``; ``missing_shards``: the index shards that
        did not answer in cluster mode, else None)."""
        options: JSONObject = {"k": k, "offset": offset, "filter": filter, "mode": mode}
        options |= {"group_by": group_by, "group_size": group_size, "facets": facets}
        return self._send(_search_call(collection, query, options))

    def search_many(
        self,
        collections: Iterable[str],
        query: JSONObject,
        *,
        k: int = 10,
        offset: int = 0,
        filter: JSONObject | None = None,
        mode: str | None = None,
        fusion: str | None = None,
        weights: dict[str, float] | None = None,
        timeout_ms: float | None = None,
        group_by: str | None = None,
        group_size: int | None = None,
        facets: list[str | JSONObject] | None = None,
    ) -> JSONObject:
        """One window over several collections (``eapo:patents`` names one of a remote
        source): fused ``hits`` each with its ``collection``, ``partial`` and a report per
        source (``status`` ``ok``, ``partial`` with ``missing_shards``, ``timeout`` or
        ``failed``). ``fusion`` is ``rrf`` (default), ``score`` or ``raw``."""
        options: JSONObject = {"k": k, "offset": offset, "filter": filter, "mode": mode}
        options["fusion"] = fusion
        options |= {"weights": weights, "timeout_ms": timeout_ms}
        options |= {"group_by": group_by, "group_size": group_size, "facets": facets}
        return self._send(_search_many_call(collections, query, options))

    def neighbors(
        self,
        collection: str,
        doc_id: str,
        *,
        depth: int = 1,
        k: int = 10,
        collections: Iterable[str] | None = None,
        min_score: float | None = None,
    ) -> JSONObject:
        """The nearest documents of a document as a graph: ``root``, ``nodes``, ``edges``
        (``source``, ``target``, ``score``, ``rank``); ``collections`` are searched instead
        of ``collection`` (same modality)."""
        return self._send(_neighbors_call(collection, doc_id, depth, k, collections, min_score))

    def facets(
        self,
        collection: str,
        field: str,
        *,
        prefix: str | None = None,
        limit: int = 20,
        filter: JSONObject | None = None,
    ) -> JSONObject:
        """Documents per child code of ``prefix`` (per value for a flat field): ``values``
        (``value``, ``count``, ``level``), ``other``, ``missing``, ``documents``."""
        return self._send(_facets_call(collection, field, prefix, limit, filter))

    def create_watch(
        self,
        collection: str,
        query: JSONObject,
        *,
        threshold: float,
        mode: str | None = None,
        filter: JSONObject | None = None,
        callback_url: str | None = None,
    ) -> JSONObject:
        """Watch a collection for new documents scoring at least ``threshold`` on ``query``;
        return the watch (with its ``id``). Matches are POSTed to ``callback_url`` if given."""
        return self._send(
            _create_watch_call(collection, query, threshold, mode, filter, callback_url)
        )

    def get_watch(self, watch_id: str) -> JSONObject:
        """One watch."""
        return self._send(_get_watch_call(watch_id))

    def delete_watch(self, watch_id: str) -> None:
        """Delete a watch and its notifications."""
        self._send(_delete_watch_call(watch_id))

    def watch_notifications(
        self, watch_id: str, *, offset: int = 0, limit: int = 100
    ) -> JSONObject:
        """A page of a watch's notifications, oldest first: ``{"notifications", "total"}``."""
        return self._send(_watch_notifications_call(watch_id, offset, limit))

    def create_result_set(
        self,
        search: JSONObject,
        hits: Iterable[JSONObject] = (),
        *,
        name: str | None = None,
        tags: Iterable[str] = (),
        comment: str | None = None,
    ) -> JSONObject:
        """Save a search (the request as sent: ``collection`` or ``collections``, ``query``…)
        and its hits, owned by this key; the answer's ``id`` is the link to forward."""
        return self._send(_create_result_set_call(search, hits, name, tags, comment))

    def get_result_set(self, set_id: str) -> JSONObject:
        """One result set with its hits, tags and comments."""
        return self._send(_get_result_set_call(set_id))

    def update_result_set(
        self,
        set_id: str,
        *,
        name: str | None = None,
        tags: Iterable[str] = (),
        remove_tags: Iterable[str] = (),
        comment: str | None = None,
        hits: Iterable[JSONObject] = (),
        remove_hits: Iterable[str] = (),
        hit_tags: dict[str, list[str]] | None = None,
        remove_hit_tags: dict[str, list[str]] | None = None,
        hit_comments: dict[str, str] | None = None,
    ) -> JSONObject:
        """Annotate a result set in one transaction and return it; hits are keyed
        ``"<collection>/<id>"``; removals apply before additions."""
        changes = _result_set_changes(
            name,
            tags,
            remove_tags,
            comment,
            hits,
            remove_hits,
            hit_tags,
            remove_hit_tags,
            hit_comments,
        )
        return self._send(_update_result_set_call(set_id, changes))

    def list_result_sets(
        self, *, tag: str | None = None, owner: str | None = None, offset: int = 0, limit: int = 100
    ) -> JSONObject:
        """A page of result-set summaries, newest first: ``{"result_sets", "total"}``. ``owner``
        is ``me`` (the server's default), an identity or ``*`` (others' need an admin key)."""
        return self._send(_list_result_sets_call(tag, owner, offset, limit))

    def delete_result_set(self, set_id: str) -> None:
        """Delete a result set (its owner or an admin key only)."""
        self._send(_delete_result_set_call(set_id))

    def register_party(self, name: str, public_key: str) -> JSONObject:
        """Register a ledger party with its Ed25519 public key (32 raw bytes, base64):
        ``{"id", "index", …}``."""
        return self._send(_register_party_call(name, public_key))

    def register_transaction(
        self, transaction: JSONObject, signatures: dict[str, str]
    ) -> JSONObject:
        """Register a rights transaction signed by every party it names (Ed25519 over its RFC
        8785 canonical JSON, base64, keyed by party id): ``{"index", "registration_number", …}``."""
        return self._send(_register_transaction_call(transaction, signatures))

    def ledger_right(self, collection: str, doc_id: str) -> JSONObject:
        """The current holder, licences and pledges of the right over an IP object."""
        return self._send(_ledger_call(_ledger_right_path(collection, doc_id)))

    def ledger_entry(self, index: int) -> JSONObject:
        """``{"index", "entry"}``: the exact leaf bytes, base64."""
        return self._send(_ledger_call(f"/entries/{int(index)}"))

    def ledger_tree_head(self) -> JSONObject:
        """The newest signed tree head: ``{"tree_size", "root_hash", "timestamp", "signature"}``."""
        return self._send(_ledger_call("/tree-head"))

    def ledger_office_key(self) -> JSONObject:
        """The office's Ed25519 public key: ``{"public_key", "algorithm"}``."""
        return self._send(_ledger_call("/office-key"))

    def ledger_inclusion_proof(self, index: int, tree_size: int) -> JSONObject:
        """``{"audit_path": [...]}`` (RFC 6962 PATH, base64 hashes)."""
        return self._send(_ledger_call("/proof/inclusion", index=index, tree_size=tree_size))

    def ledger_consistency_proof(self, first: int, second: int) -> JSONObject:
        """``{"consistency_path": [...]}`` (RFC 6962 PROOF, base64 hashes)."""
        return self._send(_ledger_call("/proof/consistency", first=first, second=second))

    def ledger_outbox(self, after: int = 0, limit: int = 100) -> JSONObject:
        """Ledger events after ``after``, oldest first: ``{"events", "next"}``."""
        return self._send(_ledger_call("/outbox", after=after, limit=limit))

    def file_application(
        self,
        kind: str,
        title: str,
        applicant: JSONObject,
        content: JSONObject,
        fields: JSONObject | None = None,
        idempotency_key: str | None = None,
        *,
        representative: JSONObject | None = None,
    ) -> JSONObject:
        """File an application (``kind``: invention, utility_model, industrial_design or
        trademark) → it with ``id``, ``status`` and ``fees``. With ``idempotency_key``, a retry
        answers the first application instead of filing a second one."""
        call = _file_application_call(
            kind, title, applicant, content, fields, representative, idempotency_key
        )
        return self._send(call)

    def get_application(self, application_id: str) -> JSONObject:
        """An application with its status, ``history``, ``fees`` and ``deadlines``."""
        return self._send(_get_application_call(application_id))

    def list_applications(
        self,
        *,
        status: str | None = None,
        applicant: str | None = None,
        kind: str | None = None,
        since: date | datetime | str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> JSONObject:
        """A page of applications, newest first: ``{"applications", "total"}`` (``since``: last
        status change at or after; ``applicant``: a substring of the name, any case)."""
        return self._send(_list_applications_call(status, applicant, kind, since, offset, limit))

    def transition_application(
        self, application_id: str, to: str, reason: str | None = None
    ) -> JSONObject:
        """Move an application to status ``to`` (the office; an owner may only withdraw)."""
        return self._send(_transition_application_call(application_id, to, reason))

    def application_changes(self, after: int = 0, limit: int = 100) -> JSONObject:
        """Events after seq ``after``, in order: ``{"changes", "next"}``; poll with ``next``."""
        return self._send(_application_changes_call(after, limit))

    def post_message(
        self,
        application_id: str,
        kind: str,
        subject: str,
        body: str,
        *,
        attachments: Iterable[str] = (),
        deadline: date | str | None = None,
        in_reply_to: int | None = None,
    ) -> JSONObject:
        """Add a message to an application's thread: ``office_request`` (with a ``deadline``) or
        ``office_notice`` by the office, ``applicant_response`` (``in_reply_to`` a request:
        closes its deadline) or ``applicant_note`` by the owner → the message."""
        call = _post_message_call(
            application_id, kind, subject, body, attachments, deadline, in_reply_to
        )
        return self._send(call)

    def list_messages(self, application_id: str, after: int = 0, limit: int = 100) -> JSONObject:
        """A page of the thread, oldest first: ``{"messages", "next_after"}``."""
        return self._send(_list_messages_call(application_id, after, limit))

    def list_notifications(self, application_id: str) -> JSONObject:
        """The callbacks queued for an application and their delivery: ``{"notifications"}``."""
        return self._send(_list_notifications_call(application_id))

    def upload_attachment(self, data: bytes, media_type: str) -> JSONObject:
        """Upload a design view or mark image → ``{"sha256", "size", "media_type"}``."""
        return self._send(_upload_attachment_call(data, media_type))

    def get_attachment(self, sha256: str) -> bytes:
        """The bytes of an uploaded attachment."""
        return self._send(_get_attachment_call(sha256))

    def assess_application(self, application_id: str) -> JSONObject:
        """Queue a preliminary novelty assessment (or get the one queued or running): the job
        ``{"id", "status", …}``; poll :meth:`get_assessment` for its report."""
        return self._send(_assess_application_call(application_id))

    def get_assessment(self, application_id: str) -> JSONObject:
        """The application's newest assessment; ``report`` is set once ``status`` is ``done``."""
        return self._send(_get_assessment_call(application_id))

    def get_assessment_html(self, application_id: str) -> str:
        """The newest assessment as a printable HTML page."""
        return self._send(_get_assessment_html_call(application_id))

    def fees(
        self,
        kind: str,
        events: Iterable[str] = ("filing",),
        *,
        claims: int | None = None,
        classes: int | None = None,
        designs: int | None = None,
        year: int | None = None,
        applicant_type: str | None = None,
        on: date | str | None = None,
    ) -> JSONObject:
        """An itemised fee quote (``total``, ``lines``; amounts are decimal strings) for
        ``events`` (``filing``, ``search``, ``examination``, ``grant``, ``annuity`` with
        ``year``, ``renewal``) from the schedule in force ``on`` (default: today)."""
        return self._send(
            _fees_call(kind, events, claims, classes, designs, year, applicant_type, on)
        )

    def attorneys(
        self,
        q: str | None = None,
        *,
        region: str | None = None,
        specialization: str | None = None,
        language: str | None = None,
        status: str | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> JSONObject:
        """A page of the patent-attorney register: ``{"attorneys", "total", "demo", "notice"}``;
        ``status`` defaults to ``active`` on the server (``any`` for all)."""
        call = _attorneys_call(q, region, specialization, language, status, offset, limit)
        return self._send(call)

    def get_attorney(self, registration_number: str) -> JSONObject:
        """One attorney of the register."""
        return self._send(_get_attorney_call(registration_number))

    def import_bi_records(self, data: bytes, format: str = "csv") -> JSONObject:
        """Import bibliographic records for BI from a ``csv`` or ``jsonl`` file's bytes,
        upserted by id → ``{"imported": n}`` (admin key)."""
        return self._send(_import_bi_records_call(data, format))

    def import_st96(self, collection: str, xml: bytes) -> JSONObject:
        """Import a WIPO ST.96 (or GBD national) XML document's records into ``collection``
        → ``{"imported": [ids]}`` (all or nothing)."""
        return self._send(_import_st96_call(collection, xml))

    def export_st96(self, collection: str, doc_id: str) -> bytes:
        """One document of ``collection`` as an ST.96 XML document."""
        return self._send(_export_st96_call(collection, doc_id))

    def import_package(self, package: bytes, collection: str | None = None) -> JSONObject:
        """Verify and import a signed exchange package (``ipsim gateway pack``) →
        ``{"package", "sender", "collection", "imported": [ids]}``."""
        return self._send(_import_package_call(package, collection))

    def register_partner(self, office: str, public_key: str, name: str | None = None) -> JSONObject:
        """Register a partner office's Ed25519 public key (raw, base64; admin key)."""
        return self._send(_register_partner_call(office, public_key, name))

    def list_partners(self) -> JSONObject:
        """``{"partners": [...]}``: the registered partner offices."""
        return self._send(_Call("GET", "/v1/gateway/partners", None, _read_object))

    def bi_technology_fields(
        self,
        countries: Iterable[str] = (),
        year_from: int | None = None,
        year_to: int | None = None,
        kind: str | None = None,
    ) -> JSONObject:
        """Counts and shares of the 35 WIPO fields per country (fractional counting)."""
        params = _bi_params(countries, (), kind, year_from, year_to)
        return self._send(_bi_call("technology-fields", params))

    def bi_trends(
        self,
        by: str = "field",
        period: str = "year",
        *,
        fields: Iterable[int] = (),
        countries: Iterable[str] = (),
        kind: str | None = None,
        year_from: int | None = None,
        year_to: int | None = None,
    ) -> JSONObject:
        """Series per field or country with growth rates and a fitted trend."""
        params = _bi_params(countries, fields, kind, year_from, year_to)
        return self._send(_bi_call("trends", {"by": by, "period": period, **params}))

    def bi_anomalies(
        self,
        by: str = "field",
        period: str = "quarter",
        *,
        fields: Iterable[int] = (),
        countries: Iterable[str] = (),
        kind: str | None = None,
        year_from: int | None = None,
        year_to: int | None = None,
        threshold: float | None = None,
    ) -> JSONObject:
        """Points that break their series' trend or season, with robust z-scores."""
        params = _bi_params(countries, fields, kind, year_from, year_to)
        params.update(by=by, period=period)
        if threshold is not None:
            params["threshold"] = str(threshold)
        return self._send(_bi_call("anomalies", params))

    def bi_indicators(self) -> JSONObject:
        """The live counters of the office's activity."""
        return self._send(_bi_call("indicators", {}))

    def bi_query(self, report: JSONObject) -> JSONObject | str:
        """A flexible report (dimensions, measures, filters…): ``{"columns", "rows"}``, or
        the CSV text when ``report["format"] == "csv"``."""
        return self._send(_bi_query_call(report))

    def reindex(
        self,
        collection: str,
        *,
        model: str | None = None,
        index: str | JSONObject | None = None,
        ray: str | bool | None = None,
    ) -> JSONObject:
        """Start re-indexing a collection into a new version (new ``model`` and/or ``index``,
        the rest kept); the job, at once: follow it with :meth:`get_job` (admin key).
        ``ray``: encode on that Ray cluster (``True``: the server's own)."""
        return self._send(_reindex_call(collection, model, index, ray))

    def rollback(self, collection: str) -> JSONObject:
        """Start returning a collection to its previous version; the job (admin key)."""
        return self._send(_rollback_call(collection))

    def get_job(self, job_id: str) -> JSONObject:
        """A re-index or rollback job: ``state``, ``done`` of ``total``, ``error``…"""
        return self._send(_get_job_call(job_id))

    def list_jobs(self) -> list[JSONObject]:
        """Every job, newest first."""
        return self._send(_list_jobs_call())

    def _send(self, call: _Call[T]) -> T:
        try:
            response = self._http.request(
                call.method, call.path, json=call.body, headers=call.headers, content=call.content
            )
        except httpx.RequestError as exc:
            raise _transport_error(exc) from exc
        return call.finish(response)


class AsyncClient:
    """The asyncio twin of :class:`Client`: the same methods, awaited."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        ca_file: str | os.PathLike[str] | None = None,
    ) -> None:
        self.url = _check_url(url)
        self._http = httpx.AsyncClient(
            base_url=self.url,
            headers=_headers(api_key),
            timeout=timeout,
            transport=transport,
            verify=_verify(ca_file),
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection pool; the client cannot be used afterwards."""
        await self._http.aclose()

    async def create_collection(
        self,
        name: str,
        modality: str,
        *,
        index: str | JSONObject | None = None,
        shards: int | None = None,
        model: str | None = None,
    ) -> JSONObject:
        """Create a collection and return its info; ``index`` is a type name or a full spec."""
        return await self._send(_create_collection_call(name, modality, index, shards, model))

    async def list_collections(self) -> list[JSONObject]:
        """Every collection's info."""
        return await self._send(_list_collections_call())

    async def get_collection(self, name: str) -> JSONObject:
        """One collection's info (``name, modality, count, dim, index, shards, model``)."""
        return await self._send(_get_collection_call(name))

    async def delete_collection(self, name: str) -> None:
        """Delete a collection and everything in it."""
        await self._send(_delete_collection_call(name))

    async def upsert(
        self, collection: str, documents: Iterable[JSONObject], *, batch_size: int = 256
    ) -> int:
        """Add or replace documents, ``batch_size`` per request; return how many were upserted."""
        total = 0
        for batch in batched(documents, batch_size):
            total += await self._send(_upsert_call(collection, batch))
        return total

    async def get(self, collection: str, doc_id: str) -> JSONObject:
        """One stored document."""
        return await self._send(_get_document_call(collection, doc_id))

    async def depict(self, collection: str, doc_id: str) -> str:
        """A stored document drawn by the server, as SVG text (chemical structures)."""
        return await self._send(_depict_call(collection, doc_id))

    async def preview(self, collection: str, doc_id: str, form: str = "png") -> bytes:
        """A stored design's preview: ``png`` thumbnail or ``glb`` simplified model (meshes)."""
        return await self._send(_preview_call(collection, doc_id, form))

    async def delete(self, collection: str, doc_id: str) -> None:
        """Delete one document."""
        await self._send(_delete_document_call(collection, doc_id))

    async def search(
        self,
        collection: str,
        query: JSONObject,
        *,
        k: int = 10,
        offset: int = 0,
        filter: JSONObject | None = None,
        mode: str | None = None,
        group_by: str | None = None,
        group_size: int | None = None,
        facets: list[str | JSONObject] | None = None,
    ) -> JSONObject:
        """Search one collection (see :meth:`Client.search`)."""
        options: JSONObject = {"k": k, "offset": offset, "filter": filter, "mode": mode}
        options |= {"group_by": group_by, "group_size": group_size, "facets": facets}
        return await self._send(_search_call(collection, query, options))

    async def search_many(
        self,
        collections: Iterable[str],
        query: JSONObject,
        *,
        k: int = 10,
        offset: int = 0,
        filter: JSONObject | None = None,
        mode: str | None = None,
        fusion: str | None = None,
        weights: dict[str, float] | None = None,
        timeout_ms: float | None = None,
        group_by: str | None = None,
        group_size: int | None = None,
        facets: list[str | JSONObject] | None = None,
    ) -> JSONObject:
        """One window over several collections (see :meth:`Client.search_many`)."""
        options: JSONObject = {"k": k, "offset": offset, "filter": filter, "mode": mode}
        options["fusion"] = fusion
        options |= {"weights": weights, "timeout_ms": timeout_ms}
        options |= {"group_by": group_by, "group_size": group_size, "facets": facets}
        return await self._send(_search_many_call(collections, query, options))

    async def neighbors(
        self,
        collection: str,
        doc_id: str,
        *,
        depth: int = 1,
        k: int = 10,
        collections: Iterable[str] | None = None,
        min_score: float | None = None,
    ) -> JSONObject:
        """The nearest documents of a document as a graph (see :meth:`Client.neighbors`)."""
        call = _neighbors_call(collection, doc_id, depth, k, collections, min_score)
        return await self._send(call)

    async def facets(
        self,
        collection: str,
        field: str,
        *,
        prefix: str | None = None,
        limit: int = 20,
        filter: JSONObject | None = None,
    ) -> JSONObject:
        """Documents per child code of ``prefix`` (see :meth:`Client.facets`)."""
        return await self._send(_facets_call(collection, field, prefix, limit, filter))

    async def create_watch(
        self,
        collection: str,
        query: JSONObject,
        *,
        threshold: float,
        mode: str | None = None,
        filter: JSONObject | None = None,
        callback_url: str | None = None,
    ) -> JSONObject:
        """Watch a collection for new documents scoring at least ``threshold`` on ``query``."""
        return await self._send(
            _create_watch_call(collection, query, threshold, mode, filter, callback_url)
        )

    async def get_watch(self, watch_id: str) -> JSONObject:
        """One watch."""
        return await self._send(_get_watch_call(watch_id))

    async def delete_watch(self, watch_id: str) -> None:
        """Delete a watch and its notifications."""
        await self._send(_delete_watch_call(watch_id))

    async def watch_notifications(
        self, watch_id: str, *, offset: int = 0, limit: int = 100
    ) -> JSONObject:
        """A page of a watch's notifications, oldest first: ``{"notifications", "total"}``."""
        return await self._send(_watch_notifications_call(watch_id, offset, limit))

    async def create_result_set(
        self,
        search: JSONObject,
        hits: Iterable[JSONObject] = (),
        *,
        name: str | None = None,
        tags: Iterable[str] = (),
        comment: str | None = None,
    ) -> JSONObject:
        """Save a search and its hits (see :meth:`Client.create_result_set`)."""
        return await self._send(_create_result_set_call(search, hits, name, tags, comment))

    async def get_result_set(self, set_id: str) -> JSONObject:
        """One result set with its hits, tags and comments."""
        return await self._send(_get_result_set_call(set_id))

    async def update_result_set(
        self,
        set_id: str,
        *,
        name: str | None = None,
        tags: Iterable[str] = (),
        remove_tags: Iterable[str] = (),
        comment: str | None = None,
        hits: Iterable[JSONObject] = (),
        remove_hits: Iterable[str] = (),
        hit_tags: dict[str, list[str]] | None = None,
        remove_hit_tags: dict[str, list[str]] | None = None,
        hit_comments: dict[str, str] | None = None,
    ) -> JSONObject:
        """Annotate a result set (see :meth:`Client.update_result_set`)."""
        changes = _result_set_changes(
            name,
            tags,
            remove_tags,
            comment,
            hits,
            remove_hits,
            hit_tags,
            remove_hit_tags,
            hit_comments,
        )
        return await self._send(_update_result_set_call(set_id, changes))

    async def list_result_sets(
        self, *, tag: str | None = None, owner: str | None = None, offset: int = 0, limit: int = 100
    ) -> JSONObject:
        """A page of result-set summaries (see :meth:`Client.list_result_sets`)."""
        return await self._send(_list_result_sets_call(tag, owner, offset, limit))

    async def delete_result_set(self, set_id: str) -> None:
        """Delete a result set (its owner or an admin key only)."""
        await self._send(_delete_result_set_call(set_id))

    async def register_party(self, name: str, public_key: str) -> JSONObject:
        """Register a ledger party (see :meth:`Client.register_party`)."""
        return await self._send(_register_party_call(name, public_key))

    async def register_transaction(
        self, transaction: JSONObject, signatures: dict[str, str]
    ) -> JSONObject:
        """Register a signed rights transaction (see :meth:`Client.register_transaction`)."""
        return await self._send(_register_transaction_call(transaction, signatures))

    async def ledger_right(self, collection: str, doc_id: str) -> JSONObject:
        """The current state of the right over an IP object."""
        return await self._send(_ledger_call(_ledger_right_path(collection, doc_id)))

    async def ledger_entry(self, index: int) -> JSONObject:
        """``{"index", "entry"}``: the exact leaf bytes, base64."""
        return await self._send(_ledger_call(f"/entries/{int(index)}"))

    async def ledger_tree_head(self) -> JSONObject:
        """The newest signed tree head."""
        return await self._send(_ledger_call("/tree-head"))

    async def ledger_office_key(self) -> JSONObject:
        """The office's Ed25519 public key."""
        return await self._send(_ledger_call("/office-key"))

    async def ledger_inclusion_proof(self, index: int, tree_size: int) -> JSONObject:
        """``{"audit_path": [...]}``."""
        return await self._send(_ledger_call("/proof/inclusion", index=index, tree_size=tree_size))

    async def ledger_consistency_proof(self, first: int, second: int) -> JSONObject:
        """``{"consistency_path": [...]}``."""
        return await self._send(_ledger_call("/proof/consistency", first=first, second=second))

    async def ledger_outbox(self, after: int = 0, limit: int = 100) -> JSONObject:
        """Ledger events after ``after``, oldest first."""
        return await self._send(_ledger_call("/outbox", after=after, limit=limit))

    async def file_application(
        self,
        kind: str,
        title: str,
        applicant: JSONObject,
        content: JSONObject,
        fields: JSONObject | None = None,
        idempotency_key: str | None = None,
        *,
        representative: JSONObject | None = None,
    ) -> JSONObject:
        """File an application (see :meth:`Client.file_application`)."""
        call = _file_application_call(
            kind, title, applicant, content, fields, representative, idempotency_key
        )
        return await self._send(call)

    async def get_application(self, application_id: str) -> JSONObject:
        """An application with its status, history, fees and deadlines."""
        return await self._send(_get_application_call(application_id))

    async def list_applications(
        self,
        *,
        status: str | None = None,
        applicant: str | None = None,
        kind: str | None = None,
        since: date | datetime | str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> JSONObject:
        """A page of applications (see :meth:`Client.list_applications`)."""
        return await self._send(
            _list_applications_call(status, applicant, kind, since, offset, limit)
        )

    async def transition_application(
        self, application_id: str, to: str, reason: str | None = None
    ) -> JSONObject:
        """Move an application to status ``to``."""
        return await self._send(_transition_application_call(application_id, to, reason))

    async def application_changes(self, after: int = 0, limit: int = 100) -> JSONObject:
        """Events after seq ``after`` (see :meth:`Client.application_changes`)."""
        return await self._send(_application_changes_call(after, limit))

    async def post_message(
        self,
        application_id: str,
        kind: str,
        subject: str,
        body: str,
        *,
        attachments: Iterable[str] = (),
        deadline: date | str | None = None,
        in_reply_to: int | None = None,
    ) -> JSONObject:
        """Add a message to an application's thread (see :meth:`Client.post_message`)."""
        call = _post_message_call(
            application_id, kind, subject, body, attachments, deadline, in_reply_to
        )
        return await self._send(call)

    async def list_messages(
        self, application_id: str, after: int = 0, limit: int = 100
    ) -> JSONObject:
        """A page of the thread, oldest first (see :meth:`Client.list_messages`)."""
        return await self._send(_list_messages_call(application_id, after, limit))

    async def list_notifications(self, application_id: str) -> JSONObject:
        """The callbacks queued for an application (see :meth:`Client.list_notifications`)."""
        return await self._send(_list_notifications_call(application_id))

    async def upload_attachment(self, data: bytes, media_type: str) -> JSONObject:
        """Upload a design view or mark image → ``{"sha256", "size", "media_type"}``."""
        return await self._send(_upload_attachment_call(data, media_type))

    async def get_attachment(self, sha256: str) -> bytes:
        """The bytes of an uploaded attachment."""
        return await self._send(_get_attachment_call(sha256))

    async def assess_application(self, application_id: str) -> JSONObject:
        """Queue a preliminary novelty assessment (see :meth:`Client.assess_application`)."""
        return await self._send(_assess_application_call(application_id))

    async def get_assessment(self, application_id: str) -> JSONObject:
        """The application's newest assessment (see :meth:`Client.get_assessment`)."""
        return await self._send(_get_assessment_call(application_id))

    async def get_assessment_html(self, application_id: str) -> str:
        """The newest assessment as a printable HTML page."""
        return await self._send(_get_assessment_html_call(application_id))

    async def fees(
        self,
        kind: str,
        events: Iterable[str] = ("filing",),
        *,
        claims: int | None = None,
        classes: int | None = None,
        designs: int | None = None,
        year: int | None = None,
        applicant_type: str | None = None,
        on: date | str | None = None,
    ) -> JSONObject:
        """An itemised fee quote (see :meth:`Client.fees`)."""
        return await self._send(
            _fees_call(kind, events, claims, classes, designs, year, applicant_type, on)
        )

    async def attorneys(
        self,
        q: str | None = None,
        *,
        region: str | None = None,
        specialization: str | None = None,
        language: str | None = None,
        status: str | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> JSONObject:
        """A page of the patent-attorney register (see :meth:`Client.attorneys`)."""
        call = _attorneys_call(q, region, specialization, language, status, offset, limit)
        return await self._send(call)

    async def get_attorney(self, registration_number: str) -> JSONObject:
        """One attorney of the register."""
        return await self._send(_get_attorney_call(registration_number))

    async def import_bi_records(self, data: bytes, format: str = "csv") -> JSONObject:
        """Import bibliographic records for BI from a ``csv`` or ``jsonl`` file's bytes,
        upserted by id → ``{"imported": n}`` (admin key)."""
        return await self._send(_import_bi_records_call(data, format))

    async def import_st96(self, collection: str, xml: bytes) -> JSONObject:
        """Import a WIPO ST.96 (or GBD national) XML document's records into ``collection``
        → ``{"imported": [ids]}`` (all or nothing)."""
        return await self._send(_import_st96_call(collection, xml))

    async def export_st96(self, collection: str, doc_id: str) -> bytes:
        """One document of ``collection`` as an ST.96 XML document."""
        return await self._send(_export_st96_call(collection, doc_id))

    async def import_package(self, package: bytes, collection: str | None = None) -> JSONObject:
        """Verify and import a signed exchange package (``ipsim gateway pack``) →
        ``{"package", "sender", "collection", "imported": [ids]}``."""
        return await self._send(_import_package_call(package, collection))

    async def register_partner(
        self, office: str, public_key: str, name: str | None = None
    ) -> JSONObject:
        """Register a partner office's Ed25519 public key (raw, base64; admin key)."""
        return await self._send(_register_partner_call(office, public_key, name))

    async def list_partners(self) -> JSONObject:
        """``{"partners": [...]}``: the registered partner offices."""
        return await self._send(_Call("GET", "/v1/gateway/partners", None, _read_object))

    async def bi_technology_fields(
        self,
        countries: Iterable[str] = (),
        year_from: int | None = None,
        year_to: int | None = None,
        kind: str | None = None,
    ) -> JSONObject:
        """Counts and shares of the 35 WIPO fields per country (fractional counting)."""
        params = _bi_params(countries, (), kind, year_from, year_to)
        return await self._send(_bi_call("technology-fields", params))

    async def bi_trends(
        self,
        by: str = "field",
        period: str = "year",
        *,
        fields: Iterable[int] = (),
        countries: Iterable[str] = (),
        kind: str | None = None,
        year_from: int | None = None,
        year_to: int | None = None,
    ) -> JSONObject:
        """Series per field or country with growth rates and a fitted trend."""
        params = _bi_params(countries, fields, kind, year_from, year_to)
        return await self._send(_bi_call("trends", {"by": by, "period": period, **params}))

    async def bi_anomalies(
        self,
        by: str = "field",
        period: str = "quarter",
        *,
        fields: Iterable[int] = (),
        countries: Iterable[str] = (),
        kind: str | None = None,
        year_from: int | None = None,
        year_to: int | None = None,
        threshold: float | None = None,
    ) -> JSONObject:
        """Points that break their series' trend or season, with robust z-scores."""
        params = _bi_params(countries, fields, kind, year_from, year_to)
        params.update(by=by, period=period)
        if threshold is not None:
            params["threshold"] = str(threshold)
        return await self._send(_bi_call("anomalies", params))

    async def bi_indicators(self) -> JSONObject:
        """The live counters of the office's activity."""
        return await self._send(_bi_call("indicators", {}))

    async def bi_query(self, report: JSONObject) -> JSONObject | str:
        """A flexible report (dimensions, measures, filters…): ``{"columns", "rows"}``, or
        the CSV text when ``report["format"] == "csv"``."""
        return await self._send(_bi_query_call(report))

    async def reindex(
        self,
        collection: str,
        *,
        model: str | None = None,
        index: str | JSONObject | None = None,
        ray: str | bool | None = None,
    ) -> JSONObject:
        """Start re-indexing a collection (see :meth:`Client.reindex`); the job."""
        return await self._send(_reindex_call(collection, model, index, ray))

    async def rollback(self, collection: str) -> JSONObject:
        """Start returning a collection to its previous version; the job."""
        return await self._send(_rollback_call(collection))

    async def get_job(self, job_id: str) -> JSONObject:
        """A re-index or rollback job."""
        return await self._send(_get_job_call(job_id))

    async def list_jobs(self) -> list[JSONObject]:
        """Every job, newest first."""
        return await self._send(_list_jobs_call())

    async def _send(self, call: _Call[T]) -> T:
        try:
            response = await self._http.request(
                call.method, call.path, json=call.body, headers=call.headers, content=call.content
            )
        except httpx.RequestError as exc:
            raise _transport_error(exc) from exc
        return call.finish(response)


# --- what each call sends and how its answer is read (shared by both clients) ---------


@dataclass(frozen=True)
class _Call(Generic[T]):
    """One request and the reader of its successful answer; ``headers`` add to the client's."""

    method: str
    path: str
    body: JSONObject | None
    read: Callable[[httpx.Response], T]
    headers: dict[str, str] | None = None
    content: bytes | None = None
    """A raw body, sent instead of ``body`` (an attachment upload)."""

    def finish(self, response: httpx.Response) -> T:
        """Raise the matching ``IpsimError`` for a failed answer, else read it."""
        if not response.is_success:
            raise _error_from_response(response)
        return self.read(response)


def _create_collection_call(
    name: str,
    modality: str,
    index: str | JSONObject | None,
    shards: int | None,
    model: str | None,
) -> _Call[JSONObject]:
    body: JSONObject = {"name": name, "modality": modality}
    if index is not None:
        body["index"] = {"type": index} if isinstance(index, str) else index
    if shards is not None:
        body["shards"] = shards
    if model is not None:
        body["model"] = model
    return _Call("POST", "/v1/collections", body, _read_object)


def _list_collections_call() -> _Call[list[JSONObject]]:
    return _Call("GET", "/v1/collections", None, _read_collections)


def _get_collection_call(name: str) -> _Call[JSONObject]:
    return _Call("GET", _collection_path(name), None, _read_object)


def _delete_collection_call(name: str) -> _Call[None]:
    return _Call("DELETE", _collection_path(name), None, _read_nothing)


def _upsert_call(collection: str, documents: list[JSONObject]) -> _Call[int]:
    path = f"{_collection_path(collection)}/documents"
    return _Call("PUT", path, {"documents": documents}, _read_upserted)


def _get_document_call(collection: str, doc_id: str) -> _Call[JSONObject]:
    return _Call("GET", _document_path(collection, doc_id), None, _read_object)


def _depict_call(collection: str, doc_id: str) -> _Call[str]:
    # Errors still come back as JSON, so both types are acceptable.
    accept = {"Accept": f"{SVG_TYPE}, application/json"}
    path = f"{_document_path(collection, doc_id)}?depict=svg"
    return _Call("GET", path, None, _read_svg, accept)


def _preview_call(collection: str, doc_id: str, form: str) -> _Call[bytes]:
    media_type = PREVIEW_TYPES.get(form)
    if media_type is None:
        raise ValueError(f"form must be one of {', '.join(PREVIEW_TYPES)}, not {form!r}")

    def read(response: httpx.Response) -> bytes:
        _check_media_type(response, media_type)
        return response.content

    path = f"{_document_path(collection, doc_id)}?depict={form}"
    return _Call("GET", path, None, read, {"Accept": f"{media_type}, application/json"})


def _delete_document_call(collection: str, doc_id: str) -> _Call[None]:
    return _Call("DELETE", _document_path(collection, doc_id), None, _read_nothing)


def _search_call(collection: str, query: JSONObject, options: JSONObject) -> _Call[JSONObject]:
    body = _search_body(query, options)
    return _Call("POST", f"{_collection_path(collection)}/search", body, _read_object)


def _search_many_call(
    collections: Iterable[str], query: JSONObject, options: JSONObject
) -> _Call[JSONObject]:
    body = {"collections": list(collections), **_search_body(query, options)}
    return _Call("POST", "/v1/search", body, _read_object)


def _search_body(query: JSONObject, options: JSONObject) -> JSONObject:
    """The search body: the query and every option the caller set (``None``: not sent)."""
    return {"query": query, **{key: value for key, value in options.items() if value is not None}}


def _neighbors_call(
    collection: str,
    doc_id: str,
    depth: int,
    k: int,
    collections: Iterable[str] | None,
    min_score: float | None,
) -> _Call[JSONObject]:
    params: dict[str, str | int | float] = {"depth": depth, "k": k}
    if collections is not None:
        params["collections"] = ",".join(collections)
    if min_score is not None:
        params["min_score"] = min_score
    path = f"{_document_path(collection, doc_id)}/neighbors?{urlencode(params)}"
    return _Call("GET", path, None, _read_object)


def _facets_call(
    collection: str, field: str, prefix: str | None, limit: int, filter: JSONObject | None
) -> _Call[JSONObject]:
    params: dict[str, str | int] = {"field": field, "limit": limit}
    if prefix is not None:
        params["prefix"] = prefix
    if filter is not None:
        params["filter"] = json.dumps(filter, separators=(",", ":"))
    path = f"{_collection_path(collection)}/facets?{urlencode(params)}"
    return _Call("GET", path, None, _read_object)


def _create_watch_call(
    collection: str,
    query: JSONObject,
    threshold: float,
    mode: str | None,
    filter: JSONObject | None,
    callback_url: str | None,
) -> _Call[JSONObject]:
    body: JSONObject = {"collection": collection, "query": query, "threshold": threshold}
    optional = {"mode": mode, "filter": filter, "callback_url": callback_url}
    body.update({key: value for key, value in optional.items() if value is not None})
    return _Call("POST", "/v1/watches", body, _read_object)


def _get_watch_call(watch_id: str) -> _Call[JSONObject]:
    return _Call("GET", _watch_path(watch_id), None, _read_object)


def _delete_watch_call(watch_id: str) -> _Call[None]:
    return _Call("DELETE", _watch_path(watch_id), None, _read_nothing)


def _watch_notifications_call(watch_id: str, offset: int, limit: int) -> _Call[JSONObject]:
    path = f"{_watch_path(watch_id)}/notifications?offset={offset}&limit={limit}"
    return _Call("GET", path, None, _read_object)


def _create_result_set_call(
    search: JSONObject,
    hits: Iterable[JSONObject],
    name: str | None,
    tags: Iterable[str],
    comment: str | None,
) -> _Call[JSONObject]:
    body: JSONObject = {"search": search, "hits": list(hits), "tags": list(tags)}
    body.update({key: value for key, value in (("name", name), ("comment", comment)) if value})
    return _Call("POST", "/v1/result-sets", body, _read_object)


def _get_result_set_call(set_id: str) -> _Call[JSONObject]:
    return _Call("GET", _result_set_path(set_id), None, _read_object)


def _result_set_changes(
    name: str | None,
    tags: Iterable[str],
    remove_tags: Iterable[str],
    comment: str | None,
    hits: Iterable[JSONObject],
    remove_hits: Iterable[str],
    hit_tags: dict[str, list[str]] | None,
    remove_hit_tags: dict[str, list[str]] | None,
    hit_comments: dict[str, str] | None,
) -> JSONObject:
    """The PATCH body's parts that were given (lists made concrete; empty ones left out)."""
    changes: JSONObject = {
        "name": name,
        "tags": list(tags),
        "remove_tags": list(remove_tags),
        "comment": comment,
        "hits": list(hits),
        "remove_hits": list(remove_hits),
        "hit_tags": hit_tags,
        "remove_hit_tags": remove_hit_tags,
        "hit_comments": hit_comments,
    }
    return {key: value for key, value in changes.items() if value is not None and value != []}


def _update_result_set_call(set_id: str, changes: JSONObject) -> _Call[JSONObject]:
    return _Call("PATCH", _result_set_path(set_id), changes, _read_object)


def _list_result_sets_call(
    tag: str | None, owner: str | None, offset: int, limit: int
) -> _Call[JSONObject]:
    params: dict[str, str | int] = {"offset": offset, "limit": limit}
    params.update({key: value for key, value in (("tag", tag), ("owner", owner)) if value})
    return _Call("GET", f"/v1/result-sets?{urlencode(params)}", None, _read_object)


def _delete_result_set_call(set_id: str) -> _Call[None]:
    return _Call("DELETE", _result_set_path(set_id), None, _read_nothing)


def _register_party_call(name: str, public_key: str) -> _Call[JSONObject]:
    body: JSONObject = {"name": name, "public_key": public_key}
    return _Call("POST", "/v1/ledger/parties", body, _read_object)


def _register_transaction_call(
    transaction: JSONObject, signatures: dict[str, str]
) -> _Call[JSONObject]:
    body: JSONObject = {"transaction": transaction, "signatures": dict(signatures)}
    return _Call("POST", "/v1/ledger/transactions", body, _read_object)


def _ledger_call(route: str, **params: int) -> _Call[JSONObject]:
    query = f"?{urlencode(params)}" if params else ""
    return _Call("GET", f"/v1/ledger{route}{query}", None, _read_object)


def _ledger_right_path(collection: str, doc_id: str) -> str:
    return f"/rights/{quote(collection, safe='')}/{quote(doc_id, safe='')}"


def _file_application_call(
    kind: str,
    title: str,
    applicant: JSONObject,
    content: JSONObject,
    fields: JSONObject | None,
    representative: JSONObject | None,
    idempotency_key: str | None,
) -> _Call[JSONObject]:
    body: JSONObject = {"kind": kind, "title": title, "applicant": applicant, "content": content}
    if fields is not None:
        body["fields"] = fields
    if representative is not None:
        body["representative"] = representative
    headers = None if idempotency_key is None else {"Idempotency-Key": idempotency_key}
    return _Call("POST", APPLICATIONS_PATH, body, _read_object, headers)


def _get_application_call(application_id: str) -> _Call[JSONObject]:
    return _Call("GET", _application_path(application_id), None, _read_object)


def _list_applications_call(
    status: str | None,
    applicant: str | None,
    kind: str | None,
    since: date | datetime | str | None,
    offset: int,
    limit: int,
) -> _Call[JSONObject]:
    params: dict[str, str | int] = {"offset": offset, "limit": limit}
    chosen = {"status": status, "applicant": applicant, "kind": kind}
    params.update({key: value for key, value in chosen.items() if value is not None})
    if since is not None:
        params["since"] = since if isinstance(since, str) else since.isoformat()
    return _Call("GET", f"{APPLICATIONS_PATH}?{urlencode(params)}", None, _read_object)


def _transition_application_call(
    application_id: str, to: str, reason: str | None
) -> _Call[JSONObject]:
    body: JSONObject = {"to": to} if reason is None else {"to": to, "reason": reason}
    path = f"{_application_path(application_id)}/transitions"
    return _Call("POST", path, body, _read_object)


def _application_changes_call(after: int, limit: int) -> _Call[JSONObject]:
    query = urlencode({"after": after, "limit": limit})
    return _Call("GET", f"{APPLICATIONS_PATH}/changes?{query}", None, _read_object)


def _upload_attachment_call(data: bytes, media_type: str) -> _Call[JSONObject]:
    headers = {"Content-Type": media_type}
    return _Call("POST", "/v1/attachments", None, _read_object, headers, content=data)


def _get_attachment_call(sha256: str) -> _Call[bytes]:
    path = f"/v1/attachments/{quote(sha256, safe='')}"
    return _Call("GET", path, None, _read_content, {"Accept": "*/*"})


def _application_path(application_id: str) -> str:
    return f"{APPLICATIONS_PATH}/{quote(application_id, safe='')}"


def _post_message_call(
    application_id: str,
    kind: str,
    subject: str,
    body: str,
    attachments: Iterable[str],
    deadline: date | str | None,
    in_reply_to: int | None,
) -> _Call[JSONObject]:
    message: JSONObject = {"kind": kind, "subject": subject, "body": body}
    if digests := list(attachments):
        message["attachments"] = digests
    if deadline is not None:
        message["deadline"] = deadline if isinstance(deadline, str) else deadline.isoformat()
    if in_reply_to is not None:
        message["in_reply_to"] = in_reply_to
    return _Call("POST", f"{_application_path(application_id)}/messages", message, _read_object)


def _list_messages_call(application_id: str, after: int, limit: int) -> _Call[JSONObject]:
    query = urlencode({"after": after, "limit": limit})
    return _Call("GET", f"{_application_path(application_id)}/messages?{query}", None, _read_object)


def _list_notifications_call(application_id: str) -> _Call[JSONObject]:
    path = f"{_application_path(application_id)}/notifications"
    return _Call("GET", path, None, _read_object)


def _read_content(response: httpx.Response) -> bytes:
    return response.content


def _assess_application_call(application_id: str) -> _Call[JSONObject]:
    return _Call("POST", _assessment_path(application_id), None, _read_object)


def _get_assessment_call(application_id: str) -> _Call[JSONObject]:
    return _Call("GET", _assessment_path(application_id), None, _read_object)


def _get_assessment_html_call(application_id: str) -> _Call[str]:
    path = f"{_assessment_path(application_id)}?format=html"
    return _Call("GET", path, None, _read_html, {"Accept": f"{HTML_TYPE}, application/json"})


def _fees_call(
    kind: str,
    events: Iterable[str],
    claims: int | None,
    classes: int | None,
    designs: int | None,
    year: int | None,
    applicant_type: str | None,
    on: date | str | None,
) -> _Call[JSONObject]:
    params: dict[str, str | int] = {"kind": kind, "events": ",".join(events)}
    optional = {
        "claims": claims,
        "classes": classes,
        "designs": designs,
        "year": year,
        "applicant_type": applicant_type,
        "on": on.isoformat() if isinstance(on, date) else on,
    }
    params.update({key: value for key, value in optional.items() if value is not None})
    return _Call("GET", f"/v1/fees?{urlencode(params)}", None, _read_object)


def _attorneys_call(
    q: str | None,
    region: str | None,
    specialization: str | None,
    language: str | None,
    status: str | None,
    offset: int,
    limit: int,
) -> _Call[JSONObject]:
    params: dict[str, str | int] = {"offset": offset, "limit": limit}
    optional = {
        "q": q,
        "region": region,
        "specialization": specialization,
        "language": language,
        "status": status,
    }
    params.update({key: value for key, value in optional.items() if value is not None})
    return _Call("GET", f"/v1/attorneys?{urlencode(params)}", None, _read_object)


def _get_attorney_call(registration_number: str) -> _Call[JSONObject]:
    path = f"/v1/attorneys/{quote(registration_number, safe='')}"
    return _Call("GET", path, None, _read_object)


def _import_st96_call(collection: str, xml: bytes) -> _Call[JSONObject]:
    path = f"/v1/gateway/st96?{urlencode({'collection': collection})}"
    headers = {"Content-Type": "application/xml"}
    return _Call("POST", path, None, _read_object, headers, content=xml)


def _export_st96_call(collection: str, doc_id: str) -> _Call[bytes]:
    path = f"/v1/gateway/st96/{quote(collection, safe='')}/{quote(doc_id, safe='')}"
    return _Call("GET", path, None, _read_content, {"Accept": "application/xml"})


def _import_package_call(package: bytes, collection: str | None) -> _Call[JSONObject]:
    query = f"?{urlencode({'collection': collection})}" if collection else ""
    headers = {"Content-Type": "application/json"}
    return _Call("POST", f"/v1/gateway/packages{query}", None, _read_object, headers, package)


def _register_partner_call(office: str, public_key: str, name: str | None) -> _Call[JSONObject]:
    body: JSONObject = {"office": office, "public_key": public_key}
    if name is not None:
        body["name"] = name
    return _Call("POST", "/v1/gateway/partners", body, _read_object)


_BI_MEDIA_TYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson"}


def _import_bi_records_call(data: bytes, format: str) -> _Call[JSONObject]:
    headers = {"Content-Type": _BI_MEDIA_TYPES.get(format, "application/octet-stream")}
    path = f"/v1/bi/records?{urlencode({'format': format})}"
    return _Call("POST", path, None, _read_object, headers, content=data)


def _bi_params(
    countries: Iterable[str],
    fields: Iterable[int],
    kind: str | None,
    year_from: int | None,
    year_to: int | None,
) -> dict[str, str]:
    """The BI routes' common query parameters; lists comma-separated, None left out."""
    chosen = {
        "country": ",".join(countries),
        "field": ",".join(str(f) for f in fields),
        "kind": kind or "",
        "from": "" if year_from is None else str(year_from),
        "to": "" if year_to is None else str(year_to),
    }
    return {key: value for key, value in chosen.items() if value}


def _bi_call(route: str, params: dict[str, str]) -> _Call[JSONObject]:
    query = f"?{urlencode(params)}" if params else ""
    return _Call("GET", f"/v1/bi/{route}{query}", None, _read_object)


def _bi_query_call(report: JSONObject) -> _Call[JSONObject | str]:
    return _Call("POST", "/v1/bi/query", report, _read_report)


def _read_report(response: httpx.Response) -> JSONObject | str:
    if response.headers.get("Content-Type", "").startswith("text/csv"):
        return response.text
    return _read_object(response)


def _reindex_call(
    collection: str, model: str | None, index: str | JSONObject | None, ray: str | bool | None
) -> _Call[JSONObject]:
    body: JSONObject = {}
    if model is not None:
        body["model"] = model
    if index is not None:
        body["index"] = {"type": index} if isinstance(index, str) else index
    if ray is not None:
        body["ray"] = ray
    return _Call("POST", f"{_collection_path(collection)}/reindex", body, _read_job)


def _rollback_call(collection: str) -> _Call[JSONObject]:
    return _Call("POST", f"{_collection_path(collection)}/rollback", None, _read_job)


def _get_job_call(job_id: str) -> _Call[JSONObject]:
    return _Call("GET", f"/v1/jobs/{quote(job_id, safe='')}", None, _read_object)


def _list_jobs_call() -> _Call[list[JSONObject]]:
    return _Call("GET", "/v1/jobs", None, _read_jobs)


def _read_job(response: httpx.Response) -> JSONObject:
    job = _read_object(response).get("job")
    if not isinstance(job, dict):
        raise _unexpected(response, "an answer without a job")
    return job


def _read_jobs(response: httpx.Response) -> list[JSONObject]:
    jobs = _read_object(response).get("jobs")
    if not isinstance(jobs, list) or not all(isinstance(job, dict) for job in jobs):
        raise _unexpected(response, "an answer without a list of jobs")
    return jobs


def _collection_path(name: str) -> str:
    # Names and ids are one path segment each, whatever characters they hold.
    return f"/v1/collections/{quote(name, safe='')}"


def _document_path(collection: str, doc_id: str) -> str:
    return f"{_collection_path(collection)}/documents/{quote(doc_id, safe='')}"


def _watch_path(watch_id: str) -> str:
    return f"/v1/watches/{quote(watch_id, safe='')}"


def _result_set_path(set_id: str) -> str:
    return f"/v1/result-sets/{quote(set_id, safe='')}"


def _assessment_path(application_id: str) -> str:
    return f"/v1/applications/{quote(application_id, safe='')}/assessment"


def _read_json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise _unexpected(response, "a body that is not JSON") from exc


def _read_object(response: httpx.Response) -> JSONObject:
    value = _read_json(response)
    if not isinstance(value, dict):
        raise _unexpected(response, "JSON that is not an object")
    return value


def _read_collections(response: httpx.Response) -> list[JSONObject]:
    value = _read_object(response).get("collections")
    if not isinstance(value, list):
        raise _unexpected(response, 'no "collections" list')
    return value


def _read_upserted(response: httpx.Response) -> int:
    value = _read_object(response).get("upserted")
    if not isinstance(value, int) or isinstance(value, bool):
        raise _unexpected(response, 'no integer "upserted"')
    return value


def _read_svg(response: httpx.Response) -> str:
    _check_media_type(response, SVG_TYPE)
    return response.text


def _read_html(response: httpx.Response) -> str:
    _check_media_type(response, HTML_TYPE)
    return response.text


def _check_media_type(response: httpx.Response, expected: str) -> None:
    media_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if media_type != expected:
        raise _unexpected(response, f"{media_type or 'no content type'} instead of {expected}")


def _read_nothing(response: httpx.Response) -> None:
    return None


def _unexpected(response: httpx.Response, what: str) -> ServerError:
    request = response.request
    return ServerError(
        f"{request.method} {request.url.path} answered {response.status_code} with {what}",
        status=response.status_code,
    )


# --- failures -----------------------------------------------------------------------


def _error_from_response(response: httpx.Response) -> IpsimError:
    """The exception for a non-2xx answer, from its ``{"error": ...}`` body when it has one."""
    retry_after = _parse_retry_after(response.headers.get("Retry-After"))
    code, message = _error_body(response)
    if code is None:
        code = code_for_status(response.status_code)
        text = response.text.strip()
        message = f"HTTP {response.status_code}" + (f": {text[:200]}" if text else "")
    return error_from_code(
        code, message or code, status=response.status_code, retry_after=retry_after
    )


def _error_body(response: httpx.Response) -> tuple[str | None, str | None]:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return None, None
    if not isinstance(error, dict) or not isinstance(error.get("code"), str):
        return None, None
    message = error.get("message")
    return error["code"], message if isinstance(message, str) else None


def _parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: either a number or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _transport_error(exc: httpx.RequestError) -> TransportError:
    url = exc.request.url if _has_request(exc) else "the server"
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
    detail = str(exc) or type(exc).__name__
    return TransportError(f"request to {url} {kind}: {detail}")


def _has_request(exc: httpx.RequestError) -> bool:
    try:
        exc.request  # noqa: B018 - httpx raises RuntimeError when no request is attached
    except RuntimeError:
        return False
    return True


# --- construction -------------------------------------------------------------------


def _check_url(url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"url must look like http://HOST:PORT, got {url!r}: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"url must look like http://HOST:PORT, got {url!r}")
    return url.rstrip("/")


def _verify(ca_file: str | os.PathLike[str] | None) -> ssl.SSLContext | bool:
    """How ``https`` servers are checked: against ``ca_file`` (a PEM bundle, e.g. an office's
    own CA or a test certificate; default ``IPSIM_CA_FILE``), else the system's trust store."""
    path = ca_file if ca_file is not None else os.environ.get(CA_FILE_ENV)
    if not path:
        return True
    return ssl.create_default_context(cafile=os.fspath(path))


def _headers(api_key: str | None) -> dict[str, str]:
    headers = {"Accept": "application/json", "User-Agent": f"ipsim-python/{__version__}"}
    key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return headers


__all__ = ["API_KEY_ENV", "DEFAULT_URL", "AsyncClient", "Client"]
