"""Parties, rights and signed transactions over the transparency log (issue 11, items 4–5).

A **party** registers an Ed25519 public key; its id is derived from the key (the first 32 hex
digits of its SHA-256), so one key is one party. The office certifies the registration by
appending it to the log, signed with the office key.

A **transaction** is a JSON object signed by every party it names, each signature Ed25519 over
its RFC 8785 canonical bytes. Types and the parties that must sign:

- ``grant``      ``holder`` — the office records the original holder of a right (admin only):
  ``object`` (``collection/id`` of an IP object), ``territory`` (ISO 3166 alpha-2 codes, or
  ``["*"]`` for worldwide), ``term`` ``{"start": date, "end": date | null}``;
- ``assignment`` ``assignor``, ``assignee`` — the whole right moves; licences and pledges on it
  stay (they encumber the right, not the holder);
- ``licence``    ``licensor``, ``licensee`` — ``exclusive``, ``territory``, ``term`` and an
  optional ``royalty`` (``{"percent": "2.5"}`` or ``{"amount": "1000.00", "currency": "EUR"}``,
  decimal strings: never floats);
- ``pledge``     ``pledgor``, ``pledgee`` — ``amount`` and ``currency`` secured on the right.

Rules: bad shape, an unknown party, a missing, extra or invalid signature → 400 naming the field;
a party that does not hold the right, a licence beyond the holder's territory or term, or an
exclusive licence overlapping another licence (or any licence overlapping an exclusive one) in
both territory and term, or the same transaction twice → 409 with the reason.

There is no table of current holders: the state is **replayed from the log** inside the write
transaction that appends the next entry, so the log is the single source of truth. Each
process keeps the fold of the entries it has read and reads only the newer ones, so a write
costs O(new entries), and several server processes on one database stay correct.
"""

from __future__ import annotations

import copy
import hashlib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection

from ipsim.engine.errors import Conflict, InvalidInput, NotFound
from ipsim.engine.validation import check_collection_name, check_document_id
from ipsim.platform.canonical import canonical_json
from ipsim.platform.database import iso_utc
from ipsim.platform.ledger.entries import (
    KEY_BYTES,
    SIGNATURE_BYTES,
    b64,
    entry_problem,
    parse_entry,
    public_key,
    signature_valid,
    unb64,
)
from ipsim.platform.ledger.log import TransparencyLog
from ipsim.platform.ledger.merkle import leaf_hash

MAX_NAME_CHARS = 200
MAX_TRANSACTION_BYTES = 64 * 1024
WORLDWIDE = "*"
SIGNERS: dict[str, tuple[str, ...]] = {
    "grant": ("holder",),
    "assignment": ("assignor", "assignee"),
    "licence": ("licensor", "licensee"),
    "pledge": ("pledgor", "pledgee"),
}
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class Party:
    id: str
    name: str
    public_key: str
    index: int


@dataclass(frozen=True)
class Term:
    start: date
    end: date | None

    def within(self, outer: Term) -> bool:
        return self.start >= outer.start and (
            outer.end is None or (self.end is not None and self.end <= outer.end)
        )

    def overlaps(self, other: Term) -> bool:
        return (self.end is None or other.start <= self.end) and (
            other.end is None or self.start <= other.end
        )


@dataclass
class Right:
    """A right over one IP object: its holder, scope and the encumbrances registered on it."""

    object: str
    holder: str
    territory: frozenset[str]
    term: Term
    licences: list[dict[str, Any]] = field(default_factory=list)
    pledges: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class LedgerState:
    """Everything derived from the log: parties, rights, transactions already registered."""

    parties: dict[str, Party] = field(default_factory=dict)
    rights: dict[str, Right] = field(default_factory=dict)
    digests: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Registration:
    """The office's receipt for a transaction: the log index is the registration number."""

    index: int
    registration_number: str
    registered: str
    leaf_hash: str


