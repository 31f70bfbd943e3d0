"""/v1/fees (quotes from the versioned fee schedule) and /v1/attorneys (the attorney register).

Both are read-only lookups over :mod:`ipsim.platform.filing.fees` and
:mod:`ipsim.platform.filing.attorneys`, where every rule lives; this layer parses the query
string and labels what it returns. The fee schedule's amounts are illustrative, and the answer
says so in ``notice``; an attorney page that holds generated demo records says that too.

``on`` defaults to today in Moscow (UTC+3 all year since 2014): the office's calendar decides
which schedule version is in force, not the caller's or the server's time zone. It is parsed
here, strictly ``YYYY-MM-DD``, so a bad date is a 400 naming ``on``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from ipsim.engine.errors import InvalidInput
from ipsim.platform.filing.attorneys import (
    ANY_STATUS,
    MAX_PAGE,
    SPECIALIZATIONS,
    STATUSES,
    Attorney,
    AttorneyRegister,
)
from ipsim.platform.filing.fees import (
    APPLICANT_TYPES,
    EVENTS,
    KINDS,
    FeeSchedule,
    Quote,
    office_date,
)
from ipsim.server.deps import MAX_SQL_INT, READ, platform_of
from ipsim.server.schemas import error_responses

router = APIRouter(tags=["fees and attorneys"])
ERRORS = error_responses(400, 401, 403, 404, 503)
FEES_NOTICE = (
    "Illustrative amounts, modelled on the structure of Rospatent's fee regulation;"
    " not the official fees."
)
DEMO_NOTICE = "Demo data: generated attorneys, not the official register."
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def get_fees(request: Request) -> FeeSchedule:
    return platform_of(request).fees


def get_register(request: Request) -> AttorneyRegister:
    return platform_of(request).attorneys


FeesDep = Annotated[FeeSchedule, Depends(get_fees)]
RegisterDep = Annotated[AttorneyRegister, Depends(get_register)]


# --- answers ------------------------------------------------------------------------


class FeeLineOut(BaseModel):
    code: str
    """`filing`, `filing.extra_claims`, `annuity.year_5`, `reduction.sme`…"""
    description: str
    quantity: int
    unit: str
    """The unit amount, a decimal string (negative for a reduction)."""
    amount: str
    """`quantity × unit`, a decimal string."""


class QuoteOut(BaseModel):
    total: str
    """A decimal string in `currency`, rounded half-up to the kopeck."""
    currency: str
    lines: list[FeeLineOut]
    schedule_version: str
    effective_from: str | None
    effective_to: str | None
    """The day the next schedule version starts (null: none is known yet)."""
    on: str
    """The day the quote is for."""
    notice: str

    @classmethod
    def of(cls, quote: Quote, on: date) -> QuoteOut:
        return cls(**quote.to_json(), on=on.isoformat(), notice=FEES_NOTICE)


class AttorneyOut(BaseModel):
    registration_number: str
    name: str
    region: str
    """ISO 3166-2:RU code of the federal subject."""
    region_name: str
    specializations: list[str]
    languages: list[str]
    status: str
    email: str | None
    phone: str | None
    demo: bool
    """True for a generated demonstration record."""

    @classmethod
    def of(cls, attorney: Attorney) -> AttorneyOut:
        return cls(**attorney.to_json())


class AttorneysOut(BaseModel):
    attorneys: list[AttorneyOut]
    """Ordered by name."""
    total: int
    demo: bool
    """True when this page holds demo records."""
    notice: str | None


# --- routes -------------------------------------------------------------------------


@router.get("/v1/fees", dependencies=[READ], responses=ERRORS)
def quote_fees(
    fees: FeesDep,
    kind: Annotated[str, Query(description=f"One of {', '.join(KINDS)}.")],
    events: Annotated[
        str,
        Query(description=f"Comma-separated events: {', '.join(EVENTS)}."),
    ] = "filing",
    claims: Annotated[int, Query(description="Claims (inventions, utility models).")] = 0,
    classes: Annotated[int, Query(description="Nice classes (trademarks).")] = 0,
    designs: Annotated[int, Query(description="Designs in the application.")] = 1,
    year: Annotated[int | None, Query(description="The patent year, for `annuity`.")] = None,
    applicant_type: Annotated[str, Query(description=f"{', '.join(APPLICANT_TYPES)}.")] = (
        "legal_entity"
    ),
    on: Annotated[
        str | None, Query(description="YYYY-MM-DD: the day of the events (default: today).")
    ] = None,
) -> QuoteOut:
    """The itemised fees for `events` of an application, from the schedule in force on `on`.

    Amounts are decimal strings; a reduction for individuals or SMEs is a negative line.
    The schedule's amounts are illustrative (see `notice`).
    """
    day = _parse_day(on)
    quote = fees.quote(
        kind,
        _parse_events(events),
        claims=claims,
        classes=classes,
        designs=designs,
        year=year,
        applicant_type=applicant_type,
        on=day,
    )
    return QuoteOut.of(quote, day)


@router.get("/v1/attorneys", dependencies=[READ], responses=ERRORS)
def search_attorneys(
    register: RegisterDep,
    q: Annotated[
        str | None, Query(description="Words that must all occur in the name, any case.")
    ] = None,
    region: Annotated[
        str | None, Query(description="ISO 3166-2:RU code (RU-MOW) or the subject's name.")
    ] = None,
    specialization: Annotated[
        str | None, Query(description=f"One of {', '.join(SPECIALIZATIONS)}.")
    ] = None,
    language: Annotated[str | None, Query(description="ISO 639-1 code (en, de…).")] = None,
    status: Annotated[str, Query(description=f"{', '.join(STATUSES)} or {ANY_STATUS}.")] = "active",
    offset: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0,
    limit: Annotated[int, Query(description=f"1 to {MAX_PAGE}.")] = 20,
) -> AttorneysOut:
    """A page of the patent-attorney register ordered by name, and how many match."""
    found, total = register.search(
        q=q or None,
        region=region or None,
        specialization=specialization or None,
        language=language or None,
        status=status,
        offset=offset,
        limit=limit,
    )
    demo = any(attorney.demo for attorney in found)
    return AttorneysOut(
        attorneys=[AttorneyOut.of(attorney) for attorney in found],
        total=total,
        demo=demo,
        notice=DEMO_NOTICE if demo else None,
    )


@router.get("/v1/attorneys/{registration_number}", dependencies=[READ], responses=ERRORS)
def get_attorney(registration_number: str, register: RegisterDep) -> AttorneyOut:
    """One attorney of the register (`demo: true` marks a generated record)."""
    return AttorneyOut.of(register.get(registration_number))


def _parse_day(value: str | None) -> date:
    if value is None or value == "":
        return office_date(datetime.now(UTC))
    try:
        if _ISO_DATE.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise InvalidInput("on", "must be a date YYYY-MM-DD")


def _parse_events(value: str) -> list[str]:
    events = [event.strip() for event in value.split(",")]
    if not all(events):
        raise InvalidInput("events", "must be event names separated by commas, none empty")
    return events
