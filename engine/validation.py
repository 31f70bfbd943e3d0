"""Semantic checks of engine inputs that every front door (HTTP, gRPC, platform) shares."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from ipsim.engine.errors import InvalidInput

COLLECTION_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
MAX_ID_CHARS = 512
MAX_FIELDS = 256
MAX_FIELD_DEPTH = 4


def check_collection_name(name: object, field: str = "name") -> str:
    if not isinstance(name, str) or not COLLECTION_NAME.match(name):
        raise InvalidInput(
            field,
            "must be 1-63 characters of lowercase letters, digits, '_' or '-', "
            "starting with a letter or digit",
        )
    return name


def check_document_id(doc_id: object, field: str) -> str:
    if not isinstance(doc_id, str) or not doc_id:
        raise InvalidInput(field, "must be a non-empty string")
    if len(doc_id) > MAX_ID_CHARS:
        raise InvalidInput(field, f"must be at most {MAX_ID_CHARS} characters")
    if any(ord(c) < 32 for c in doc_id):
        raise InvalidInput(field, "must not contain control characters")
    return doc_id


def check_fields(fields: object, field: str) -> dict[str, Any]:
    """Fields are a JSON object of scalars, lists and (shallow) objects; no NaN/inf."""
    if not isinstance(fields, Mapping):
        raise InvalidInput(field, "must be an object")
    if len(fields) > MAX_FIELDS:
        raise InvalidInput(field, f"must have at most {MAX_FIELDS} keys")
    for key, value in fields.items():
        if not isinstance(key, str) or not key:
            raise InvalidInput(field, "keys must be non-empty strings")
        _check_json_value(value, f"{field}.{key}", depth=1)
    return dict(fields)


def _check_json_value(value: object, field: str, depth: int) -> None:
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(field, "must be a finite number")
        return
    if depth >= MAX_FIELD_DEPTH:
        raise InvalidInput(field, f"nests deeper than {MAX_FIELD_DEPTH} levels")
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_json_value(item, f"{field}[{i}]", depth + 1)
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            _check_json_value(item, f"{field}.{key}", depth + 1)
        return
    raise InvalidInput(field, f"has a value of unsupported type {type(value).__name__}")


def check_page(k: object, offset: object, *, max_k: int, max_offset: int) -> tuple[int, int]:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= max_k:
        raise InvalidInput("k", f"must be an integer from 1 to {max_k}")
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= max_offset:
        raise InvalidInput("offset", f"must be an integer from 0 to {max_offset}")
    return k, offset


def integer_option(query: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    """``query[key]`` (or ``default``) as an integer in ``[low, high]``; InvalidInput if not."""
    value = query.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"query.{key}", f"must be an integer from {low} to {high}")
    return value
