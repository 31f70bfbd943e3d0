"""The client error hierarchy, the code → class table, and the package's public names."""

from __future__ import annotations

import importlib.util

import pytest

import ipsim.clients
from ipsim.clients.errors import (
    BadRequest,
    Conflict,
    IpsimError,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    PermissionDenied,
    ServerError,
    TransportError,
    Unauthenticated,
    Unavailable,
    code_for_status,
    error_from_code,
)

CODES = [
    ("invalid_argument", BadRequest, 400),
    ("unauthenticated", Unauthenticated, 401),
    ("permission_denied", PermissionDenied, 403),
    ("not_found", NotFound, 404),
    ("conflict", Conflict, 409),
    ("payload_too_large", PayloadTooLarge, 413),
    ("resource_exhausted", Overloaded, 429),
    ("unavailable", Unavailable, 503),
    ("internal", ServerError, 500),
]


@pytest.mark.parametrize(("code", "cls", "status"), CODES)
def test_each_server_code_builds_its_class(code: str, cls: type[IpsimError], status: int) -> None:
    error = error_from_code(code, "what went wrong", status=status)
    assert type(error) is cls
    assert isinstance(error, IpsimError)
    assert (error.code, error.message, error.status) == (code, "what went wrong", status)
    assert cls.default_code == code


@pytest.mark.parametrize(("code", "cls", "status"), CODES)
def test_each_status_maps_back_to_its_code(code: str, cls: type[IpsimError], status: int) -> None:
    assert code_for_status(status) == code


def test_status_is_none_when_the_error_did_not_come_over_http() -> None:
    assert error_from_code("not_found", "no such collection").status is None


def test_unknown_code_is_a_server_error_that_keeps_the_code() -> None:
    error = error_from_code("quota_exceeded", "too many collections", status=418)
    assert type(error) is ServerError
    assert error.code == "quota_exceeded"
    assert error.status == 418


def test_overloaded_carries_retry_after() -> None:
    error = error_from_code("resource_exhausted", "queue full", retry_after=2.5)
    assert isinstance(error, Overloaded)
    assert error.retry_after == 2.5
    assert error_from_code("resource_exhausted", "queue full").retry_after is None  # type: ignore[attr-defined]


def test_unknown_statuses_split_into_client_and_server_errors() -> None:
    assert code_for_status(422) == "invalid_argument"
    assert code_for_status(405) == "invalid_argument"
    assert code_for_status(502) == "internal"
    assert code_for_status(504) == "internal"


def test_str_shows_code_then_message() -> None:
    error = BadRequest("query.text: must not be empty")
    assert str(error) == "invalid_argument: query.text: must not be empty"
    assert repr(error) == (
        "BadRequest(code='invalid_argument', message='query.text: must not be empty')"
    )


def test_transport_error_has_its_own_code_and_no_status() -> None:
    error = TransportError("connection refused")
    assert isinstance(error, IpsimError)
    assert (error.code, error.status) == ("transport_error", None)


def test_package_exports_are_pinned() -> None:
    assert sorted(ipsim.clients.__all__) == [
        "AsyncClient",
        "BadRequest",
        "Client",
        "Conflict",
        "GrpcClient",
        "IpsimError",
        "NotFound",
        "Overloaded",
        "PayloadTooLarge",
        "PermissionDenied",
        "ServerError",
        "TransportError",
        "Unauthenticated",
        "Unavailable",
    ]
    for name in set(ipsim.clients.__all__) - {"GrpcClient"}:
        assert getattr(ipsim.clients, name) is not None
    assert ipsim.clients.IpsimError is IpsimError


def test_grpc_client_is_loaded_on_first_use() -> None:
    if importlib.util.find_spec("ipsim.clients.grpc") is None:
        with pytest.raises(ModuleNotFoundError):
            ipsim.clients.GrpcClient  # noqa: B018
    else:
        from ipsim.clients.grpc import GrpcClient

        assert ipsim.clients.GrpcClient is GrpcClient


def test_unknown_package_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        ipsim.clients.Nope  # type: ignore[attr-defined]  # noqa: B018
