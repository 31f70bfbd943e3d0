"""Rebuild demo/patents.jsonl from the shared real-data folder (run once; the output ships).

Usage: python tools/make_demo.py ../shared/data/text/patents demo/patents.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def titles(path: Path) -> list[dict[str, object]]:
    docs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        fields = {
            "kind": "title",
            "country": "US",
            "title": row["patent_title"],
            "technology_center": row["technology_center"],
            "tc_description": row["tc_description"],
            "art_unit": row["art_unit"],
            "filing_date": row["filing_date"],
            "status": row["status"],
        }
        if row.get("patent_number"):
            fields["patent_number"] = row["patent_number"]
        docs.append(
            {
                "id": f"US{row['application_number']}",
                "content": {"text": row["patent_title"]},
                "fields": fields,
            }
        )
    return docs


def full_texts(path: Path) -> list[dict[str, object]]:
    docs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        parts = [row["title"], row["abstract"], *row["description_paragraphs"]]
        claims = row["claims"]
        parts += [c if isinstance(c, str) else json.dumps(c) for c in claims]
        docs.append(
            {
                "id": f"US{row['application_number']}-full",
                "content": {"text": "\n\n".join(parts)},
                "fields": {"kind": "full_text", "country": "US", "title": row["title"]},
            }
        )
    return docs


def main() -> None:
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    docs = titles(source / "us_application_titles.jsonl") + full_texts(
        source / "us_applications_fulltext.jsonl"
    )
    with target.open("w", encoding="utf-8") as out:
        for doc in docs:
            out.write(json.dumps(doc, ensure_ascii=False) + "\n")
    print(f"wrote {len(docs)} documents to {target}")


if __name__ == "__main__":
    main()
