"""A generated demonstration register of patent attorneys: DEMO DATA, not real people.

``ipsim serve --demo`` (``make serve``) seeds it so the attorney search has something to find.
Every record is flagged ``demo: true``, its registration number starts with ``DEMO-`` (real
register numbers are digits, so the two never collide) and its e-mail is at ``demo.example``
(a domain reserved by RFC 2606). The names are random combinations of common Russian given
names, patronymics and surnames (in Cyrillic, with the feminine surname forms) and, for about
a fifth of the records, of Latin-script names; any match with a real person is chance.

The generator is a seeded :class:`random.Random`, so the same ``count`` and ``seed`` always give
the same records: seeding twice upserts the same registration numbers and duplicates nothing.
"""

from __future__ import annotations

import random
import unicodedata
from typing import Any

from ipsim.platform.filing.attorneys import SPECIALIZATIONS, AttorneyRegister

DEMO_COUNT = 200
DEMO_SEED = 9
DEMO_DOMAIN = "demo.example"

_MALE = ["Александр", "Алексей", "Андрей", "Дмитрий", "Иван", "Михаил", "Николай", "Павел",
         "Сергей", "Юрий", "Олег", "Владимир", "Артём", "Фёдор", "Григорий", "Евгений"]  # fmt: skip
_FEMALE = ["Анна", "Екатерина", "Елена", "Ирина", "Мария", "Наталья", "Ольга", "Светлана",
           "Татьяна", "Юлия", "Алёна", "Дарья", "Ксения", "Людмила", "Вера", "Софья"]  # fmt: skip
_FATHERS = ["Александр", "Алексей", "Андрей", "Дмитрий", "Иван", "Михаил", "Николай",
            "Павел", "Сергей", "Юрий", "Олег", "Владимир", "Пётр", "Фёдор", "Борис"]  # fmt: skip
# Surnames whose feminine form adds "а" (Иванов → Иванова) or "ая" (…ский → …ская).
_SURNAMES = ["Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов",
             "Михайлов", "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев",
             "Семёнов", "Егоров", "Павлов", "Козлов", "Степанов", "Николаев", "Орлов",
             "Андреев", "Макаров", "Никитин", "Захаров", "Зайцев", "Соловьёв", "Борисов",
             "Яковлев", "Григорьев", "Романов", "Воробьёв", "Сергеев", "Кузьмин", "Фролов",
             "Александров", "Королёв", "Гусев", "Киселёв", "Ильин", "Максимов", "Поляков",
             "Сорокин", "Виноградов", "Ковалёв", "Белов", "Медведев", "Антонов", "Тарасов",
             "Жуков", "Баранов", "Филиппов", "Комаров", "Давыдов", "Беляев", "Герасимов",
             "Богданов", "Осипов", "Сидоров", "Матвеев", "Титов", "Марков", "Миронов",
             "Крылов", "Куликов", "Карпов", "Власов", "Мельников", "Денисов", "Гаврилов",
             "Тихонов", "Казаков", "Афанасьев", "Данилов", "Савельев", "Тимофеев", "Фомин",
             "Чернов", "Абрамов", "Мартынов", "Ефимов", "Федотов", "Щербаков", "Назаров",
             "Калинин", "Исаев", "Чернышёв", "Быков", "Маслов", "Родионов", "Коновалов",
             "Лазарев", "Воронин", "Климов", "Филатов", "Пономарёв", "Голубев", "Кудрявцев",
             "Прохоров", "Наумов", "Потапов", "Журавлёв", "Овчинников", "Трофимов",
             "Леонов", "Соболев", "Ермаков", "Колесников", "Гончаров", "Емельянов",
             "Никифоров", "Грачёв", "Котов", "Гришин", "Ефремов", "Архипов", "Громов",
             "Кириллов", "Малышев", "Панов", "Моисеев", "Румянцев", "Акимов", "Кондратьев",
             "Бирюков", "Горбунов", "Анисимов", "Ерёмин", "Тихомиров", "Галкин",
             "Лукьянов", "Михеев", "Скворцов", "Юдин", "Белоусов", "Нестеров", "Симонов",
             "Прокофьев", "Харитонов", "Князев", "Цветков", "Левин", "Митрофанов",
             "Воронов", "Аксёнов", "Софронов", "Мальцев", "Логинов", "Горшков", "Савин",
             "Краснов", "Майоров", "Демидов", "Елисеев", "Рыбаков", "Сафонов", "Плотников",
             "Демин", "Хохлов", "Жданов", "Руднев", "Тарновский", "Вишневский",
             "Ковальский", "Литвинский", "Островский", "Покровский", "Успенский",
             "Преображенский", "Рождественский", "Вознесенский"]  # fmt: skip
_LATIN_GIVEN = ["Anna", "Maria", "Elena", "Sophie", "Laura", "Julia", "Alexander", "Michael",
                "Thomas", "David", "Peter", "Daniel", "Martin", "Andrea", "Lukas",
                "Nikolai"]  # fmt: skip
_LATIN_FAMILY = ["Schmidt", "Müller", "Weber", "Fischer", "Novak", "Kowalski", "Rossi",
                 "Bianchi", "Martin", "Bernard", "Dubois", "Smith", "Brown", "Wilson",
                 "Ivanov", "Petrova", "Sokolov", "Kuznetsova", "Orlov", "Volkova",
                 "García", "Fernández", "Jensen", "Nielsen", "Lindqvist", "Horváth"]  # fmt: skip
