"""Expert-mode result sets: a saved search and its hits, with tags and comments, in SQL.

A result set keeps the search request exactly as the client gave it (``search``: the
collection or collections, query, mode, filter…) and the hits as the search returned them,
each identified by ``(collection, id)``. Tags and comments hang off the set or off one of its
hits. The set's ``id`` is a random 128-bit token: it is the link an examiner forwards, so it
must not be guessable (who may read what is the server's business, not this module's).

The rules live here, once, for every front door: tags are 1–64 characters (letters and
digits of any script, spaces and ``- _ . : / + # &``), stored lower-case so ``Novelty`` and
``novelty`` are one tag; at most 50 per set and per hit; a comment is 1–4000 characters; a set
holds at most 1000 hits and 1000 comments. Errors are :class:`InvalidInput` naming the field
of the request body (``tags[2]``, ``hits[3].collection``, ``hit_tags["patents/EP1"][0]``).

An update is idempotent except for its comments: adding a tag or hit already there, or
removing one that is not, changes nothing; removals apply before additions.

The tables are made by the platform migrations (revision ``0001``); the table objects here
describe them for the queries.
"""

from __future__ import annotations

import json
import math
import secrets
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)

from ipsim.engine.errors import InvalidInput, NotFound
from ipsim.engine.validation import check_collection_name, check_document_id
from ipsim.platform.database import iso_utc, writer

MAX_TAG_CHARS = 64
MAX_TAGS = 50
MAX_COMMENT_CHARS = 4000
MAX_COMMENTS = 1000
MAX_HITS = 1000
MAX_NAME_CHARS = 200
MAX_IDENTITY_CHARS = 64
MAX_SEARCH_BYTES = 2 * 1024 * 1024
MAX_JSON_DEPTH = 16
MAX_PAGE = 1000
TAG_PUNCTUATION = frozenset("-_.:/+#& ")
RESERVED_HIT_KEYS = ("tags", "comments")
"""Set through ``hit_tags`` / ``hit_comments``, never inside a hit."""

metadata = MetaData()

