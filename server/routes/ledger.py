"""/v1/ledger: parties, signed rights transactions and the RFC 6962 transparency log.

Registering a party or a transaction needs ``write``; a ``grant`` (the office recording the
original holder of a right) needs ``admin``. Reading the log — entries, tree heads, proofs,
the office key — needs only ``read``: the point of the log is that anyone can check it.
Every rule lives in :mod:`ipsim.platform.ledger`; the handlers only parse and shape.
Handlers are plain functions (run in the thread pool: each write replays the log).
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from ipsim.platform.ledger.log import MAX_OUTBOX_PAGE
from ipsim.platform.ledger.rights import LedgerService, Party
from ipsim.server.auth import AuthError
from ipsim.server.deps import READ, WRITE, CallerDep, platform_of
from ipsim.server.schemas import error_responses

router = APIRouter(prefix="/v1/ledger", tags=["ledger"])
ERRORS = error_responses(400, 401, 403, 404, 409, 503)


def get_ledger(request: Request) -> LedgerService:
    return platform_of(request).ledger


LedgerDep = Annotated[LedgerService, Depends(get_ledger)]


class PartyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Any = Field(description="The party's name, 1-200 characters.")
    public_key: Any = Field(description="Its Ed25519 public key: 32 raw bytes, base64.")


class TransactionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    transaction: Any = Field(
        description="The contract: `type` grant|assignment|licence|pledge, `object`"
        " (`collection/id`) and the fields of its type."
    )
    signatures: Any = Field(
        description="Party id → base64 Ed25519 signature over the RFC 8785 canonical JSON of"
        " `transaction`, one per party it names."
    )


def _party(party: Party) -> dict[str, Any]:
    return party.__dict__.copy()


@router.post("/parties", status_code=201, dependencies=[WRITE], responses=ERRORS)
def register_party(body: PartyBody, ledger: LedgerDep) -> dict[str, Any]:
    """Register a party; the office certifies it by appending it to the log."""
    return _party(ledger.register_party(body.name, body.public_key))


@router.get("/parties/{party_id}", dependencies=[READ], responses=ERRORS)
def get_party(party_id: str, ledger: LedgerDep) -> dict[str, Any]:
    return _party(ledger.party(party_id))


@router.post("/transactions", status_code=201, dependencies=[WRITE], responses=ERRORS)
def register_transaction(
    body: TransactionBody, ledger: LedgerDep, caller: CallerDep
) -> dict[str, Any]:
    """Check every signature and the rights held, then register it on the log."""
    may_grant = "admin" in caller.scopes
    grant = isinstance(body.transaction, dict) and body.transaction.get("type") == "grant"
    if grant and not may_grant:
        raise AuthError("permission_denied", "a grant is registered by the office: admin key")
    receipt = ledger.register_transaction(body.transaction, body.signatures, may_grant=may_grant)
    return receipt.__dict__.copy()


@router.get("/rights/{collection}/{doc_id:path}", dependencies=[READ], responses=ERRORS)
def get_right(collection: str, doc_id: str, ledger: LedgerDep) -> dict[str, Any]:
    """The current holder, scope, licences and pledges of a right, derived from the log."""
    right = ledger.right(collection, doc_id)
    return {
        "object": right.object,
        "holder": right.holder,
        "territory": sorted(right.territory),
        "term": {
            "start": right.term.start.isoformat(),
            "end": right.term.end.isoformat() if right.term.end else None,
        },
        "licences": right.licences,
        "pledges": right.pledges,
    }


@router.get("/entries/{index}", dependencies=[READ], responses=ERRORS)
def get_entry(index: int, ledger: LedgerDep) -> dict[str, Any]:
    """The exact leaf bytes (base64) at ``index``."""
    return {"index": index, "entry": base64.b64encode(ledger.log.entry(index)).decode()}


@router.get("/tree-head", dependencies=[READ], responses=ERRORS)
def get_tree_head(ledger: LedgerDep) -> dict[str, Any]:
    """The newest tree head, signed by the office key over its canonical JSON."""
    return ledger.log.tree_head().__dict__.copy()


@router.get("/office-key", dependencies=[READ], responses=ERRORS)
def get_office_key(ledger: LedgerDep) -> dict[str, str]:
    return {"public_key": ledger.log.office_public_key, "algorithm": "Ed25519"}


@router.get("/proof/inclusion", dependencies=[READ], responses=ERRORS)
def get_inclusion_proof(
    ledger: LedgerDep, index: Annotated[int, Query()], tree_size: Annotated[int, Query()]
) -> dict[str, Any]:
    return {
        "index": index,
        "tree_size": tree_size,
        "audit_path": ledger.log.inclusion_proof(index, tree_size),
    }


@router.get("/proof/consistency", dependencies=[READ], responses=ERRORS)
def get_consistency_proof(
    ledger: LedgerDep, first: Annotated[int, Query()], second: Annotated[int, Query()]
) -> dict[str, Any]:
    return {
        "first": first,
        "second": second,
        "consistency_path": ledger.log.consistency_proof(first, second),
    }


@router.get("/outbox", dependencies=[READ], responses=ERRORS)
def get_outbox(
    ledger: LedgerDep,
    after: Annotated[int, Query()] = 0,
    limit: Annotated[int, Query(description=f"At most {MAX_OUTBOX_PAGE}.")] = 100,
) -> dict[str, Any]:
    """Events after ``after`` (a consumer's last ``seq``), oldest first."""
    events = [event.__dict__ for event in ledger.log.outbox(after, limit)]
    return {"events": events, "next": events[-1]["seq"] if events else after}