_REGIONS = [("RU-MOW", 40), ("RU-SPE", 16), ("RU-MOS", 8), ("RU-NVS", 4), ("RU-SVE", 4),
            ("RU-TA", 4), ("RU-NIZ", 3), ("RU-SAM", 3), ("RU-ROS", 3), ("RU-KDA", 3),
            ("RU-BA", 2), ("RU-CHE", 2), ("RU-PER", 2), ("RU-VOR", 2), ("RU-TOM", 2),
            ("RU-KYA", 2), ("RU-IRK", 1), ("RU-PRI", 1), ("RU-KHA", 1), ("RU-YAR", 1),
            ("RU-KGD", 1), ("RU-TUL", 1), ("RU-OMS", 1), ("RU-SAR", 1), ("RU-UD", 1)]  # fmt: skip
_SPECIALIZATION_WEIGHTS = [6, 4, 3, 6, 1, 2, 1]  # in the order of SPECIALIZATIONS
_LANGUAGES = [("en", 45), ("de", 10), ("fr", 6), ("zh", 5), ("es", 3), ("it", 2), ("ja", 2)]
_IRREGULAR_STEMS = {"Павел": "Павло", "Пётр": "Петро", "Юрий": "Юрье", "Михаил": "Михайло"}
_AREA_CODES = {"RU-MOW": "495", "RU-SPE": "812", "RU-MOS": "498", "RU-NVS": "383"}
_STATUSES = [("active", 90), ("suspended", 6), ("revoked", 4)]
_LATIN_OF_CYRILLIC = ("a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n",
                      "o", "p", "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y",
                      "", "e", "yu", "ya")  # fmt: skip
_TRANSLIT = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя", _LATIN_OF_CYRILLIC, strict=True))


def generate(count: int = DEMO_COUNT, seed: int = DEMO_SEED) -> list[dict[str, Any]]:
    """``count`` demo records (``demo: true``), the same ones for the same ``seed``."""
    rng = random.Random(seed)
    return [_record(rng, i + 1) for i in range(count)]


def seed_demo_register(register: AttorneyRegister) -> int:
    """Upsert the demo register (idempotent: the same numbers each time); how many records."""
    return register.upsert_many(generate())


def _record(rng: random.Random, serial: int) -> dict[str, Any]:
    latin = rng.random() < 0.2
    given, family, name = _latin_name(rng) if latin else _russian_name(rng)
    region = _weighted(rng, _REGIONS)
    specializations = rng.sample(
        SPECIALIZATIONS, k=rng.choice((1, 1, 2, 2, 3)), counts=_SPECIALIZATION_WEIGHTS
    )
    languages = ["ru", *sorted({_weighted(rng, _LANGUAGES) for _ in range(rng.randint(0, 2))})]
    if latin:
        languages = ["en", *[lang for lang in languages if lang != "en"]]
    return {
        "registration_number": f"DEMO-{serial:04d}",
        "name": name,
        "region": region,
        "specializations": list(dict.fromkeys(specializations)),
        "languages": languages,
        "status": _weighted(rng, _STATUSES),
        "email": f"{_ascii(given)[:1]}.{_ascii(family)}{serial}@{DEMO_DOMAIN}",
        "phone": _phone(rng, region) if rng.random() < 0.8 else None,
        "demo": True,
    }


def _russian_name(rng: random.Random) -> tuple[str, str, str]:
    """``(given, surname, full name)``, the full name surname first as in the register."""
    female = rng.random() < 0.45
    given = rng.choice(_FEMALE if female else _MALE)
    surname = rng.choice(_SURNAMES)
    father = rng.choice(_FATHERS)
    if female:
        surname = surname[:-2] + "ая" if surname.endswith("ий") else surname + "а"
    return given, surname, f"{surname} {given} {_patronymic(father, female)}"


def _patronymic(father: str, female: bool) -> str:
    if father in _IRREGULAR_STEMS:
        stem = _IRREGULAR_STEMS[father]
    elif father.endswith("й"):  # Николай → Николаевич / Николаевна
        stem = father[:-1] + "е"
    else:
        stem = father + "о"
    return stem + ("вна" if female else "вич")


def _latin_name(rng: random.Random) -> tuple[str, str, str]:
    given, family = rng.choice(_LATIN_GIVEN), rng.choice(_LATIN_FAMILY)
    return given, family, f"{given} {family}"


def _phone(rng: random.Random, region: str) -> str:
    area = _AREA_CODES.get(region, str(rng.randint(300, 499)))
    # 555-01xx: a block reserved for fiction, as in the North American plan.
    return f"+7 ({area}) 555-01-{rng.randint(0, 99):02d}"


def _weighted(rng: random.Random, choices: list[tuple[str, int]]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def _ascii(text: str) -> str:
    """Lower-case ASCII for an e-mail: Cyrillic transliterated, accents dropped (ü → u)."""
    letters = "".join(_TRANSLIT.get(c, c) for c in text.lower())
    return "".join(c for c in unicodedata.normalize("NFKD", letters) if c.isascii() and c.isalnum())


__all__ = ["DEMO_COUNT", "DEMO_DOMAIN", "DEMO_SEED", "generate", "seed_demo_register"]
