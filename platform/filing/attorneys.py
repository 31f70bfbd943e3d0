"""The register of patent attorneys, in SQL, and its search (issue 9).

A record: ``registration_number`` (unique; 1-32 letters, digits, ``.`` or ``-``), ``name``,
``region``, ``specializations``, ``languages``, ``status`` (active | suspended | revoked),
optional ``email`` and ``phone``, and ``demo`` (true for generated demonstration records).

Why the choices:

- ``region`` is the ISO 3166-2:RU code of the federal subject (``RU-MOW``, ``RU-SPE``,
  ``RU-NVS``): stable, language-neutral and short; the answer adds ``region_name`` in Russian.
  A search accepts the code in any case or the Russian name. The table is the 83 subdivisions
  ISO 3166-2:RU lists.
- Name search must fold Cyrillic case on both backends, and SQLite's ``lower()`` folds ASCII
  only: so each record stores ``name_folded`` (NFKC, ``str.casefold()``, ``ё`` → ``е`` as
  Russian readers do) and the query is folded the same way in Python. Every word of ``q`` must
  occur in the name (any order): ``петров иван`` finds "Иван Петров".
- Specialisations and languages come from small vocabularies, so they are stored as
  ``|a|b|`` strings and filtered with ``LIKE '%|a|%'``: portable, and a register of a few
  thousand rows needs no index for it.
- :meth:`AttorneyRegister.upsert_many` checks every record first (errors name
  ``records[i].field``), then writes them in one transaction with the dialect's
  ``INSERT … ON CONFLICT (registration_number) DO UPDATE``: a re-import or a second demo
  seeding updates rows in place and never duplicates one, even when two run at once.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    and_,
    func,
    select,
)

from ipsim.engine.errors import InvalidInput, NotFound
from ipsim.platform.database import upsert_statement, writer

SPECIALIZATIONS = (
    "inventions",
    "utility_models",
    "industrial_designs",
    "trademarks",
    "geographical_indications",
    "software_and_databases",
    "topologies",
)
STATUSES = ("active", "suspended", "revoked")
ANY_STATUS = "any"
MAX_NAME_CHARS = 200
MAX_QUERY_CHARS = 200
MAX_PAGE = 100
DEFAULT_PAGE = 20
_NUMBER = re.compile(r"[0-9A-Za-z][0-9A-Za-z.-]{0,31}")
_LANGUAGE = re.compile(r"[a-z]{2}")  # ISO 639-1
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9][0-9 ()-]{4,24}")

REGIONS = {
    "RU-AD": "Республика Адыгея",
    "RU-AL": "Республика Алтай",
    "RU-BA": "Республика Башкортостан",
    "RU-BU": "Республика Бурятия",
    "RU-CE": "Чеченская Республика",
    "RU-CU": "Чувашская Республика",
    "RU-DA": "Республика Дагестан",
    "RU-IN": "Республика Ингушетия",
    "RU-KB": "Кабардино-Балкарская Республика",
    "RU-KL": "Республика Калмыкия",
    "RU-KC": "Карачаево-Черкесская Республика",
    "RU-KR": "Республика Карелия",
    "RU-KK": "Республика Хакасия",
    "RU-KO": "Республика Коми",
    "RU-ME": "Республика Марий Эл",
    "RU-MO": "Республика Мордовия",
    "RU-SA": "Республика Саха (Якутия)",
    "RU-SE": "Республика Северная Осетия — Алания",
    "RU-TA": "Республика Татарстан",
    "RU-TY": "Республика Тыва",
    "RU-UD": "Удмуртская Республика",
    "RU-ALT": "Алтайский край",
    "RU-KAM": "Камчатский край",
    "RU-KHA": "Хабаровский край",
    "RU-KDA": "Краснодарский край",
    "RU-KYA": "Красноярский край",
    "RU-PER": "Пермский край",
    "RU-PRI": "Приморский край",
    "RU-STA": "Ставропольский край",
    "RU-ZAB": "Забайкальский край",
    "RU-AMU": "Амурская область",
    "RU-ARK": "Архангельская область",
    "RU-AST": "Астраханская область",
    "RU-BEL": "Белгородская область",
    "RU-BRY": "Брянская область",
    "RU-CHE": "Челябинская область",
    "RU-IRK": "Иркутская область",
    "RU-IVA": "Ивановская область",
    "RU-KGD": "Калининградская область",
    "RU-KLU": "Калужская область",
    "RU-KEM": "Кемеровская область",
    "RU-KIR": "Кировская область",
    "RU-KOS": "Костромская область",
    "RU-KGN": "Курганская область",
    "RU-KRS": "Курская область",
    "RU-LEN": "Ленинградская область",
    "RU-LIP": "Липецкая область",
    "RU-MAG": "Магаданская область",
    "RU-MOS": "Московская область",
    "RU-MUR": "Мурманская область",
    "RU-NIZ": "Нижегородская область",
    "RU-NGR": "Новгородская область",
    "RU-NVS": "Новосибирская область",
    "RU-OMS": "Омская область",
    "RU-ORE": "Оренбургская область",
    "RU-ORL": "Орловская область",
    "RU-PNZ": "Пензенская область",
    "RU-PSK": "Псковская область",
    "RU-ROS": "Ростовская область",
    "RU-RYA": "Рязанская область",
    "RU-SAK": "Сахалинская область",
    "RU-SAM": "Самарская область",
    "RU-SAR": "Саратовская область",
    "RU-SMO": "Смоленская область",
    "RU-SVE": "Свердловская область",
    "RU-TAM": "Тамбовская область",
    "RU-TOM": "Томская область",
    "RU-TUL": "Тульская область",
    "RU-TVE": "Тверская область",
    "RU-TYU": "Тюменская область",
    "RU-ULY": "Ульяновская область",
    "RU-VLA": "Владимирская область",
    "RU-VGG": "Волгоградская область",
    "RU-VLG": "Вологодская область",
    "RU-VOR": "Воронежская область",
    "RU-YAR": "Ярославская область",
    "RU-MOW": "Москва",
    "RU-SPE": "Санкт-Петербург",
    "RU-YEV": "Еврейская автономная область",
    "RU-CHU": "Чукотский автономный округ",
    "RU-KHM": "Ханты-Мансийский автономный округ — Югра",
    "RU-NEN": "Ненецкий автономный округ",
    "RU-YAN": "Ямало-Ненецкий автономный округ",
}
"""ISO 3166-2:RU code → the subject's name in Russian."""

