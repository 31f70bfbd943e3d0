"""What a filing must hold, per kind, validated with pydantic: the one place for those rules.

:func:`parse_filing` takes the request body of ``POST /v1/applications`` as sent and answers a
normalised :class:`Filing` or raises :class:`InvalidInput` naming the JSON path of the first
problem (``content.claims[2]``, ``applicant.country``). The body is validated here rather than
by FastAPI because the content's model depends on ``kind``, and so that every front door (HTTP,
a future CLI import) gets the same messages.

Per kind (``content``):

* ``invention`` / ``utility_model``: ``abstract`` (text), ``claims`` (1–500 non-empty texts),
  optional ``description``, optional ``ipc`` (IPC codes at subclass level or below, any common
  spelling; stored canonical, ``A61K 31/00``).
* ``industrial_design``: ``locarno`` (one code or a list; ``12-11`` or class ``12``), ``views``
  (1–50 attachment references: the sha256 of an uploaded mesh or PNG/JPEG image), optional
  ``description``.
* ``trademark``: ``word`` (the verbal element) and/or ``image`` (an attachment reference to a
  PNG/JPEG), at least one; ``nice_classes`` (1–45 distinct classes 1–45); optional ``vienna``
  codes (canonical ``26.01.03``) and ``goods_services`` text.

Attachment references are checked for form here (64 hex digits) and for existence and type
by the store (:meth:`Filing.attachment_refs` says which are where).

``applicant``: ``name``, ``country`` (ISO 3166-1 alpha-2, any case, stored upper), ``type``
(``individual`` | ``sme`` | ``legal_entity``: the fee reductions depend on it), optional
``email`` and ``callback_url`` (http or https: where status notifications go).
``representative`` (optional): the patent attorney's ``registration_number`` and ``name``.
``fields``: a flat object of at most 50 scalars (string ≤ 1000 characters, number, boolean,
null) kept as the applicant's own references (docket numbers…).

Text is kept as sent; "non-empty" means not blank after stripping whitespace.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
)

from ipsim.engine.classification import IPC, LOCARNO, VIENNA, CodeSystem
from ipsim.engine.errors import InvalidInput
from ipsim.models.trademark_fields import NICE_CLASSES
from ipsim.platform.filing.attachments import SHA256
from ipsim.platform.filing.states import KINDS

MAX_TITLE_CHARS = 500
MAX_CLAIMS = 500
MAX_CLAIM_CHARS = 20_000
MAX_ABSTRACT_CHARS = 10_000
MAX_DESCRIPTION_CHARS = 2_000_000
MAX_CODES = 100
MAX_VIEWS = 50
MAX_FIELDS = 50
MAX_FIELD_CHARS = 1000
MAX_NAME_CHARS = 500
MAX_URL_CHARS = 2000
APPLICANT_TYPES = ("individual", "sme", "legal_entity")
IMAGE = "image"
MESH = "mesh"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")

# ISO 3166-1 alpha-2, the 249 officially assigned codes.
COUNTRIES: frozenset[str] = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
    """.split()  # noqa: SIM905 - a block of codes is easier to check than 249 quoted strings
)


# --- field types ----------------------------------------------------------------------


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _code(system: CodeSystem, min_levels: int, example: str) -> Callable[[str], str]:
    """A validator of one code of ``system``, at least ``min_levels`` deep, to canonical form."""

    def check(value: str) -> str:
        path = system.parse(value)
        if path is None or len(path) < min_levels:
            raise ValueError(f"is not a valid {system.title} code such as {example!r}")
        return path[-1]

    return check


def _sha256(value: str) -> str:
    if not SHA256.fullmatch(value):
        raise ValueError("must be the sha256 of an uploaded attachment (64 lower-case hex digits)")
    return value


def _country(value: str) -> str:
    if value.upper() not in COUNTRIES:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code such as 'RU'")
    return value.upper()


def _callback_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


