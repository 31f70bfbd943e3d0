"""The ipsim Python SDK: ``Client`` / ``AsyncClient`` over HTTP, ``GrpcClient`` over gRPC.

All three raise the same :class:`IpsimError` subclasses, each carrying the server's code::

    from ipsim.clients import Client, NotFound

    with Client("http://127.0.0.1:8080") as client:
        try:
            client.get("patents", "EP1234567")
        except NotFound:
            ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
)
from ipsim.clients.http import AsyncClient, Client

if TYPE_CHECKING:
    from ipsim.clients.grpc import GrpcClient


def __getattr__(name: str) -> object:
    # gRPC stubs and grpcio load only for callers that ask for the gRPC client.
    if name == "GrpcClient":
        from ipsim.clients.grpc import GrpcClient

        return GrpcClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
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
