"""Synthetic bibliographic records for the demo server: ~20,000 applications, 2010-2025.

Every record is marked ``synthetic=True``, ``source="demo"``, id ``DEMO-000001``…: the
dashboards and the README say so. The numbers are shaped like real patent statistics so the
panels look like something, and they are *not* statistics of anything:

- **Countries** (applicant's residence) weighted roughly like PCT filings in 2010 (US, JP, DE,
  CN, KR, FR, GB, …), each growing at its own yearly rate (CN fastest, then IN and KR; DE, GB
  slightly shrinking), so the mix of 2025 differs from 2010's. RU is weighted above its real
  PCT share (3 %): this is a demo for an office whose home series should be dense enough to chart.
- **Technology** per country: a world profile over the 35 WIPO fields (computer technology,
  digital communication, electrical machinery and medical technology largest), bent per
  country — KR and JP towards electrical engineering, DE towards mechanical engineering,
  RU towards chemistry and medical technology, US towards IT, medicine and biotechnology,
  SE towards telecommunications — and per field over time (computer technology, IT methods
  and batteries rising; telecommunications and textile machines falling).
- **Seasonality**: more filings in Q4 (the year-end rush), fewer in Q3.
- **Codes**: 1-4 IPC codes per application drawn from the concordance's own rules (a main
  group or a subclass of the chosen field, sometimes a second field), so the technology
  counts come out of the real concordance, not a shortcut.
- **Kind and status**: inventions, and utility models where the country has them; a status
  and publication date (18 months after filing for inventions) by age at :data:`AS_OF`.

Planted bursts (:data:`BURSTS`): extra filings in one quarter of one country and field, on
top of the trend, for the anomaly detector to find (and its tests to score):

====  =====  ====================================  ========  ==========================
 #    where  field                                 quarter   extra records (n=20,000)
====  =====  ====================================  ========  ==========================
 1    CN     4 Digital communication               2019-Q1   80
 2    KR     8 Semiconductors                      2018-Q3   60
 3    RU     16 Pharmaceuticals                    2020-Q2   40
 4    DE     32 Transport                          2022-Q4   50
====  =====  ====================================  ========  ==========================

Deterministic: the same ``(n, seed)`` gives the same records, byte for byte, on every
machine (:class:`random.Random` with an integer seed), which is what makes
:func:`seed_demo` idempotent.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from ipsim.platform.bi.concordance import Concordance
from ipsim.platform.bi.records import BiRecordStore

DEMO_SIZE = 20_000
DEMO_SEED = 20_100_101
SOURCE = "demo"
FIRST_YEAR, LAST_YEAR = 2010, 2025
AS_OF = date(LAST_YEAR, 12, 31)
"""The day the demo data describe: statuses and publications are as of then."""
QUARTER_SHARE = (0.23, 0.24, 0.22, 0.31)


@dataclass(frozen=True)
class Country:
    """How one country files: its 2010 weight, yearly growth, technology bias, utility models."""

    code: str
    weight: float
    growth: float
    bias: dict[int, float]
    utility_models: float = 0.0


@dataclass(frozen=True)
class Burst:
    """A planted anomaly: ``share`` × n extra records in one quarter, country and field."""

    country: str
    field: int
    year: int
    quarter: int
    share: float

    @property
    def period(self) -> str:
        return f"{self.year}-Q{self.quarter}"

    def size(self, n: int) -> int:
        return round(self.share * n)


def _bias(fields: Sequence[int] | range, factor: float) -> dict[int, float]:
    return dict.fromkeys(fields, factor)


ELECTRICAL, INSTRUMENTS = range(1, 9), range(9, 14)
CHEMISTRY, MECHANICAL = range(14, 25), range(25, 33)

# World profile: rough shares (%) of the 35 fields in international filings, for shape only.
FIELD_WEIGHTS: dict[int, float] = {
    1: 7.0, 2: 3.2, 3: 2.2, 4: 8.0, 5: 1.1, 6: 9.5, 7: 2.5, 8: 3.2, 9: 2.3, 10: 4.5,
    11: 0.8, 12: 2.0, 13: 6.8, 14: 2.6, 15: 3.3, 16: 4.5, 17: 1.8, 18: 1.2, 19: 2.2,
    20: 1.6, 21: 1.5, 22: 0.2, 23: 2.1, 24: 1.2, 25: 2.2, 26: 1.8, 27: 1.9, 28: 1.2,
    29: 2.3, 30: 1.5, 31: 2.1, 32: 3.6, 33: 2.4, 34: 2.2, 35: 3.0,
}  # fmt: skip
FIELD_TRENDS: dict[int, float] = {1: 0.03, 2: -0.01, 3: -0.03, 4: 0.03, 6: 0.04, 7: 0.05,
                                  8: 0.02, 13: 0.02, 15: 0.02, 20: -0.01, 28: -0.03}  # fmt: skip
"""Yearly growth of a field's weight, everywhere."""

