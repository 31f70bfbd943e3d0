"""The fee schedule, kept as data, and itemised quotes computed from it (issue 9).

The schedule is a versioned TOML file (``fee_schedule.toml``, packaged; its amounts are
illustrative, not Rospatent's): each version carries its ``effective_from`` date and is in
force until the next one starts, so a quote is always computed with the version in force on
the day of the event (``on``) and a new version changes future events only.

Why the choices:

- Money is :class:`~decimal.Decimal` from strings in the file (a float amount is refused), and
  JSON answers carry it as strings (``"3300.00"``) so no client parses it into a float.
- Each line is ``quantity × unit`` with two-decimal amounts, hence exact. The one rounded
  number is the reduction for individuals and SMEs, taken once off the subtotal (not per line,
  where the roundings would add up) and rounded half-up to the kopeck, as accountants do.
- ``filing`` covers registering the application *and* its formal examination, as the real
  regulation's first item does; ``examination`` is the substantive examination.
- A trademark has no annuities: its registration is renewed (``renewal``, per class over the
  first); ``annuity`` on a trademark is a 400 that says so. Patents and designs take
  ``annuity`` with the patent ``year`` (inventions 3-25, utility models 1-10, designs 1-25).
- Counts not used by a kind are ignored (``claims`` on a trademark), but must still be sane.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeGuard

from ipsim.engine.errors import InvalidInput

DEFAULT_SCHEDULE = Path(__file__).with_name("fee_schedule.toml")
KINDS = ("invention", "utility_model", "industrial_design", "trademark")
APPLICANT_TYPES = ("individual", "sme", "legal_entity")
APPLICANT_NAMES = {
    "individual": "an individual",
    "sme": "a small or medium enterprise",
    "legal_entity": "a legal entity",
}
EVENTS = {
    "filing": "Registration of the application and formal examination",
    "search": "Search",
    "examination": "Substantive examination",
    "grant": "Grant and registration",
    "annuity": "Annuity for year {year}",
    "renewal": "Renewal of the registration",
}
"""Event code → the description its line carries."""
COUNTED = {
    "invention": "claims",
    "utility_model": "claims",
    "industrial_design": "designs",
    "trademark": "classes",
}
"""What each kind is counted in: that count must be at least 1."""
UNITS = {"claim": "claims", "class": "classes", "design": "designs"}
"""A surcharge's unit in the file → the quote argument that counts it."""
MAX_COUNT = 10_000
MAX_NICE_CLASSES = 45
KOPECK = Decimal("0.01")

OFFICE_TIME = timezone(timedelta(hours=3), "MSK")
"""The office's clock (Moscow, UTC+3 all year since 2014): its calendar decides which
schedule is in force on a day, for quotes and for the fees events incur alike."""


def office_date(moment: datetime) -> date:
    """The office's calendar day at ``moment`` (an aware datetime)."""
    return moment.astimezone(OFFICE_TIME).date()


@dataclass(frozen=True)
class FeeLine:
    """One itemised line: ``amount = quantity × unit`` (a reduction is negative)."""

    code: str
    description: str
    quantity: int
    unit: Decimal
    amount: Decimal

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "description": self.description,
            "quantity": self.quantity,
            "unit": str(self.unit),
            "amount": str(self.amount),
        }


@dataclass(frozen=True)
class Quote:
    """What the events cost on one day: the lines and their total, in ``currency``."""

    total: Decimal
    currency: str
    lines: list[FeeLine]
    schedule_version: str
    effective_from: date | None = None
    """When the version used came into force."""
    effective_to: date | None = None
    """The day the next version starts (None: in force until further notice)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "total": str(self.total),
            "currency": self.currency,
            "lines": [line.to_json() for line in self.lines],
            "schedule_version": self.schedule_version,
            "effective_from": _iso(self.effective_from),
            "effective_to": _iso(self.effective_to),
        }


# --- the schedule as loaded ----------------------------------------------------------


@dataclass(frozen=True)
class _Fee:
    amount: Decimal
    per: str | None = None
    """The surcharge's unit (``claim``, ``class``, ``design``), if it has one."""
    over: int = 0
    each: Decimal = Decimal(0)


