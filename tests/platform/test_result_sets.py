"""The result-set store over a real SQLite file: rules, annotations, listing, durability."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from ipsim.engine.errors import InvalidInput, NotFound
from ipsim.platform import migrate
from ipsim.platform.database import DATABASE_FILE, database_url, open_database
from ipsim.platform.result_sets import (
    MAX_HITS,
    MAX_TAGS,
    Changes,
    ResultSetStore,
    comments_table,
    hits_table,
    tags_table,
)

SEARCH = {"collection": "patents", "query": {"text": "folding bicycle"}, "k": 3}
HITS: list[dict[str, Any]] = [
    {"id": "EP1", "score": 0.91, "fields": {"ipc": ["B62K"]}, "chunk": None},
    {"id": "EP2", "score": 0.87, "fields": {}},
    {"collection": "utility", "id": "RU/77", "score": 0.5, "fields": {"country": "RU"}},
]


def _open(url: str) -> ResultSetStore:
    engine = open_database(url)
    migrate.upgrade(engine)
    return ResultSetStore(engine)


@pytest.fixture
def store(platform_url: str) -> Iterator[ResultSetStore]:
    """The store on a fresh database: SQLite and PostgreSQL in turn."""
    opened = _open(platform_url)
    yield opened
    opened._engine.dispose()


def test_a_saved_set_comes_back_as_given_with_normalised_tags(store: ResultSetStore) -> None:
    saved = store.create(
        "alice",
        SEARCH,
        HITS,
        name="Bicycles",
        tags=["Novelty", "prior art", "novelty"],
        comment="first look",
    )
    got = store.get(saved.id)
    assert got == saved
    assert got.owner == "alice" and got.name == "Bicycles" and got.search == SEARCH
    assert [(h.collection, h.id, h.score) for h in got.hits] == [
        ("patents", "EP1", 0.91),
        ("patents", "EP2", 0.87),
        ("utility", "RU/77", 0.5),
    ]
    assert got.hits[0].data == {"fields": {"ipc": ["B62K"]}, "chunk": None}
    assert got.tags == ["novelty", "prior art"]
    assert [(c.author, c.text) for c in got.comments] == [("alice", "first look")]
    assert got.created == got.updated and got.created.endswith("Z")
    assert len(saved.id) >= 22  # 128 random bits: the forwardable link is not guessable


def test_the_default_database_is_a_file_in_the_data_directory(tmp_path: Path) -> None:
    assert database_url(None, tmp_path) == f"sqlite:///{tmp_path.resolve() / DATABASE_FILE}"
    assert database_url("postgresql+psycopg://u@h/db", tmp_path) == "postgresql+psycopg://u@h/db"
    with pytest.raises(ValueError, match="database_url"):
        open_database("not a url")
    with pytest.raises(ValueError, match="database_url"):
        open_database("nosuchdialect://x")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"tags": [""]}, "tags[0]"),
        ({"tags": ["ok", "x" * 65]}, "tags[1]"),
        ({"tags": ["-leading"]}, "tags[0]"),
        ({"tags": ["semi;colon"]}, "tags[0]"),
        ({"tags": [f"t{i}" for i in range(MAX_TAGS + 1)]}, "tags"),
        ({"comment": "   "}, "comment"),
        ({"comment": "x" * 4001}, "comment"),
        ({"comment": "bell\x07"}, "comment"),
        ({"name": ""}, "name"),
        ({"hits": [{"id": f"d{i}"} for i in range(MAX_HITS + 1)]}, "hits"),
        ({"hits": [{"id": "a"}, {"id": "a"}]}, "hits[1]"),
        ({"hits": [{"id": ""}]}, "hits[0].id"),
        ({"hits": [{"id": "a", "collection": "Bad Name"}]}, "hits[0].collection"),
        ({"hits": [{"id": "a", "score": float("nan")}]}, "hits[0].score"),
        ({"hits": [{"id": "a", "score": "high"}]}, "hits[0].score"),
        ({"hits": [{"id": "a", "tags": ["x"]}]}, "hits[0].tags"),
        ({"hits": [{"id": "a", "fields": {"x": float("inf")}}]}, "hits[0].fields.x"),
        ({"search": {"query": {"k": float("nan")}}}, "search.query.k"),
        ({"search": {"query": {}}, "hits": [{"id": "a"}]}, "hits[0].collection"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    store: ResultSetStore, kwargs: dict[str, Any], field: str
) -> None:
    kwargs = dict(kwargs)  # the parameters are shared by both backends' runs
    search = kwargs.pop("search", SEARCH)
    hits = kwargs.pop("hits", HITS)
    with pytest.raises(InvalidInput) as caught:
        store.create("alice", search, hits, **kwargs)
    assert caught.value.field == field
    assert store.find()[1] == 0  # nothing half-saved


def test_tags_accept_any_script_and_fold_case(store: ResultSetStore) -> None:
    saved = store.create("alice", SEARCH, [], tags=["Новизна", "A61K 31/00", "c++ & #1"])
    assert saved.tags == ["новизна", "a61k 31/00", "c++ & #1"]


def test_an_update_tags_comments_and_grows_the_set(store: ResultSetStore) -> None:
    saved = store.create("alice", SEARCH, HITS[:2], tags=["draft", "bikes"])
    updated = store.update(
        saved.id,
        "bob",
        Changes(
            name="Folding bicycles",
            tags=["reviewed"],
            remove_tags=["draft"],
            comment="EP1 anticipates claim 1",
            hits=[{"id": "EP3", "score": 0.4}, {"id": "EP1", "score": 0.0}],
            hit_tags={"patents/EP1": ["X", "closest"], "patents/EP3": ["y"]},
            hit_comments={"patents/EP1": "see fig. 2"},
        ),
    )
    assert updated.name == "Folding bicycles"
    assert updated.tags == ["bikes", "reviewed"]
    assert [(h.id, h.score) for h in updated.hits] == [("EP1", 0.91), ("EP2", 0.87), ("EP3", 0.4)]
    first = updated.hits[0]
    assert first.tags == ["x", "closest"]
    assert [(c.author, c.text) for c in first.comments] == [("bob", "see fig. 2")]
    assert updated.hits[2].tags == ["y"]
    assert [(c.author, c.text) for c in updated.comments] == [("bob", "EP1 anticipates claim 1")]
    assert updated.updated > saved.updated and updated.created == saved.created
    assert store.get(saved.id) == updated


def test_repeating_an_update_changes_nothing_but_its_comments(store: ResultSetStore) -> None:
    saved = store.create("alice", SEARCH, HITS[:1])
    changes = Changes(tags=["a"], hits=[{"id": "EP9"}], hit_tags={"patents/EP1": ["b"]})
    once = store.update(saved.id, "alice", changes)
    twice = store.update(saved.id, "alice", changes)
    assert (twice.tags, [h.id for h in twice.hits], twice.hits[0].tags) == (
        once.tags,
        [h.id for h in once.hits],
        once.hits[0].tags,
    )
    gone = store.update(saved.id, "alice", Changes(remove_tags=["a", "never-there"]))
    assert gone.tags == []


def test_a_failing_update_leaves_the_set_as_it_was(store: ResultSetStore) -> None:
    saved = store.create("alice", SEARCH, HITS)
    with pytest.raises(InvalidInput) as caught:
        store.update(
            saved.id,
            "bob",
            Changes(tags=["kept"], comment="lost", hit_comments={"patents/NOPE": "no such hit"}),
        )
    assert caught.value.field == 'hit_comments["patents/NOPE"]'
    assert store.get(saved.id) == saved
    with pytest.raises(InvalidInput) as bad_key:
        store.update(saved.id, "bob", Changes(hit_tags={"no-slash": ["t"]}))
    assert bad_key.value.field == 'hit_tags["no-slash"]'


def test_removing_a_hit_removes_its_tags_and_comments(store: ResultSetStore) -> None:
    saved = store.create("alice", SEARCH, HITS)
    store.update(
        saved.id,
        "alice",
        Changes(hit_tags={"utility/RU/77": ["t"]}, hit_comments={"utility/RU/77": "c"}),
    )
    after = store.update(saved.id, "alice", Changes(remove_hits=["utility/RU/77"]))
    assert [h.id for h in after.hits] == ["EP1", "EP2"]
    assert _rows(store, tags_table) == 0 and _rows(store, comments_table) == 0


def test_deleting_a_set_deletes_everything_hanging_off_it(store: ResultSetStore) -> None:
    saved = store.create("alice", SEARCH, HITS, tags=["t"], comment="c")
    store.update(saved.id, "bob", Changes(hit_tags={"patents/EP1": ["h"]}))
    store.delete(saved.id)
    with pytest.raises(NotFound):
        store.get(saved.id)
    with pytest.raises(NotFound):
        store.delete(saved.id)
    assert [_rows(store, t) for t in (hits_table, tags_table, comments_table)] == [0, 0, 0]


def test_listing_filters_by_tag_and_owner_newest_first(store: ResultSetStore) -> None:
    ids = [
        store.create(owner, SEARCH, HITS[:n], tags=tags).id
        for owner, n, tags in [
            ("alice", 1, ["case-1"]),
            ("bob", 2, ["case-1", "other"]),
            ("alice", 3, ["other"]),
            ("alice", 0, ["case-1"]),
        ]
    ]
    page, total = store.find(tag="CASE-1")
    assert [s.id for s in page] == [ids[3], ids[1], ids[0]] and total == 3
    page, total = store.find(owner="alice", tag="case-1", offset=1, limit=1)
    assert [s.id for s in page] == [ids[0]] and total == 2
    assert (page[0].hit_count, page[0].tags, page[0].owner) == (1, ["case-1"], "alice")
    # A hit's tag does not make the set match.
    store.update(ids[2], "alice", Changes(hit_tags={"patents/EP1": ["hit-only"]}))
    assert store.find(tag="hit-only") == ([], 0)
    with pytest.raises(InvalidInput) as caught:
        store.find(limit=0)
    assert caught.value.field == "limit"


def test_result_sets_survive_reopening_the_database(tmp_path: Path) -> None:
    url = database_url(None, tmp_path / "nested" / "data")
    first = _open(url)
    saved = first.create("alice", SEARCH, HITS, tags=["t"], comment="c")
    saved = first.update(saved.id, "bob", Changes(hit_comments={"patents/EP2": "note"}))
    first._engine.dispose()
    second = _open(url)
    try:
        assert second.get(saved.id) == saved
    finally:
        second._engine.dispose()


def test_concurrent_writers_wait_for_each_other(store: ResultSetStore) -> None:
    """Eight threads annotating one set: none fails (SQLite's lock is taken up front)."""
    saved = store.create("alice", SEARCH, HITS)
    errors: list[BaseException] = []

    def annotate(worker: int) -> None:
        try:
            for i in range(10):
                store.update(
                    saved.id,
                    f"w{worker}",
                    Changes(tags=[f"w{worker}-{i % 3}"], hit_comments={"patents/EP1": f"{i}"}),
                )
        except BaseException as exc:  # collected: the assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=annotate, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    final = store.get(saved.id)
    assert len(final.hits[0].comments) == 80 and len(final.tags) == 24


def _rows(store: ResultSetStore, table: Any) -> int:
    engine = store._engine  # the test's own look under the store, at its tables
    with engine.connect() as db:
        return int(db.execute(select(func.count()).select_from(table)).scalar_one())