COUNTRIES: tuple[Country, ...] = (
    Country("US", 27.0, 0.00, {6: 1.6, 7: 1.6, 13: 1.5, 15: 1.5, 16: 1.5}),
    Country("JP", 19.0, 0.02, {**_bias(ELECTRICAL, 1.5), 9: 1.5, 20: 1.3, 21: 1.3}, 0.05),
    Country("DE", 11.0, -0.005, {**_bias(MECHANICAL, 2.2), 10: 1.3, 12: 1.3}, 0.10),
    Country("CN", 7.5, 0.14, {4: 1.5, 6: 1.5, 7: 1.5, 1: 1.3}, 0.30),
    Country("KR", 5.8, 0.05, _bias(ELECTRICAL, 1.8), 0.10),
    Country("FR", 4.3, 0.00, {32: 1.8, 27: 1.5, 16: 1.3}),
    Country("GB", 3.0, -0.005, {15: 1.5, 16: 1.5}),
    Country("RU", 3.0, 0.01, {**_bias(CHEMISTRY, 2.0), 13: 2.0, 35: 1.5, 4: 0.5, 6: 0.5}, 0.25),
    Country("NL", 2.5, 0.00, {9: 1.5, 13: 1.5, 18: 1.5}),
    Country("CH", 2.3, 0.02, {13: 1.6, 16: 1.6, 18: 1.6, 10: 1.4}),
    Country("SE", 2.0, 0.01, {3: 2.0, 4: 2.0}),
    Country("IT", 1.8, 0.01, {29: 1.6, 34: 1.6, 32: 1.3}, 0.05),
    Country("IN", 0.8, 0.08, {6: 1.8, 7: 1.8, 16: 1.8}),
    Country("CA", 1.6, 0.00, {13: 1.3, 35: 1.3}),
    Country("IL", 1.0, 0.03, {6: 1.5, 13: 1.5}),
    Country("FI", 1.2, -0.01, {3: 1.8, 4: 1.8, 28: 1.8}),
)

BURSTS: tuple[Burst, ...] = (
    Burst("CN", 4, 2019, 1, 0.004),
    Burst("KR", 8, 2018, 3, 0.003),
    Burst("RU", 16, 2020, 2, 0.002),
    Burst("DE", 32, 2022, 4, 0.0025),
)

_MAIN_GROUPS = (1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31, 33)
_SUBGROUPS = ("00", "00", "02", "04", "06", "08", "10", "12", "14", "16", "20", "30")
_H10_SUBCLASSES = ("H10B", "H10K", "H10N")


def generate(n: int = DEMO_SIZE, seed: int = DEMO_SEED) -> list[dict[str, Any]]:
    """``n`` synthetic records (bursts included), ready for :meth:`BiRecordStore.upsert_many`."""
    if n < 1:
        raise ValueError("n must be positive")
    rng = random.Random(seed)
    rules = _rules_by_field(Concordance.load())
    bursts = [(b, b.size(n)) for b in BURSTS]
    base = n - sum(size for _, size in bursts)
    cells, cell_weights = _country_years()
    drafts: list[tuple[date, Country, int]] = []
    for country, year in rng.choices(cells, cell_weights, k=base):
        quarter = rng.choices((1, 2, 3, 4), QUARTER_SHARE)[0]
        drafts.append((_day(rng, year, quarter), country, _field(rng, country, year)))
    by_code = {c.code: c for c in COUNTRIES}
    for burst, size in bursts:
        for _ in range(size):
            drafts.append(
                (_day(rng, burst.year, burst.quarter), by_code[burst.country], burst.field)
            )
    drafts.sort(key=lambda draft: (draft[0], draft[1].code, draft[2]))
    return [
        _record(rng, f"DEMO-{i:06d}", filed, country, field, rules)
        for i, (filed, country, field) in enumerate(drafts, start=1)
    ]