@dataclass(frozen=True)
class _Band:
    first: int
    last: int
    amount: Decimal


@dataclass(frozen=True)
class _Version:
    id: str
    effective_from: date
    reductions: dict[str, Decimal]
    fees: dict[str, dict[str, _Fee]]
    """Kind → event → fee (annuities apart)."""
    annuities: dict[str, tuple[_Band, ...]]

    def events(self, kind: str) -> list[str]:
        """The events this kind takes, in the schedule's canonical order."""
        have = set(self.fees[kind]) | ({"annuity"} if self.annuities.get(kind) else set())
        return [event for event in EVENTS if event in have]


class FeeSchedule:
    """Every version of the fee schedule; :meth:`quote` picks the one in force."""

    def __init__(self, currency: str, versions: Sequence[_Version]) -> None:
        self.currency = currency
        self._versions = list(versions)

    @classmethod
    def load(cls, path: Path | None = None) -> FeeSchedule:
        """Read a schedule file (default: the packaged one); ``ValueError`` names what is wrong."""
        path = path or DEFAULT_SCHEDULE
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            return _parse_schedule(data)
        except (OSError, tomllib.TOMLDecodeError, _BadSchedule) as exc:
            raise ValueError(f"fee schedule {path}: {exc}") from exc

    @property
    def versions(self) -> list[tuple[str, date]]:
        """``(id, effective_from)`` of every version, oldest first."""
        return [(v.id, v.effective_from) for v in self._versions]

    def quote(
        self,
        kind: str,
        events: Sequence[str],
        *,
        claims: int = 0,
        classes: int = 0,
        designs: int = 1,
        year: int | None = None,
        applicant_type: str = "legal_entity",
        on: date,
    ) -> Quote:
        """The itemised cost of ``events`` for an application of ``kind`` on the day ``on``.

        ``InvalidInput`` names the argument at fault (``kind``, ``events[1]``, ``claims``…).
        """
        kind = _check_choice(kind, "kind", KINDS)
        counts = _check_counts(kind, claims=claims, classes=classes, designs=designs)
        applicant_type = _check_choice(applicant_type, "applicant_type", APPLICANT_TYPES)
        index = self._version_index(on)
        version = self._versions[index]
        lines: list[FeeLine] = []
        for event in _check_events(events, kind, version):
            if event == "annuity":
                lines.append(_annuity_line(version.annuities[kind], kind, year))
            else:
                lines.extend(_event_lines(event, version.fees[kind][event], counts))
        subtotal = sum((line.amount for line in lines), Decimal("0.00"))
        reduction = _reduction_line(version, applicant_type, subtotal)
        if reduction is not None:
            lines.append(reduction)
        following = self._versions[index + 1 :]
        return Quote(
            total=sum((line.amount for line in lines), Decimal("0.00")),
            currency=self.currency,
            lines=lines,
            schedule_version=version.id,
            effective_from=version.effective_from,
            effective_to=following[0].effective_from if following else None,
        )

    def _version_index(self, on: object) -> int:
        if isinstance(on, datetime) or not isinstance(on, date):
            raise InvalidInput("on", "must be a date (YYYY-MM-DD)")
        first = self._versions[0].effective_from
        if on < first:
            raise InvalidInput("on", f"is before the first fee schedule (in force from {first})")
        return max(i for i, v in enumerate(self._versions) if v.effective_from <= on)


# --- computing lines -----------------------------------------------------------------


def _event_lines(event: str, fee: _Fee, counts: Mapping[str, int]) -> list[FeeLine]:
    lines = [FeeLine(event, EVENTS[event], 1, fee.amount, fee.amount)]
    if fee.per is not None:
        extra = counts[UNITS[fee.per]] - fee.over
        if extra > 0:
            description = f"{EVENTS[event]}: each {fee.per} over {fee.over}"
            code = f"{event}.extra_{UNITS[fee.per]}"
            lines.append(FeeLine(code, description, extra, fee.each, extra * fee.each))
    return lines