metadata = MetaData()

attorneys_table = Table(
    "attorneys",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("registration_number", String(32), nullable=False, unique=True),
    Column("name", String(MAX_NAME_CHARS), nullable=False),
    Column("name_folded", String(MAX_NAME_CHARS), nullable=False, index=True),
    Column("region", String(8), nullable=False, index=True),
    Column("specializations", String(300), nullable=False),
    Column("languages", String(200), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("email", String(254)),
    Column("phone", String(32)),
    Column("demo", Boolean, nullable=False),
    Column("updated", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class Attorney:
    """One patent attorney of the register."""

    registration_number: str
    name: str
    region: str
    specializations: tuple[str, ...]
    languages: tuple[str, ...]
    status: str
    email: str | None = None
    phone: str | None = None
    demo: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "registration_number": self.registration_number,
            "name": self.name,
            "region": self.region,
            "region_name": REGIONS[self.region],
            "specializations": list(self.specializations),
            "languages": list(self.languages),
            "status": self.status,
            "email": self.email,
            "phone": self.phone,
            "demo": self.demo,
        }


class AttorneyRegister:
    """The attorney register in the platform database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)

    def upsert_many(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Insert or update (by registration number) every record in one transaction;
        how many were written. Nothing is written when any record is invalid."""
        checked = [check_record(r, f"records[{i}]") for i, r in enumerate(records)]
        numbers = [a.registration_number for a in checked]
        if len(set(numbers)) != len(numbers):
            twice = next(n for n in numbers if numbers.count(n) > 1)
            raise InvalidInput("records", f"registration number {twice} is listed twice")
        if not checked:
            return 0
        now = datetime.now(UTC)
        with self._writer.begin() as db:
            statement = upsert_statement(
                attorneys_table, db.dialect.name, "registration_number", fixed=("pk",)
            )
            db.execute(statement, [_row(a, now) for a in checked])
        return len(checked)

    def get(self, registration_number: str) -> Attorney:
        """The attorney with this number; ``NotFound`` otherwise."""
        number = check_registration_number(registration_number, "registration_number")
        with self._engine.connect() as db:
            row = db.execute(
                select(attorneys_table).where(attorneys_table.c.registration_number == number)
            ).first()
        if row is None:
            raise NotFound(f"no attorney with registration number {number}")
        return _attorney(row)

    def search(
        self,
        *,
        q: str | None = None,
        region: str | None = None,
        specialization: str | None = None,
        language: str | None = None,
        status: str = "active",
        offset: int = 0,
        limit: int = DEFAULT_PAGE,
    ) -> tuple[list[Attorney], int]:
        """A page of matching attorneys ordered by name, and how many match in all."""
        if not isinstance(offset, int) or offset < 0:
            raise InvalidInput("offset", "must be 0 or more")
        if not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
            raise InvalidInput("limit", f"must be from 1 to {MAX_PAGE}")
        where = and_(
            True, *_conditions(q, region, specialization, language, _check_status_filter(status))
        )
        table = attorneys_table
        with self._engine.connect() as db:
            total = db.execute(select(func.count()).select_from(table).where(where)).scalar_one()
            rows = db.execute(
                select(table)
                .where(where)
                .order_by(table.c.name_folded, table.c.registration_number)
                .offset(offset)
                .limit(limit)
            ).all()
        return [_attorney(row) for row in rows], total


# --- validation ---------------------------------------------------------------------


def fold(text: str) -> str:
    """The form names are compared in: NFKC, case-folded (Cyrillic too), ``ё`` as ``е``,
    single spaces."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    return " ".join(folded.split())


def check_region(value: object, field: str) -> str:
    """An ISO 3166-2:RU code (any case, ``RU-`` optional) or a Russian name → the code."""
    if isinstance(value, str):
        code = value.strip().upper()
        code = code if code.startswith("RU-") else f"RU-{code}"
        if code in REGIONS:
            return code
        by_name = _REGIONS_BY_NAME.get(fold(value))
        if by_name is not None:
            return by_name
    raise InvalidInput(field, "must be an ISO 3166-2:RU code such as RU-MOW, or a subject's name")


def check_registration_number(value: object, field: str) -> str:
    if not isinstance(value, str) or not _NUMBER.fullmatch(value):
        raise InvalidInput(field, "must be 1-32 letters, digits, '.' or '-'")
    return value


def check_record(record: object, field: str) -> Attorney:
    """A register record (a mapping as imported) checked into an :class:`Attorney`."""
    if not isinstance(record, Mapping):
        raise InvalidInput(field, "must be an object")
    known = {
        "registration_number",
        "name",
        "region",
        "specializations",
        "languages",
        "status",
        "email",
        "phone",
        "demo",
    }
    unknown = sorted(set(record) - known)
    if unknown:
        raise InvalidInput(f"{field}.{unknown[0]}", "unknown field")
    name = record.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
        raise InvalidInput(f"{field}.name", f"must be 1-{MAX_NAME_CHARS} characters, not blank")
    demo = record.get("demo", False)
    if not isinstance(demo, bool):
        raise InvalidInput(f"{field}.demo", "must be true or false")
    return Attorney(
        registration_number=check_registration_number(
            record.get("registration_number"), f"{field}.registration_number"
        ),
        name=" ".join(name.split()),
        region=check_region(record.get("region"), f"{field}.region"),
        specializations=_check_list(
            record.get("specializations"), f"{field}.specializations", _is_specialization
        ),
        languages=_check_list(record.get("languages"), f"{field}.languages", _is_language),
        status=_check_status(record.get("status", "active"), f"{field}.status"),
        email=_check_optional(record.get("email"), f"{field}.email", _EMAIL, 254),
        phone=_check_optional(record.get("phone"), f"{field}.phone", _PHONE, 32),
        demo=demo,
    )


def _check_list(value: object, field: str, valid: Callable[[object, str], str]) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise InvalidInput(field, "must be a non-empty list")
    return tuple(dict.fromkeys(valid(item, f"{field}[{i}]") for i, item in enumerate(value)))


def _is_specialization(value: object, field: str) -> str:
    if not isinstance(value, str) or value not in SPECIALIZATIONS:
        raise InvalidInput(field, f"must be one of {', '.join(SPECIALIZATIONS)}")
    return value


def _is_language(value: object, field: str) -> str:
    if not isinstance(value, str) or not _LANGUAGE.fullmatch(value):
        raise InvalidInput(field, "must be a two-letter ISO 639-1 code in lower case (ru, en…)")
    return value


def _check_status(value: object, field: str) -> str:
    if not isinstance(value, str) or value not in STATUSES:
        raise InvalidInput(field, f"must be one of {', '.join(STATUSES)}")
    return value


def _check_status_filter(value: object) -> str | None:
    """``None`` for any status."""
    if value == ANY_STATUS:
        return None
    if not isinstance(value, str) or value not in STATUSES:
        raise InvalidInput("status", f"must be one of {', '.join((*STATUSES, ANY_STATUS))}")
    return value


def _check_optional(value: object, field: str, pattern: re.Pattern[str], most: int) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > most or not pattern.fullmatch(value):
        raise InvalidInput(field, "is not a valid value")
    return value


def _check_query(q: str) -> list[str]:
    if len(q) > MAX_QUERY_CHARS:
        raise InvalidInput("q", f"must be at most {MAX_QUERY_CHARS} characters")
    if any(unicodedata.category(c) == "Cc" for c in q):
        raise InvalidInput("q", "must not contain control characters")
    return fold(q).split()


# --- SQL --------------------------------------------------------------------------------


def _conditions(
    q: str | None,
    region: str | None,
    specialization: str | None,
    language: str | None,
    status: str | None,
) -> list[ColumnElement[bool]]:
    table = attorneys_table
    conditions: list[ColumnElement[bool]] = [
        table.c.name_folded.like(_contains(word), escape="\\") for word in _words(q)
    ]
    if region is not None:
        conditions.append(table.c.region == check_region(region, "region"))
    if specialization is not None:
        item = _is_specialization(specialization, "specialization")
        conditions.append(table.c.specializations.like(_contains(_joined([item])), escape="\\"))
    if language is not None:
        item = _is_language(language, "language")
        conditions.append(table.c.languages.like(_contains(_joined([item])), escape="\\"))
    if status is not None:
        conditions.append(table.c.status == status)
    return conditions


def _words(q: str | None) -> list[str]:
    return [] if q is None else _check_query(q)


def _contains(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its wildcards escaped (``_`` is in
    ``utility_models``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _joined(items: Iterable[str]) -> str:
    return "|" + "|".join(items) + "|"


def _split(stored: str) -> tuple[str, ...]:
    return tuple(item for item in stored.split("|") if item)


def _row(attorney: Attorney, now: datetime) -> dict[str, Any]:
    return {
        "registration_number": attorney.registration_number,
        "name": attorney.name,
        "name_folded": fold(attorney.name),
        "region": attorney.region,
        "specializations": _joined(attorney.specializations),
        "languages": _joined(attorney.languages),
        "status": attorney.status,
        "email": attorney.email,
        "phone": attorney.phone,
        "demo": attorney.demo,
        "updated": now,
    }


def _attorney(row: Row[Any]) -> Attorney:
    return Attorney(
        registration_number=row.registration_number,
        name=row.name,
        region=row.region,
        specializations=_split(row.specializations),
        languages=_split(row.languages),
        status=row.status,
        email=row.email,
        phone=row.phone,
        demo=row.demo,
    )


# --- importing a register file ---------------------------------------------------------


def read_csv(path: Path) -> list[dict[str, Any]]:
    """Records from a register CSV (UTF-8, a header row naming the fields; specialisations
    and languages separated by ``;``), ready for :meth:`AttorneyRegister.upsert_many`."""
    with path.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file))
    records: list[dict[str, Any]] = []
    for row in rows:
        # A short row leaves None values; an over-long one a None key.
        record: dict[str, Any] = {k: v.strip() for k, v in row.items() if k and v and v.strip()}
        for key in ("specializations", "languages"):
            if key in record:
                record[key] = [item.strip() for item in record[key].split(";") if item.strip()]
        if "demo" in record:
            record["demo"] = record["demo"].lower() in ("1", "true", "yes")
        records.append(record)
    return records


_REGIONS_BY_NAME = {fold(name): code for code, name in REGIONS.items()}

__all__ = [
    "ANY_STATUS",
    "MAX_PAGE",
    "REGIONS",
    "SPECIALIZATIONS",
    "STATUSES",
    "Attorney",
    "AttorneyRegister",
    "attorneys_table",
    "check_record",
    "check_region",
    "check_registration_number",
    "fold",
    "metadata",
    "read_csv",
]
