"""The gateway's record model: what every exchange format is read into and written from.

Two kinds of bibliographic record travel between offices: trademarks and patents. Each
format module (:mod:`.st96`, :mod:`.gbd`, :mod:`.formats`) converts to and from these
dataclasses, and only this module knows how a record becomes an engine document, so a
field is mapped once for every format.

Trademark documents use the field names the demo trademark collection already filters on
(``status``, ``nice_classes``, ``vienna_codes``, ``owner``, ``number``, ``filed``,
``registered``, ``expires``; the engine's ``register`` is its own national/international
vocabulary, so the sending office goes to ``office``) plus the rest of the record; the
content is ``{"word": mark text}``. Patent documents go to a text collection: content
``{"text": title + abstract}`` and the parts kept as fields (``title``, ``abstract``,
``ipc``, ``country``, ``filing_date``…), so the export does not have to split the text
again. Dates are ISO ``YYYY-MM-DD`` strings.

A document id is the office code and the application number (``EM-018000001``): stable,
so importing the same record again replaces it rather than duplicating it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from ipsim.engine.errors import InvalidInput
from ipsim.engine.types import Document
from ipsim.models.base import InvalidContent
from ipsim.models.trademark_fields import vienna_code

Kind = Literal["trademark", "patent"]
MODALITY: dict[Kind, str] = {"trademark": "trademark", "patent": "text"}
"""The collection modality that holds each kind of record."""


@dataclass(frozen=True)
class GoodsServices:
    """One Nice class of a trademark with its goods/services text (language optional)."""

    nice_class: int
    text: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class TrademarkRecord:
    """A trademark's bibliographic data."""

    office: str
    application_number: str
    application_date: str | None = None
    registration_number: str | None = None
    registration_date: str | None = None
    expiry_date: str | None = None
    status: str | None = None
    mark_text: str | None = None
    language: str | None = None
    goods_services: tuple[GoodsServices, ...] = ()
    vienna_codes: tuple[str, ...] = ()
    applicants: tuple[str, ...] = ()
    representatives: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return record_id(self.office, self.application_number)

    @property
    def nice_classes(self) -> list[int]:
        return sorted({goods.nice_class for goods in self.goods_services})


@dataclass(frozen=True)
class PatentRecord:
    """A patent application's or publication's bibliographic data."""

    office: str
    application_number: str
    filing_date: str | None = None
    publication_number: str | None = None
    publication_date: str | None = None
    title: str = ""
    abstract: str = ""
    language: str | None = None
    ipc: tuple[str, ...] = ()
    applicants: tuple[str, ...] = ()
    inventors: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return record_id(self.office, self.application_number)


Record = TrademarkRecord | PatentRecord

_ID_UNSAFE = re.compile(r"[^0-9A-Za-z._-]+")


def record_id(office: str, number: str) -> str:
    """``OFFICE-NUMBER`` with anything but letters, digits, ``. _ -`` made ``_``."""
    return f"{office.upper()}-{_ID_UNSAFE.sub('_', number.strip())}"


def kind_of(record: Record) -> Kind:
    return "trademark" if isinstance(record, TrademarkRecord) else "patent"