def _email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise ValueError("is not an e-mail address")
    return value


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Name = Annotated[
    StrictStr, Field(min_length=1, max_length=MAX_NAME_CHARS), AfterValidator(_not_blank)
]
Claim = Annotated[
    StrictStr, Field(min_length=1, max_length=MAX_CLAIM_CHARS), AfterValidator(_not_blank)
]
Abstract = Annotated[
    StrictStr, Field(min_length=1, max_length=MAX_ABSTRACT_CHARS), AfterValidator(_not_blank)
]
Description = Annotated[
    StrictStr, Field(min_length=1, max_length=MAX_DESCRIPTION_CHARS), AfterValidator(_not_blank)
]
RegistrationNumber = Annotated[
    StrictStr, Field(min_length=1, max_length=32), AfterValidator(_not_blank)
]
IpcCode = Annotated[StrictStr, Field(max_length=64), AfterValidator(_code(IPC, 3, "A61K 31/00"))]
LocarnoCode = Annotated[StrictStr, Field(max_length=64), AfterValidator(_code(LOCARNO, 1, "12-11"))]
ViennaCode = Annotated[
    StrictStr, Field(max_length=64), AfterValidator(_code(VIENNA, 1, "26.01.03"))
]
AttachmentRef = Annotated[StrictStr, AfterValidator(_sha256)]
NiceClass = Annotated[StrictInt, Field(ge=NICE_CLASSES.start, le=NICE_CLASSES.stop - 1)]


# --- models -------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Applicant(_Strict):
    """Who applies: the fee reductions follow ``type``; notifications go to ``callback_url``."""

    name: Name
    country: Annotated[StrictStr, AfterValidator(_country)]
    type: Literal["individual", "sme", "legal_entity"]
    email: Annotated[StrictStr, Field(max_length=254), AfterValidator(_email)] | None = None
    callback_url: (
        Annotated[StrictStr, Field(max_length=MAX_URL_CHARS), AfterValidator(_callback_url)] | None
    ) = None


class Representative(_Strict):
    """The patent attorney acting for the applicant."""

    registration_number: RegistrationNumber
    name: Name


class PatentContent(_Strict):
    """An invention's or a utility model's content."""

    abstract: Abstract
    claims: list[Claim] = Field(min_length=1, max_length=MAX_CLAIMS)
    description: Description | None = None
    ipc: list[IpcCode] = Field(default_factory=list, max_length=MAX_CODES)


class DesignContent(_Strict):
    """An industrial design's content: its Locarno class(es) and views (meshes or images)."""

    locarno: Annotated[
        list[LocarnoCode], BeforeValidator(_one_or_many), Field(min_length=1, max_length=MAX_CODES)
    ]
    views: list[AttachmentRef] = Field(min_length=1, max_length=MAX_VIEWS)
    description: Description | None = None


class TrademarkContent(_Strict):
    """A mark: its word and/or image, the Nice classes it is for and its Vienna codes."""

    word: Name | None = None
    image: AttachmentRef | None = None
    nice_classes: list[NiceClass] = Field(min_length=1, max_length=len(NICE_CLASSES))
    vienna: list[ViennaCode] = Field(default_factory=list, max_length=MAX_CODES)
    goods_services: Description | None = None


CONTENT_MODELS: Mapping[str, type[_Strict]] = {
    "invention": PatentContent,
    "utility_model": PatentContent,
    "industrial_design": DesignContent,
    "trademark": TrademarkContent,
}
_TOP_LEVEL = ("kind", "title", "applicant", "representative", "content", "fields")


@dataclass(frozen=True)
class AttachmentUse:
    """An attachment a filing references: where, which, and what it must be."""

    field: str
    sha256: str
    allowed: frozenset[str]
    """``{"image"}`` or ``{"image", "mesh"}``."""


