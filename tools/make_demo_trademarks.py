"""Rebuild demo/trademarks.jsonl from the shared real-data folder (run once; the output ships).

Word marks: 1500 real English and 1500 real Russian words (seeded sample of the shared word
lists) plus a few number marks (PRO100, про сто, 4you, фор ю) to show cross-script search.
Figurative marks: the 215 Tango icons (public domain), with their icon names as the mark's
word when a name is a single word. Registers, statuses, Nice classes, Vienna codes, owners,
numbers and dates are ASSIGNED for the demo (seeded random), not real registrations.

Usage:
    python tools/make_demo_trademarks.py ../shared/data/trademarks demo/trademarks.jsonl
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import json
import random
import sys
from pathlib import Path

SEED = 20261126
WORDS_PER_LANGUAGE = 1500
NUMBER_MARKS = ("PRO100", "про сто", "4you", "фор ю", "Sto Let", "100 лет", "2GO", "ту гоу")
REGISTERS = ("ru", "ru", "ru", "international", "well_known")
STATUSES = ("registered", "registered", "registered", "pending", "expired")
VIENNA_BY_CATEGORY = {
    "actions": ["24.15.01", "24.15.03"],
    "apps": ["16.01.01", "16.01.17"],
    "categories": ["26.04.04", "26.04.24"],
    "devices": ["16.01.01", "14.01.05"],
    "emblems": ["24.01.03", "24.01.25"],
    "emotes": ["02.09.01", "02.01.01"],
    "mimetypes": ["20.05.01", "20.05.09"],
    "places": ["07.01.01", "16.01.03"],
    "status": ["24.17.01", "01.15.15"],
    "animations": ["26.01.01", "26.01.03"],
}
WORD_VIENNA = ["27.05.01", "27.05.02", "27.05.10", "27.07.01"]


def _fields(rng: random.Random, number: int, vienna: list[str]) -> dict[str, object]:
    filed = dt.date(2000, 1, 1) + dt.timedelta(days=rng.randrange(9000))
    return {
        "register": rng.choice(REGISTERS),
        "status": rng.choice(STATUSES),
        "nice_classes": sorted(rng.sample(range(1, 46), rng.randint(1, 3))),
        "vienna_codes": vienna,
        "owner": f"Demo Owner {rng.randint(1, 200)}",
        "number": str(700000 + number),
        "filed": filed.isoformat(),
    }


def documents(root: Path) -> list[dict[str, object]]:
    rng = random.Random(SEED)
    docs: list[dict[str, object]] = []
    words: list[str] = []
    for name in ("words_en_20k.txt", "words_ru_20k.txt"):
        lines = (root / name).read_text(encoding="utf-8").split()
        words += rng.sample(lines, WORDS_PER_LANGUAGE)
    for i, word in enumerate([*words, *NUMBER_MARKS]):
        fields = _fields(rng, i, [rng.choice(WORD_VIENNA)])
        docs.append({"id": f"w{i:05d}", "content": {"word": word}, "fields": fields})
    with (root / "icons_index.csv").open(encoding="utf-8") as f:
        icons = [row for row in csv.DictReader(f) if row["theme"] == "tango"]
    for i, row in enumerate(icons):
        image = base64.b64encode((root / row["path"]).read_bytes()).decode("ascii")
        content: dict[str, str] = {"image_b64": image}
        if "-" not in row["name"]:
            content["word"] = row["name"]
        fields = _fields(rng, 10000 + i, VIENNA_BY_CATEGORY[row["category"]])
        fields["icon"] = row["name"]
        docs.append({"id": f"f{i:04d}", "content": content, "fields": fields})
    return docs


def main() -> None:
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    with target.open("w", encoding="utf-8") as out:
        for doc in documents(source):
            out.write(json.dumps(doc, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