class LedgerService:
    """Register parties and transactions; read parties and rights, all through the log."""

    def __init__(self, log: TransparencyLog) -> None:
        self.log = log
        self._state = LedgerState()
        self._applied = 0
        """How many entries ``_state`` folds: a replay reads only the ones after."""
        self._lock = threading.Lock()

    def register_party(self, name: object, key: object) -> Party:
        name = _check_name(name)
        raw = unb64(key, "public_key", KEY_BYTES)
        party_id = hashlib.sha256(raw).hexdigest()[:32]
        with self.log.transaction() as db:
            state = self._replay(db)
            if party_id in state.parties:
                raise Conflict(f"public_key: already registered as party {party_id}")
            party = {"id": party_id, "name": name, "public_key": b64(raw)}
            index, _ = self.log.append(
                db, lambda i: _entry(i, "party", {"party": party}), "party", party
            )
        return Party(party_id, name, b64(raw), index)

    def register_transaction(
        self, transaction: object, signatures: object, *, may_grant: bool
    ) -> Registration:
        """Validate against the replayed log and append; ``may_grant``: an admin caller."""
        if not isinstance(transaction, dict):
            raise InvalidInput("transaction", "must be a JSON object")
        message = canonical_json(transaction)
        if len(message) > MAX_TRANSACTION_BYTES:
            raise InvalidInput("transaction", f"at most {MAX_TRANSACTION_BYTES} bytes")
        kind = transaction.get("type")
        if kind == "grant" and not may_grant:
            raise InvalidInput("transaction.type", "a grant is registered by the office (admin)")
        with self.log.transaction() as db:
            state = self._replay(db)
            check_transaction(state, transaction, signatures, message)
            body = {"transaction": transaction, "signatures": signatures}
            event = {"type": kind, "object": transaction["object"]}
            index, leaf = self.log.append(
                db, lambda i: _entry(i, "transaction", body), "transaction", event
            )
        entry = parse_entry(leaf)
        return Registration(index, f"LR-{index:08d}", entry["registered"], b64(leaf_hash(leaf)))

    def party(self, party_id: str) -> Party:
        with self.log.reader() as db:
            party = self._replay(db).parties.get(party_id)
        if party is None:
            raise NotFound(f"party {party_id!r} is not registered")
        return party

    def right(self, collection: str, doc_id: str) -> Right:
        """The current state of the right over ``collection/doc_id``, derived from the log."""
        key = _object(f"{collection}/{doc_id}", "object")
        with self.log.reader() as db:
            right = copy.deepcopy(self._replay(db).rights.get(key))
        if right is None:
            raise NotFound(f"no right over {key!r} is registered")
        return right

    def _replay(self, db: Connection) -> LedgerState:
        """The state after every committed entry: the fold cached in this process plus the
        entries appended since (by it or by another process on the same database), each checked
        against the office's signature first, so no forged row is ever acted on. No entry can be
        appended while a writer holds the append lock, so a writer's state is stable."""
        with self._lock:
            for index, leaf in self.log.leaves(db, after=self._applied):
                if index != self._applied:
                    raise Conflict(
                        f"ledger entry {self._applied} is missing; run ipsim ledger verify"
                    )
                problem = entry_problem(leaf, index, self.log.office_verifier)
                if problem is not None:  # a row edited or inserted behind the office's back
                    raise Conflict(f"ledger entry {index} {problem}; run `ipsim ledger verify`")
                apply_entry(self._state, parse_entry(leaf))
                self._applied += 1
            return self._state


# --- validation ---------------------------------------------------------------------