def check_date(value: str | None, where: str) -> str | None:
    """``value`` as ISO ``YYYY-MM-DD`` (``YYYYMMDD`` is accepted too), or ``None``."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if re.fullmatch(r"\d{8}", text):
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise InvalidInput(where, f"must be a date YYYY-MM-DD, got {value!r}") from None


def check_office(value: str | None, where: str) -> str:
    """A two-letter (WIPO ST.3) office code, upper case."""
    text = (value or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", text):
        raise InvalidInput(where, f"must be a two-letter office code, got {value!r}")
    return text


def check_nice(value: str | None, where: str) -> int:
    try:
        number = int((value or "").strip())
    except ValueError:
        raise InvalidInput(where, f"must be a Nice class 1-45, got {value!r}") from None
    if not 1 <= number <= 45:
        raise InvalidInput(where, f"must be a Nice class 1-45, got {value!r}")
    return number


def check_vienna(values: Iterable[tuple[str | None, str]]) -> tuple[str, ...]:
    """Vienna codes (each with where it was read) as the engine keeps them: zero-padded
    (``5.3`` → ``05.03``), without repeats, sorted — so a round trip through a trademark
    collection gives back the same tuple."""
    codes = set()
    for value, where in values:
        try:
            codes.add(vienna_code(value, where))
        except InvalidContent as exc:
            raise InvalidInput(where, exc.message) from None
    return tuple(sorted(codes))


# --- records <-> engine documents ---------------------------------------------------------


def _drop_empty(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value not in (None, [], "")}


def to_document(record: Record) -> Document:
    """The engine document that holds ``record``."""
    if isinstance(record, TrademarkRecord):
        fields = {
            "office": record.office,
            "number": record.application_number,
            "filed": record.application_date,
            "registration_number": record.registration_number,
            "registered": record.registration_date,
            "expires": record.expiry_date,
            "status": record.status,
            "language": record.language,
            "nice_classes": record.nice_classes,
            "goods_services": [
                _drop_empty({"class": g.nice_class, "text": g.text, "language": g.language})
                for g in record.goods_services
            ],
            "vienna_codes": list(record.vienna_codes),
            "owner": record.applicants[0] if record.applicants else None,
            "applicants": list(record.applicants),
            "representatives": list(record.representatives),
        }
        if not record.mark_text:
            # Mark images are not exchanged (only their file names), so nothing to index.
            raise InvalidInput(
                f"records[{record.id}].MarkVerbalElementText",
                "a figurative mark without a verbal element cannot be indexed",
            )
        content = {"word": record.mark_text}
        return Document(id=record.id, content=content, fields=_drop_empty(fields))
    fields = {
        "country": record.office,
        "application_number": record.application_number,
        "filing_date": record.filing_date,
        "publication_number": record.publication_number,
        "publication_date": record.publication_date,
        "title": record.title,
        "abstract": record.abstract,
        "language": record.language,
        "ipc": list(record.ipc),
        "applicant": record.applicants[0] if record.applicants else None,
        "applicants": list(record.applicants),
        "inventors": list(record.inventors),
    }
    text = "\n\n".join(part for part in (record.title, record.abstract) if part)
    return Document(id=record.id, content={"text": text}, fields=_drop_empty(fields))


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(item) for item in value) if isinstance(value, list) else ()


def _opt(fields: dict[str, Any], key: str) -> str | None:
    value = fields.get(key)
    return None if value is None else str(value)


def from_document(kind: Kind, document: Document) -> Record:
    """The record ``document`` holds (the inverse of :func:`to_document`)."""
    fields = document.fields if isinstance(document.fields, dict) else {}
    content = document.content if isinstance(document.content, dict) else {}
    if kind == "trademark":
        goods = tuple(
            GoodsServices(int(g["class"]), _opt(g, "text"), _opt(g, "language"))
            for g in fields.get("goods_services") or []
            if isinstance(g, dict) and "class" in g
        )
        if not goods:  # documents made elsewhere: classes only
            goods = tuple(GoodsServices(int(c)) for c in fields.get("nice_classes") or [])
        applicants = _strings(fields.get("applicants")) or _strings(
            [fields["owner"]] if fields.get("owner") else []
        )
        return TrademarkRecord(
            office=str(fields.get("office") or "XX").upper(),
            application_number=str(fields.get("number") or document.id),
            application_date=_opt(fields, "filed"),
            registration_number=_opt(fields, "registration_number"),
            registration_date=_opt(fields, "registered"),
            expiry_date=_opt(fields, "expires"),
            status=_opt(fields, "status"),
            mark_text=_opt(content, "word"),
            language=_opt(fields, "language"),
            goods_services=goods,
            vienna_codes=_strings(fields.get("vienna_codes")),
            applicants=applicants,
            representatives=_strings(fields.get("representatives")),
        )
    return PatentRecord(
        office=str(fields.get("country") or "XX").upper(),
        application_number=str(fields.get("application_number") or document.id),
        filing_date=_opt(fields, "filing_date"),
        publication_number=_opt(fields, "publication_number"),
        publication_date=_opt(fields, "publication_date"),
        title=str(fields.get("title") or content.get("text") or ""),
        abstract=str(fields.get("abstract") or ""),
        language=_opt(fields, "language"),
        ipc=_strings(fields.get("ipc")),
        applicants=_strings(fields.get("applicants"))
        or _strings([fields["applicant"]] if fields.get("applicant") else []),
        inventors=_strings(fields.get("inventors")),
    )


__all__ = [
    "MODALITY",
    "GoodsServices",
    "Kind",
    "PatentRecord",
    "Record",
    "TrademarkRecord",
    "check_date",
    "check_nice",
    "check_office",
    "check_vienna",
    "from_document",
    "kind_of",
    "record_id",
    "to_document",
]