def seed_demo(store: BiRecordStore, n: int = DEMO_SIZE, seed: int = DEMO_SEED) -> int:
    """Load the demo records unless every one is already there; how many were written.

    A second start of the demo server writes nothing (so the analytical store has nothing
    to refresh); a partial or older demo set is upserted over."""
    records = generate(n, seed)
    if store.ids(source=SOURCE) >= {r["id"] for r in records}:
        return 0
    return store.upsert_many(records, source=SOURCE)


def _country_years() -> tuple[list[tuple[Country, int]], list[float]]:
    cells = [(c, y) for c in COUNTRIES for y in range(FIRST_YEAR, LAST_YEAR + 1)]
    weights = [c.weight * (1 + c.growth) ** (y - FIRST_YEAR) for c, y in cells]
    return cells, weights


def _field(rng: random.Random, country: Country, year: int) -> int:
    fields = list(FIELD_WEIGHTS)
    weights = [
        FIELD_WEIGHTS[f]
        * country.bias.get(f, 1.0)
        * (1 + FIELD_TRENDS.get(f, 0.0)) ** (year - FIRST_YEAR)
        for f in fields
    ]
    return rng.choices(fields, weights)[0]


def _day(rng: random.Random, year: int, quarter: int) -> date:
    start = date(year, 3 * quarter - 2, 1)
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return start + timedelta(days=rng.randrange((end - start).days))


def _rules_by_field(concordance: Concordance) -> dict[int, list[str]]:
    rules: dict[int, list[str]] = {}
    for rule, field in sorted(concordance.rules.items()):
        rules.setdefault(field, []).append(rule)
    return rules


def _code(rng: random.Random, rule: str) -> str:
    """An IPC code under a concordance rule (a class, subclass or main-group prefix)."""
    subgroup = rng.choice(_SUBGROUPS)
    if " " in rule:  # a main group: "A61K 31"
        return f"{rule}/{subgroup}"
    subclass = rng.choice(_H10_SUBCLASSES) if len(rule) == 3 else rule
    return f"{subclass} {rng.choice(_MAIN_GROUPS)}/{subgroup}"


def _codes(
    rng: random.Random, field: int, country: Country, year: int, rules: dict[int, list[str]]
) -> list[str]:
    first = rng.choice(rules[field])
    codes = [_code(rng, first)]
    if rng.random() < 0.45:  # a second code in the same field, often the same subclass
        codes.append(_code(rng, first if rng.random() < 0.6 else rng.choice(rules[field])))
    if rng.random() < 0.25:  # and sometimes one in a neighbouring technology
        codes.append(_code(rng, rng.choice(rules[_field(rng, country, year)])))
    return list(dict.fromkeys(codes))


def _record(
    rng: random.Random,
    record_id: str,
    filed: date,
    country: Country,
    field: int,
    rules: dict[int, list[str]],
) -> dict[str, Any]:
    kind = "utility_model" if rng.random() < country.utility_models else "invention"
    status, published = _status(rng, kind, filed)
    return {
        "id": record_id,
        "kind": kind,
        "country": country.code,
        "filing_date": filed.isoformat(),
        "publication_date": published and published.isoformat(),
        "ipc": _codes(rng, field, country, filed.year, rules),
        "status": status,
        "source": SOURCE,
        "synthetic": True,
    }


def _status(rng: random.Random, kind: str, filed: date) -> tuple[str, date | None]:
    """Status and publication date as of :data:`AS_OF`; utility models move twice as fast."""
    years = (AS_OF - filed).days / 365.25 * (2 if kind == "utility_model" else 1)
    if years < 0.25:
        status = "formal_examination"
    elif years < 2:
        status = "search" if kind == "invention" else "substantive_examination"
    elif years < 4:
        status = rng.choices(
            ("substantive_examination", "granted", "withdrawn", "refused"), (60, 25, 10, 5)
        )[0]
    else:
        status = rng.choices(
            ("granted", "withdrawn", "refused", "substantive_examination"), (62, 20, 10, 8)
        )[0]
    if kind == "invention":
        published: date | None = filed + timedelta(days=548 + rng.randrange(30))
    else:  # a utility model is published when it is granted
        published = (
            filed + timedelta(days=180 + rng.randrange(360)) if status == "granted" else None
        )
    return status, published if published is not None and published <= AS_OF else None


__all__ = [
    "AS_OF",
    "BURSTS",
    "COUNTRIES",
    "DEMO_SEED",
    "DEMO_SIZE",
    "SOURCE",
    "Burst",
    "Country",
    "generate",
    "seed_demo",
]
