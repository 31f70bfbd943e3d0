"""Shared semantic checks name the offending field."""

from __future__ import annotations

import pytest

from ipsim.engine.errors import InvalidInput
from ipsim.engine.validation import (
    check_collection_name,
    check_document_id,
    check_fields,
    check_page,
)


@pytest.mark.parametrize("name", ["", "Has-Upper", "-lead", "a" * 64, "sp ace", "../x", 5])
def test_bad_collection_names_are_refused(name: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_collection_name(name)
    assert caught.value.field == "name"


def test_good_collection_name_passes() -> None:
    assert check_collection_name("patents_2024-v2") == "patents_2024-v2"


@pytest.mark.parametrize("doc_id", ["", "x" * 513, "a\nb", None, 3])
def test_bad_document_ids_are_refused(doc_id: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_document_id(doc_id, "documents[2].id")
    assert caught.value.field == "documents[2].id"


def test_fields_reject_non_finite_numbers_with_the_path() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_fields({"ok": 1, "scores": [1.0, float("nan")]}, "documents[0].fields")
    assert caught.value.field == "documents[0].fields.scores[1]"


def test_fields_accept_json_values() -> None:
    fields = {"ipc": ["A61K 31/00"], "date": "2020-01-02", "n": 3, "x": None, "o": {"a": True}}
    assert check_fields(fields, "f") == fields


@pytest.mark.parametrize(
    ("k", "offset", "field"), [(0, 0, "k"), (1001, 0, "k"), (True, 0, "k"), (10, -1, "offset")]
)
def test_page_bounds(k: object, offset: object, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_page(k, offset, max_k=1000, max_offset=100)
    assert caught.value.field == field