sets_table = Table(
    "result_sets",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("owner", String(MAX_IDENTITY_CHARS), nullable=False, index=True),
    Column("name", String(MAX_NAME_CHARS)),
    Column("search", JSON, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("updated", DateTime(timezone=True), nullable=False),
)
hits_table = Table(
    "result_set_hits",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("set_pk", ForeignKey("result_sets.pk", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("collection", String(63), nullable=False),
    Column("doc_id", String(512), nullable=False),
    Column("score", Float),
    Column("data", JSON, nullable=False),
    UniqueConstraint("set_pk", "collection", "doc_id"),
)
tags_table = Table(
    "result_set_tags",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("set_pk", ForeignKey("result_sets.pk", ondelete="CASCADE"), nullable=False),
    # NULL: a tag of the set itself.
    Column("hit_pk", ForeignKey("result_set_hits.pk", ondelete="CASCADE")),
    Column("tag", String(MAX_TAG_CHARS), nullable=False),
)
# NULLs are distinct in a plain unique index, so the set's own tags are keyed on hit 0.
Index(
    "result_set_tags_unique",
    tags_table.c.set_pk,
    func.coalesce(tags_table.c.hit_pk, 0),
    tags_table.c.tag,
    unique=True,
)
Index("result_set_tags_by_tag", tags_table.c.tag)
comments_table = Table(
    "result_set_comments",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("set_pk", ForeignKey("result_sets.pk", ondelete="CASCADE"), nullable=False),
    Column("hit_pk", ForeignKey("result_set_hits.pk", ondelete="CASCADE")),
    Column("author", String(MAX_IDENTITY_CHARS), nullable=False),
    Column("text", Text, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)


# --- what the store answers ----------------------------------------------------------


@dataclass(frozen=True)
class Comment:
    """A comment on a set or a hit; ``created`` is ISO 8601 UTC."""

    id: int
    author: str
    text: str
    created: str


@dataclass(frozen=True)
class SavedHit:
    """A hit as the search returned it: ``data`` holds its other keys (``fields``, ``chunk``…)."""

    collection: str
    id: str
    score: float | None
    data: dict[str, Any]
    tags: list[str] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)


@dataclass(frozen=True)
class ResultSetSummary:
    """A set without its hits and comments: what a listing shows."""

    id: str
    name: str | None
    owner: str
    tags: list[str]
    hit_count: int
    created: str
    updated: str


@dataclass(frozen=True)
class ResultSet:
    """A saved search, its hits (in the order saved) and their annotations."""

    id: str
    name: str | None
    owner: str
    search: dict[str, Any]
    hits: list[SavedHit]
    tags: list[str]
    comments: list[Comment]
    created: str
    updated: str


@dataclass(frozen=True)
class Changes:
    """One update; hit keys are ``"<collection>/<id>"``. Empty means "touch nothing"."""

    name: str | None = None
    tags: Sequence[str] = ()
    remove_tags: Sequence[str] = ()
    comment: str | None = None
    hits: Sequence[Mapping[str, Any]] = ()
    remove_hits: Sequence[str] = ()
    hit_tags: Mapping[str, Sequence[str]] = field(default_factory=dict)
    remove_hit_tags: Mapping[str, Sequence[str]] = field(default_factory=dict)
    hit_comments: Mapping[str, str] = field(default_factory=dict)


# --- the store ----------------------------------------------------------------------


class ResultSetStore:
    """Result sets in a SQL database (SQLite by default, PostgreSQL in production)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)

    def create(
        self,
        owner: str,
        search: Mapping[str, Any],
        hits: Sequence[Mapping[str, Any]],
        *,
        name: str | None = None,
        tags: Sequence[str] = (),
        comment: str | None = None,
    ) -> ResultSet:
        """Save a search and its hits; ``search["collection"]`` fills hits that lack one."""
        owner = _check_identity(owner, "owner")
        search = _check_search(search)
        changes = Changes(name=name, tags=tags, comment=comment, hits=hits)
        now = _now()
        with self._writer.begin() as db:
            set_pk: int = db.execute(
                insert(sets_table)
                .values(
                    id=secrets.token_hex(16),  # never starts with "-": safe as a CLI argument
                    owner=owner,
                    search=search,
                    created=now,
                    updated=now,
                )
                .returning(sets_table.c.pk)
            ).scalar_one()
            _apply(db, set_pk, owner, changes, now, search.get("collection"))
            return _load(db, set_pk)

    def get(self, set_id: str) -> ResultSet:
        """The set with this id; ``NotFound`` otherwise."""
        with self._engine.connect() as db:
            return _load(db, _set_row(db, set_id).pk)

    def summary(self, set_id: str) -> ResultSetSummary:
        """The set's summary (its owner, for a permission check); ``NotFound`` otherwise."""
        with self._engine.connect() as db:
            return _summaries(db, [_set_row(db, set_id)])[0]

    def update(self, set_id: str, author: str, changes: Changes) -> ResultSet:
        """Apply ``changes`` in one transaction, comments signed by ``author``."""
        author = _check_identity(author, "author")
        with self._writer.begin() as db:
            row = _set_row(db, set_id)
            _apply(db, row.pk, author, changes, _now(), row.search.get("collection"))
            return _load(db, row.pk)

    def delete(self, set_id: str) -> None:
        """Delete the set with everything hanging off it; ``NotFound`` if there is none."""
        with self._writer.begin() as db:
            db.execute(delete(sets_table).where(sets_table.c.pk == _set_row(db, set_id).pk))

    def find(
        self, *, owner: str | None = None, tag: str | None = None, offset: int = 0, limit: int = 100
    ) -> tuple[list[ResultSetSummary], int]:
        """A page of summaries, newest first, and how many match; ``None`` matches any."""
        if offset < 0:
            raise InvalidInput("offset", "must be 0 or more")
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput("limit", f"must be from 1 to {MAX_PAGE}")
        conditions = []
        if owner is not None:
            conditions.append(sets_table.c.owner == owner)
        if tag is not None:
            conditions.append(
                exists().where(
                    tags_table.c.set_pk == sets_table.c.pk,
                    tags_table.c.hit_pk.is_(None),
                    tags_table.c.tag == check_tag(tag, "tag"),
                )
            )
        where = and_(True, *conditions)
        with self._engine.connect() as db:
            total = db.execute(select(func.count()).select_from(sets_table).where(where))
            rows = db.execute(
                select(sets_table)
                .where(where)
                .order_by(sets_table.c.created.desc(), sets_table.c.pk.desc())
                .offset(offset)
                .limit(limit)
            ).all()
            return _summaries(db, rows), total.scalar_one()


# --- validation ---------------------------------------------------------------------


@dataclass(frozen=True)
class _NewHit:
    collection: str
    id: str
    score: float | None
    data: dict[str, Any]


def check_tag(value: object, field: str) -> str:
    """A tag in its stored form (NFC, trimmed, lower-case), or ``InvalidInput``."""
    if not isinstance(value, str):
        raise InvalidInput(field, "must be a string")
    tag = unicodedata.normalize("NFC", value).strip().lower()
    if not 1 <= len(tag) <= MAX_TAG_CHARS:
        raise InvalidInput(field, f"must be 1-{MAX_TAG_CHARS} characters")
    if not tag[0].isalnum() or not all(c.isalnum() or c in TAG_PUNCTUATION for c in tag):
        raise InvalidInput(
            field,
            "must start with a letter or digit and hold only letters, digits, spaces and "
            + " ".join(sorted(TAG_PUNCTUATION - {" "})),
        )
    return tag


def check_comment(value: object, field: str) -> str:
    """A comment's text: 1-4000 characters, not blank, no control characters but newlines."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, "must be a non-blank string")
    if len(value) > MAX_COMMENT_CHARS:
        raise InvalidInput(field, f"must be at most {MAX_COMMENT_CHARS} characters")
    if any(ord(c) < 32 and c not in "\n\r\t" for c in value):
        raise InvalidInput(field, "must not contain control characters")
    return value


def _check_tags(values: Iterable[object], field: str) -> list[str]:
    """Checked tags, duplicates dropped, in the order given."""
    given = list(values)
    if len(given) > MAX_TAGS:
        raise InvalidInput(field, f"must hold at most {MAX_TAGS} tags")
    tags = [check_tag(value, f"{field}[{i}]") for i, value in enumerate(given)]
    return list(dict.fromkeys(tags))


def _check_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME_CHARS:
        raise InvalidInput("name", f"must be 1-{MAX_NAME_CHARS} characters, not blank")
    return value


def _check_identity(value: object, field: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_IDENTITY_CHARS:
        raise InvalidInput(field, f"must be 1-{MAX_IDENTITY_CHARS} characters")
    return value


def _check_search(search: object) -> dict[str, Any]:
    if not isinstance(search, Mapping):
        raise InvalidInput("search", "must be an object (the search request as sent)")
    _check_json(search, "search", 0)
    if len(json.dumps(search)) > MAX_SEARCH_BYTES:
        raise InvalidInput("search", f"must be at most {MAX_SEARCH_BYTES} bytes of JSON")
    return dict(search)


def _check_json(value: object, field: str, depth: int) -> None:
    """Plain JSON with finite numbers (a NaN could be stored but never answered)."""
    if depth > MAX_JSON_DEPTH:
        raise InvalidInput(field, f"nests deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(field, "must be a finite number")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInput(field, "keys must be strings")
            _check_json(item, f"{field}.{key}", depth + 1)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_json(item, f"{field}[{i}]", depth + 1)
    elif value is not None and not isinstance(value, str | int | float):
        raise InvalidInput(field, f"has a value of unsupported type {type(value).__name__}")


def _check_hits(hits: object, field: str, default_collection: str | None) -> list[_NewHit]:
    if not isinstance(hits, Sequence) or isinstance(hits, str):
        raise InvalidInput(field, "must be a list of hits")
    checked = [_check_hit(hit, f"{field}[{i}]", default_collection) for i, hit in enumerate(hits)]
    seen: set[tuple[str, str]] = set()
    for i, hit in enumerate(checked):
        if (hit.collection, hit.id) in seen:
            raise InvalidInput(f"{field}[{i}]", f"{hit.collection}/{hit.id} is listed twice")
        seen.add((hit.collection, hit.id))
    return checked


def _check_hit(hit: object, field: str, default_collection: str | None) -> _NewHit:
    if not isinstance(hit, Mapping):
        raise InvalidInput(field, "must be an object with collection, id and score")
    for key in RESERVED_HIT_KEYS:
        if key in hit:
            raise InvalidInput(f"{field}.{key}", f"is set with hit_{key}, not inside a hit")
    collection = hit.get("collection", default_collection)
    if collection is None:
        raise InvalidInput(f"{field}.collection", "is required (the search names no collection)")
    check_collection_name(collection, f"{field}.collection")
    doc_id = check_document_id(hit.get("id"), f"{field}.id")
    score = hit.get("score")
    if score is not None and (
        isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score)
    ):
        raise InvalidInput(f"{field}.score", "must be a finite number or null")
    data = {k: v for k, v in hit.items() if k not in ("collection", "id", "score")}
    _check_json(data, field, 1)
    return _NewHit(collection, doc_id, None if score is None else float(score), data)


def _split_key(key: object, field: str) -> tuple[str, str]:
    """``"<collection>/<id>"`` → its parts (collection names hold no ``/``; ids may)."""
    if not isinstance(key, str) or "/" not in key:
        raise InvalidInput(field, 'keys must look like "<collection>/<id>"')
    collection, _, doc_id = key.partition("/")
    check_collection_name(collection, field)
    check_document_id(doc_id, field)
    return collection, doc_id


def _field_of_key(name: str, key: str) -> str:
    return f"{name}[{json.dumps(key, ensure_ascii=False)}]"


# --- applying changes ---------------------------------------------------------------


def _apply(
    db: Connection,
    set_pk: int,
    author: str,
    changes: Changes,
    now: datetime,
    default_collection: object,
) -> None:
    """Every part of ``changes``, removals first, then the limits on what results."""
    for part in ("hits", "remove_hits", "hit_tags", "remove_hit_tags", "hit_comments"):
        # Bounded before any SQL: a statement has a limit on its parameters.
        if len(getattr(changes, part)) > MAX_HITS:
            raise InvalidInput(part, f"must hold at most {MAX_HITS} entries")
    default = default_collection if isinstance(default_collection, str) else None
    values: dict[str, Any] = {"updated": now}
    if changes.name is not None:
        values["name"] = _check_name(changes.name)
    db.execute(update(sets_table).where(sets_table.c.pk == set_pk).values(**values))
    _remove_hits(db, set_pk, changes.remove_hits)
    _add_hits(db, set_pk, _check_hits(changes.hits, "hits", default))
    _retag(db, set_pk, None, changes.tags, changes.remove_tags, "tags", "remove_tags")
    hit_pks = _hit_pks(db, set_pk)
    for key in dict.fromkeys([*changes.remove_hit_tags, *changes.hit_tags]):
        name = "remove_hit_tags" if key in changes.remove_hit_tags else "hit_tags"
        _retag(
            db,
            set_pk,
            _hit_pk(hit_pks, key, name),
            changes.hit_tags.get(key, ()),
            changes.remove_hit_tags.get(key, ()),
            _field_of_key("hit_tags", key),
            _field_of_key("remove_hit_tags", key),
        )
    notes: list[tuple[int | None, str]] = []
    if changes.comment is not None:
        notes.append((None, check_comment(changes.comment, "comment")))
    for key, text in changes.hit_comments.items():
        field = _field_of_key("hit_comments", key)
        notes.append((_hit_pk(hit_pks, key, "hit_comments"), check_comment(text, field)))
    _add_comments(db, set_pk, author, notes, now)


def _hit_pks(db: Connection, set_pk: int) -> dict[tuple[str, str], int]:
    rows = db.execute(
        select(hits_table.c.collection, hits_table.c.doc_id, hits_table.c.pk).where(
            hits_table.c.set_pk == set_pk
        )
    )
    return {(row.collection, row.doc_id): row.pk for row in rows}


def _hit_pk(hit_pks: Mapping[tuple[str, str], int], key: str, name: str) -> int:
    field = _field_of_key(name, key)
    pk = hit_pks.get(_split_key(key, field))
    if pk is None:
        raise InvalidInput(field, "is not a hit of this result set")
    return pk


def _remove_hits(db: Connection, set_pk: int, keys: Sequence[str]) -> None:
    for i, key in enumerate(keys):
        collection, doc_id = _split_key(key, f"remove_hits[{i}]")
        db.execute(
            delete(hits_table).where(
                hits_table.c.set_pk == set_pk,
                hits_table.c.collection == collection,
                hits_table.c.doc_id == doc_id,
            )
        )


def _add_hits(db: Connection, set_pk: int, hits: Sequence[_NewHit]) -> None:
    present = _hit_pks(db, set_pk)
    new = [hit for hit in hits if (hit.collection, hit.id) not in present]
    if len(present) + len(new) > MAX_HITS:
        raise InvalidInput("hits", f"a result set holds at most {MAX_HITS} hits")
    if not new:
        return
    last = db.execute(
        select(func.coalesce(func.max(hits_table.c.position), -1)).where(
            hits_table.c.set_pk == set_pk
        )
    ).scalar_one()
    db.execute(
        insert(hits_table),
        [
            {
                "set_pk": set_pk,
                "position": last + 1 + i,
                "collection": hit.collection,
                "doc_id": hit.id,
                "score": hit.score,
                "data": hit.data,
            }
            for i, hit in enumerate(new)
        ],
    )


def _retag(
    db: Connection,
    set_pk: int,
    hit_pk: int | None,
    added: Iterable[object],
    removed: Iterable[object],
    field: str,
    remove_field: str,
) -> None:
    """Remove, then add, the tags of the set (``hit_pk`` None) or of one hit."""
    gone = _check_tags(removed, remove_field)
    new = _check_tags(added, field)
    owner = tags_table.c.hit_pk.is_(None) if hit_pk is None else tags_table.c.hit_pk == hit_pk
    mine = and_(tags_table.c.set_pk == set_pk, owner)
    if gone:
        db.execute(delete(tags_table).where(mine, tags_table.c.tag.in_(gone)))
    if not new:
        return
    present = set(db.execute(select(tags_table.c.tag).where(mine)).scalars())
    fresh = [tag for tag in new if tag not in present]
    if len(present) + len(fresh) > MAX_TAGS:
        raise InvalidInput(field, f"at most {MAX_TAGS} tags per result set and per hit")
    if fresh:
        db.execute(
            insert(tags_table),
            [{"set_pk": set_pk, "hit_pk": hit_pk, "tag": tag} for tag in fresh],
        )


def _add_comments(
    db: Connection,
    set_pk: int,
    author: str,
    notes: Sequence[tuple[int | None, str]],
    now: datetime,
) -> None:
    if not notes:
        return
    count = db.execute(
        select(func.count()).select_from(comments_table).where(comments_table.c.set_pk == set_pk)
    ).scalar_one()
    if count + len(notes) > MAX_COMMENTS:
        raise InvalidInput("comment", f"a result set holds at most {MAX_COMMENTS} comments")
    db.execute(
        insert(comments_table),
        [
            {"set_pk": set_pk, "hit_pk": hit_pk, "author": author, "text": text, "created": now}
            for hit_pk, text in notes
        ],
    )


# --- reading ------------------------------------------------------------------------


def _set_row(db: Connection, set_id: str) -> Row[Any]:
    row = db.execute(select(sets_table).where(sets_table.c.id == set_id)).one_or_none()
    if row is None:
        raise NotFound(f"result set {set_id!r} does not exist")
    return row


def _load(db: Connection, set_pk: int) -> ResultSet:
    row = db.execute(select(sets_table).where(sets_table.c.pk == set_pk)).mappings().one()
    tags: dict[int | None, list[str]] = {}
    for tag_row in db.execute(
        select(tags_table.c.hit_pk, tags_table.c.tag)
        .where(tags_table.c.set_pk == set_pk)
        .order_by(tags_table.c.pk)
    ):
        tags.setdefault(tag_row.hit_pk, []).append(tag_row.tag)
    comments: dict[int | None, list[Comment]] = {}
    for note in db.execute(
        select(comments_table)
        .where(comments_table.c.set_pk == set_pk)
        .order_by(comments_table.c.pk)
    ).mappings():
        comment = Comment(note["pk"], note["author"], note["text"], iso_utc(note["created"]))
        comments.setdefault(note["hit_pk"], []).append(comment)
    hits = [
        SavedHit(
            hit["collection"],
            hit["doc_id"],
            hit["score"],
            hit["data"],
            tags.get(hit["pk"], []),
            comments.get(hit["pk"], []),
        )
        for hit in db.execute(
            select(hits_table).where(hits_table.c.set_pk == set_pk).order_by(hits_table.c.position)
        ).mappings()
    ]
    return ResultSet(
        id=row["id"],
        name=row["name"],
        owner=row["owner"],
        search=row["search"],
        hits=hits,
        tags=tags.get(None, []),
        comments=comments.get(None, []),
        created=iso_utc(row["created"]),
        updated=iso_utc(row["updated"]),
    )


def _summaries(db: Connection, rows: Sequence[Any]) -> list[ResultSetSummary]:
    """Summaries of ``rows`` of the sets table, with two queries for the whole page."""
    pks = [row.pk for row in rows]
    tags: dict[int, list[str]] = {}
    for tag_row in db.execute(
        select(tags_table.c.set_pk, tags_table.c.tag)
        .where(tags_table.c.set_pk.in_(pks), tags_table.c.hit_pk.is_(None))
        .order_by(tags_table.c.pk)
    ):
        tags.setdefault(tag_row.set_pk, []).append(tag_row.tag)
    counts: dict[int, int] = {
        count_row.set_pk: count_row.n
        for count_row in db.execute(
            select(hits_table.c.set_pk, func.count().label("n"))
            .where(hits_table.c.set_pk.in_(pks))
            .group_by(hits_table.c.set_pk)
        )
    }
    return [
        ResultSetSummary(
            id=row.id,
            name=row.name,
            owner=row.owner,
            tags=tags.get(row.pk, []),
            hit_count=counts.get(row.pk, 0),
            created=iso_utc(row.created),
            updated=iso_utc(row.updated),
        )
        for row in rows
    ]


def _now() -> datetime:
    return datetime.now(UTC)


__all__ = [
    "MAX_COMMENTS",
    "MAX_COMMENT_CHARS",
    "MAX_HITS",
    "MAX_PAGE",
    "MAX_TAGS",
    "MAX_TAG_CHARS",
    "Changes",
    "Comment",
    "ResultSet",
    "ResultSetStore",
    "ResultSetSummary",
    "SavedHit",
    "check_comment",
    "check_tag",
    "metadata",
]