def _annuity_line(bands: Sequence[_Band], kind: str, year: object) -> FeeLine:
    first, last = bands[0].first, bands[-1].last
    if year is None:
        raise InvalidInput("year", "is required for an annuity (the patent year it maintains)")
    if not _is_int(year) or not first <= year <= last:
        raise InvalidInput("year", f"must be a whole number from {first} to {last} for {kind}")
    band = next(b for b in bands if b.first <= year <= b.last)
    description = EVENTS["annuity"].format(year=year)
    return FeeLine(f"annuity.year_{year}", description, 1, band.amount, band.amount)


def _reduction_line(version: _Version, applicant_type: str, subtotal: Decimal) -> FeeLine | None:
    percent = version.reductions.get(applicant_type)
    if not percent or not subtotal:
        return None
    off = (subtotal * percent / 100).quantize(KOPECK, rounding=ROUND_HALF_UP)
    description = f"Reduction for {APPLICANT_NAMES[applicant_type]}: {percent}%"
    return FeeLine(f"reduction.{applicant_type}", description, 1, -off, -off)


# --- checking a request ---------------------------------------------------------------


def _check_choice(value: object, field: str, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise InvalidInput(field, f"must be one of {', '.join(choices)}")
    return value


def _check_counts(kind: str, **counts: object) -> dict[str, int]:
    checked: dict[str, int] = {}
    for field, value in counts.items():
        if not _is_int(value) or not 0 <= value <= MAX_COUNT:
            raise InvalidInput(field, f"must be a whole number from 0 to {MAX_COUNT}")
        checked[field] = value
    counted = COUNTED[kind]
    if checked[counted] < 1:
        raise InvalidInput(counted, f"must be at least 1 for {kind}")
    if kind == "trademark" and checked["classes"] > MAX_NICE_CLASSES:
        raise InvalidInput("classes", f"must be at most {MAX_NICE_CLASSES} (the Nice classes)")
    return checked


def _check_events(events: object, kind: str, version: _Version) -> list[str]:
    if isinstance(events, str) or not isinstance(events, Sequence) or not events:
        raise InvalidInput("events", "must list at least one event")
    applicable = version.events(kind)
    seen: set[str] = set()
    for i, event in enumerate(events):
        field = f"events[{i}]"
        if not isinstance(event, str) or event not in EVENTS:
            raise InvalidInput(field, f"unknown event {event!r}; known: {', '.join(EVENTS)}")
        if event not in applicable:
            hint = " (a trademark is renewed: use renewal)" if event == "annuity" else ""
            raise InvalidInput(
                field, f"{event} does not apply to {kind}{hint}; it takes {', '.join(applicable)}"
            )
        if event in seen:
            raise InvalidInput(field, f"{event} is listed twice")
        seen.add(event)
    return list(events)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


# --- reading the file ---------------------------------------------------------------


class _BadSchedule(Exception):
    """A schedule file that does not follow the format (the message names the place)."""


def _parse_schedule(data: Mapping[str, Any]) -> FeeSchedule:
    if data.get("format") != 1:
        raise _BadSchedule("format: must be 1")
    currency = data.get("currency")
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isupper():
        raise _BadSchedule("currency: must be an ISO 4217 code such as RUB")
    raw = data.get("versions")
    if not isinstance(raw, list) or not raw:
        raise _BadSchedule("versions: must list at least one version")
    versions = [_parse_version(v, f"versions[{i}]") for i, v in enumerate(raw)]
    for i in range(1, len(versions)):
        if versions[i].effective_from <= versions[i - 1].effective_from:
            raise _BadSchedule(f"versions[{i}].effective_from: must be after the previous one")
    if len({v.id for v in versions}) != len(versions):
        raise _BadSchedule("versions: ids must be unique")
    return FeeSchedule(currency, versions)


def _parse_version(raw: object, where: str) -> _Version:
    if not isinstance(raw, dict):
        raise _BadSchedule(f"{where}: must be a table")
    version_id, effective = raw.get("id"), raw.get("effective_from")
    if not isinstance(version_id, str) or not version_id:
        raise _BadSchedule(f"{where}.id: must be a non-empty string")
    if isinstance(effective, datetime) or not isinstance(effective, date):
        raise _BadSchedule(f"{where}.effective_from: must be a date")
    reductions = raw.get("reductions", {})
    if not isinstance(reductions, dict) or not set(reductions) <= set(APPLICANT_TYPES):
        raise _BadSchedule(f"{where}.reductions: keys must be among {APPLICANT_TYPES}")
    fees: dict[str, dict[str, _Fee]] = {}
    annuities: dict[str, tuple[_Band, ...]] = {}
    for kind in KINDS:
        table = raw.get(kind)
        if not isinstance(table, dict) or "filing" not in table:
            raise _BadSchedule(f"{where}.{kind}: must be a table with at least a filing fee")
        bands = table.get("annuity")
        if bands is not None:
            annuities[kind] = _parse_bands(bands, f"{where}.{kind}.annuity")
        fees[kind] = {
            event: _parse_fee(kind, fee, f"{where}.{kind}.{event}")
            for event, fee in table.items()
            if event != "annuity"
        }
    return _Version(
        id=version_id,
        effective_from=effective,
        reductions={
            key: _percent(value, f"{where}.reductions.{key}") for key, value in reductions.items()
        },
        fees=fees,
        annuities=annuities,
    )


def _parse_fee(kind: str, raw: object, where: str) -> _Fee:
    event = where.rsplit(".", 1)[1]
    if event not in EVENTS or event == "annuity":
        raise _BadSchedule(f"{where}: unknown event; known: {', '.join(EVENTS)}")
    if not isinstance(raw, dict) or not set(raw) <= {"amount", "per", "over", "each"}:
        raise _BadSchedule(f"{where}: must be {{amount, per?, over?, each?}}")
    fee = _Fee(amount=_money(raw.get("amount"), f"{where}.amount"))
    if "per" not in raw:
        return fee
    per, over = raw["per"], raw.get("over", 0)
    if per not in UNITS or UNITS[per] != COUNTED[kind]:
        raise _BadSchedule(f"{where}.per: {kind} is counted in {COUNTED[kind]}")
    if not _is_int(over) or over < 0:
        raise _BadSchedule(f"{where}.over: must be a whole number, 0 or more")
    return _Fee(fee.amount, per, over, _money(raw.get("each"), f"{where}.each"))


def _parse_bands(raw: object, where: str) -> tuple[_Band, ...]:
    if not isinstance(raw, list) or not raw:
        raise _BadSchedule(f"{where}: must list bands {{from, to, amount}}")
    bands: list[_Band] = []
    for i, band in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(band, dict):
            raise _BadSchedule(f"{at}: must be {{from, to, amount}}")
        first, last = band.get("from"), band.get("to")
        expected = bands[-1].last + 1 if bands else first
        if not _is_int(first) or not _is_int(last) or first != expected or last < first:
            raise _BadSchedule(f"{at}: years must follow on from the previous band, from <= to")
        bands.append(_Band(first, last, _money(band.get("amount"), f"{at}.amount")))
    return tuple(bands)


def _money(value: object, where: str) -> Decimal:
    """A non-negative amount with at most two decimals, from a string or an integer."""
    if not isinstance(value, str) and not _is_int(value):
        raise _BadSchedule(f'{where}: must be a string such as "3300.00" (never a float)')
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise _BadSchedule(f"{where}: {value!r} is not a number") from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(KOPECK):
        raise _BadSchedule(f"{where}: must be 0 or more with at most two decimals")
    return amount.quantize(KOPECK)


def _percent(value: object, where: str) -> Decimal:
    """A percentage from 0 to 100, from a string or an integer."""
    try:
        percent = Decimal(str(value)) if isinstance(value, str) or _is_int(value) else None
    except InvalidOperation:
        percent = None
    if percent is None or not percent.is_finite() or not 0 <= percent <= 100:
        raise _BadSchedule(f'{where}: must be a percentage from 0 to 100, such as "50"')
    return percent


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


__all__ = [
    "APPLICANT_TYPES",
    "DEFAULT_SCHEDULE",
    "EVENTS",
    "KINDS",
    "OFFICE_TIME",
    "FeeLine",
    "FeeSchedule",
    "Quote",
    "office_date",
]