def check_transaction(
    state: LedgerState, tx: Mapping[str, Any], signatures: object, message: bytes
) -> None:
    """Raise ``InvalidInput`` (shape, signatures) or ``Conflict`` (rights) unless ``tx`` may be
    registered on top of ``state``."""
    kind = tx.get("type")
    if kind not in SIGNERS:
        raise InvalidInput("transaction.type", f"must be one of {', '.join(SIGNERS)}")
    signers = {role: _party_ref(state, tx, role) for role in SIGNERS[kind]}
    if len(set(signers.values())) != len(signers):
        raise InvalidInput("transaction", "the parties must be different")
    _check_signatures(state, set(signers.values()), signatures, message)
    if _digest(message) in state.digests:
        raise Conflict("this transaction is already registered")
    obj = _object(tx.get("object"), "transaction.object")
    if kind == "grant":
        _check_keys(tx, {"type", "object", "holder", "territory", "term"})
        _territory(tx.get("territory"), "transaction.territory")
        _term(tx.get("term"), "transaction.term")
        if obj in state.rights:
            raise Conflict(f"a right over {obj} is already registered")
        return
    right = state.rights.get(obj)
    holder_role = SIGNERS[kind][0]
    if right is None:
        raise Conflict(f"no right over {obj} is registered")
    if right.holder != signers[holder_role]:
        raise Conflict(f"{holder_role} {signers[holder_role]} does not hold the right over {obj}")
    if kind == "assignment":
        _check_keys(tx, {"type", "object", "assignor", "assignee", "date"})
        if "date" in tx:
            _date(tx["date"], "transaction.date")
    elif kind == "licence":
        _check_licence(right, tx)
    else:
        _check_keys(tx, {"type", "object", "pledgor", "pledgee", "amount", "currency"})
        _money(tx.get("amount"), "transaction.amount")
        _currency(tx.get("currency"), "transaction.currency")


def _check_licence(right: Right, tx: Mapping[str, Any]) -> None:
    allowed = {"type", "object", "licensor", "licensee", "exclusive", "territory", "term"}
    _check_keys(tx, allowed | {"royalty"})
    exclusive = tx.get("exclusive")
    if not isinstance(exclusive, bool):
        raise InvalidInput("transaction.exclusive", "must be true or false")
    territory = _territory(tx.get("territory"), "transaction.territory")
    term = _term(tx.get("term"), "transaction.term")
    if "royalty" in tx:
        _royalty(tx["royalty"])
    if WORLDWIDE not in right.territory and not territory <= right.territory:
        outside = ", ".join(sorted(territory - right.territory))
        raise Conflict(f"licence territory beyond the rights held: {outside}")
    if not term.within(right.term):
        raise Conflict("licence term beyond the rights held")
    for other in right.licences:
        if not (exclusive or other["exclusive"]):
            continue
        other_territory = frozenset(other["territory"])
        if not _territories_overlap(territory, other_territory):
            continue
        if term.overlaps(_term(other["term"], "term")):
            raise Conflict(
                f"conflicts with the {'exclusive ' if other['exclusive'] else ''}licence to "
                f"{other['licensee']} (entry {other['index']}) in territory and term"
            )


def _check_signatures(
    state: LedgerState, signers: set[str], signatures: object, message: bytes
) -> None:
    if not isinstance(signatures, dict):
        raise InvalidInput("signatures", "must be an object of party id → base64 signature")
    for party_id in signatures:
        if party_id not in signers:
            raise InvalidInput(f"signatures.{party_id}", "is not a party to this transaction")
    for party_id in sorted(signers):
        field = f"signatures.{party_id}"
        if party_id not in signatures:
            raise InvalidInput(field, "missing: every party must sign")
        signature = unb64(signatures[party_id], field, SIGNATURE_BYTES)
        key = public_key(unb64(state.parties[party_id].public_key, "public_key"))
        if not signature_valid(key, signature, message):
            raise InvalidInput(field, "invalid signature over the canonical transaction")


# --- replay -------------------------------------------------------------------------


def apply_entry(state: LedgerState, entry: Mapping[str, Any]) -> None:
    """Fold one (already accepted) log entry into ``state``."""
    if entry.get("kind") == "party":
        party = entry["party"]
        state.parties[party["id"]] = Party(
            party["id"], party["name"], party["public_key"], entry["index"]
        )
        return
    tx = entry["transaction"]
    state.digests.add(_digest(canonical_json(tx)))
    kind, obj = tx["type"], tx["object"]
    if kind == "grant":
        state.rights[obj] = Right(
            obj, tx["holder"], frozenset(tx["territory"]), _term(tx["term"], "term")
        )
    elif kind == "assignment":
        state.rights[obj].holder = tx["assignee"]
    elif kind == "licence":
        state.rights[obj].licences.append({**tx, "index": entry["index"]})
    elif kind == "pledge":
        state.rights[obj].pledges.append({**tx, "index": entry["index"]})