@dataclass(frozen=True)
class Filing:
    """A validated, normalised filing (plain JSON values, ready to store)."""

    kind: str
    title: str
    applicant: dict[str, Any]
    representative: dict[str, Any] | None
    content: dict[str, Any]
    fields: dict[str, Any]

    def fingerprint(self) -> str:
        """SHA-256 of the canonical JSON: equal for requests that mean the same filing."""
        canonical = json.dumps(self.__dict__, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    @property
    def claims(self) -> int:
        """How many claims the fees count (0 for designs and marks)."""
        return len(self.content.get("claims", ()))

    @property
    def classes(self) -> int:
        """How many Nice classes the fees count (0 for other kinds)."""
        return len(self.content.get("nice_classes", ()))

    def attachment_refs(self) -> list[AttachmentUse]:
        """Every attachment the content references, with its JSON path."""
        if self.kind == "industrial_design":
            both = frozenset({IMAGE, MESH})
            return [
                AttachmentUse(f"content.views[{i}]", sha, both)
                for i, sha in enumerate(self.content["views"])
            ]
        if self.kind == "trademark" and "image" in self.content:
            return [AttachmentUse("content.image", self.content["image"], frozenset({IMAGE}))]
        return []


# --- parsing ------------------------------------------------------------------------


def parse_filing(body: object) -> Filing:
    """The filing in ``body`` or :class:`InvalidInput` naming the first bad field's path."""
    if not isinstance(body, Mapping):
        raise InvalidInput("body", "must be a JSON object")
    for key in body:
        if key not in _TOP_LEVEL:
            raise InvalidInput(str(key), f"unknown field; the fields are {', '.join(_TOP_LEVEL)}")
    kind = body.get("kind")
    if not isinstance(kind, str) or kind not in CONTENT_MODELS:
        raise InvalidInput("kind", f"must be one of {', '.join(KINDS)}, not {kind!r}")
    for key in ("title", "applicant", "content"):
        if key not in body:
            raise InvalidInput(key, "is required")
    title = _check_title(body["title"])
    applicant = _validated(Applicant, body["applicant"], "applicant")
    representative = body.get("representative")
    content = _validated(CONTENT_MODELS[kind], body["content"], "content")
    if kind == "trademark":
        _check_mark(content)
    return Filing(
        kind=kind,
        title=title,
        applicant=applicant,
        representative=(
            None
            if representative is None
            else _validated(Representative, representative, "representative")
        ),
        content=content,
        fields=check_fields(body.get("fields", {})),
    )


def _check_title(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TITLE_CHARS:
        raise InvalidInput("title", f"must be 1-{MAX_TITLE_CHARS} characters, not blank")
    return value


def _validated(model: type[_Strict], value: object, prefix: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(prefix, "must be a JSON object")
    try:
        parsed = model.model_validate(value)
    except ValidationError as exc:
        raise _invalid(exc, prefix) from None
    return parsed.model_dump(exclude_none=True)


def _invalid(exc: ValidationError, prefix: str) -> InvalidInput:
    """The first pydantic error as ``InvalidInput("content.claims[2]", "...")``."""
    error = exc.errors(include_url=False)[0]
    path = prefix
    for part in error["loc"]:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    kind = error["type"]
    if kind == "extra_forbidden":
        message = "unknown field"
    elif kind == "missing":
        message = "is required"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
    return InvalidInput(path, message)


def _check_mark(content: Mapping[str, Any]) -> None:
    if "word" not in content and "image" not in content:
        raise InvalidInput("content.word", "a trademark needs a word, an image or both")
    seen: set[int] = set()
    for i, nice in enumerate(content["nice_classes"]):
        if nice in seen:
            raise InvalidInput(f"content.nice_classes[{i}]", f"class {nice} is listed twice")
        seen.add(nice)


def check_fields(value: object) -> dict[str, Any]:
    """``fields``: a flat object of at most ``MAX_FIELDS`` scalars."""
    if not isinstance(value, Mapping):
        raise InvalidInput("fields", "must be a JSON object")
    if len(value) > MAX_FIELDS:
        raise InvalidInput("fields", f"must hold at most {MAX_FIELDS} entries")
    for key, item in value.items():
        if not isinstance(key, str) or not _FIELD_NAME.fullmatch(key):
            raise InvalidInput("fields", f"key {key!r} must be 1-64 letters, digits, _ . -")
        where = f"fields.{key}"
        if isinstance(item, str) and len(item) > MAX_FIELD_CHARS:
            raise InvalidInput(where, f"must be at most {MAX_FIELD_CHARS} characters")
        if isinstance(item, float) and not math.isfinite(item):
            raise InvalidInput(where, "must be a finite number")
        if item is not None and not isinstance(item, str | int | float | bool):
            raise InvalidInput(where, "must be a string, number, boolean or null")
    return dict(value)


__all__ = [
    "APPLICANT_TYPES",
    "CONTENT_MODELS",
    "COUNTRIES",
    "IMAGE",
    "MESH",
    "Applicant",
    "AttachmentUse",
    "DesignContent",
    "Filing",
    "PatentContent",
    "Representative",
    "TrademarkContent",
    "check_fields",
    "parse_filing",
]