def _entry(index: int, kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    return {"index": index, "kind": kind, "registered": iso_utc(datetime.now(UTC)), **body}


# --- small checks -------------------------------------------------------------------


def _digest(message: bytes) -> str:
    return hashlib.sha256(message).hexdigest()


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
        raise InvalidInput("name", f"must be 1-{MAX_NAME_CHARS} characters")
    return name.strip()


def _check_keys(tx: Mapping[str, Any], allowed: set[str]) -> None:
    for key in tx:
        if key not in allowed:
            raise InvalidInput(f"transaction.{key}", f"unknown for a {tx['type']}")


def _party_ref(state: LedgerState, tx: Mapping[str, Any], role: str) -> str:
    value = tx.get(role)
    if not isinstance(value, str):
        raise InvalidInput(f"transaction.{role}", "must be a party id")
    if value not in state.parties:
        raise InvalidInput(f"transaction.{role}", f"party {value!r} is not registered")
    return value


def _object(value: object, field: str) -> str:
    if not isinstance(value, str) or "/" not in value:
        raise InvalidInput(field, "must be 'collection/id' of an IP object")
    collection, doc_id = value.split("/", 1)
    check_collection_name(collection, field)
    check_document_id(doc_id, field)
    return value


def _territory(value: object, field: str) -> frozenset[str]:
    if not isinstance(value, list) or not value:
        raise InvalidInput(field, "must be a non-empty list of ISO 3166 codes, or ['*']")
    for i, code in enumerate(value):
        if not isinstance(code, str) or not (code == WORLDWIDE or _COUNTRY.match(code)):
            raise InvalidInput(f"{field}[{i}]", "must be an ISO 3166 alpha-2 code or '*'")
    return frozenset(value)


def _territories_overlap(a: frozenset[str], b: frozenset[str]) -> bool:
    return WORLDWIDE in a or WORLDWIDE in b or bool(a & b)


def _date(value: object, field: str) -> date:
    if not isinstance(value, str):
        raise InvalidInput(field, "must be a date YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(field, "must be a date YYYY-MM-DD") from exc


def _term(value: object, field: str) -> Term:
    if not isinstance(value, dict) or set(value) - {"start", "end"}:
        raise InvalidInput(field, "must be {start, end} (end may be null)")
    start = _date(value.get("start"), f"{field}.start")
    end = None if value.get("end") is None else _date(value["end"], f"{field}.end")
    if end is not None and end < start:
        raise InvalidInput(f"{field}.end", "is before start")
    return Term(start, end)


def _money(value: object, field: str, *, most: Decimal | None = None) -> Decimal:
    if not isinstance(value, str):
        raise InvalidInput(field, "must be a decimal string such as '1000.00'")
    try:
        amount = Decimal(value)
    except InvalidOperation as exc:
        raise InvalidInput(field, "must be a decimal string such as '1000.00'") from exc
    if not amount.is_finite() or amount < 0 or (most is not None and amount > most):
        raise InvalidInput(field, f"must be from 0 to {most if most is not None else 'any'}")
    return amount


def _currency(value: object, field: str) -> str:
    if not isinstance(value, str) or not _CURRENCY.match(value):
        raise InvalidInput(field, "must be an ISO 4217 code such as EUR")
    return value


def _royalty(value: object) -> None:
    field = "transaction.royalty"
    if not isinstance(value, dict):
        raise InvalidInput(field, "must be {percent} or {amount, currency}")
    if set(value) == {"percent"}:
        _money(value["percent"], f"{field}.percent", most=Decimal(100))
    elif set(value) == {"amount", "currency"}:
        _money(value["amount"], f"{field}.amount")
        _currency(value["currency"], f"{field}.currency")
    else:
        raise InvalidInput(field, "must be {percent} or {amount, currency}")


__all__ = [
    "SIGNERS",
    "LedgerService",
    "LedgerState",
    "Party",
    "Registration",
    "Right",
    "Term",
    "apply_entry",
    "check_transaction",
]
