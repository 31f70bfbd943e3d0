"""Copy a sample of the shared real meshes into ``demo/meshes/`` for the ``designs`` demo.

Usage: ``python tools/make_demo_meshes.py ../shared/data/mesh demo/meshes``

Keeps every mesh of the families (variants of one object: the near-duplicate cases), and
the other labelled shapes except test fixtures, primitives and invalid files, each at most
``MAX_BYTES``; writes ``labels.csv`` (``path,source,class,family,licence``) beside them.
"""

from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path

MAX_BYTES = 200_000
LEFT_OUT = ("test_fixture", "invalid_input")
LICENCES = {
    "cgal": "CGAL example data (Debian libcgal-demo 5.5.1); GPL-3+/LGPL-3+",
    "assimp": "assimp test models (Debian assimp-testmodels 5.2.5); BSD-3-Clause",
}


def main(source: Path, target: Path) -> None:
    rows = list(csv.DictReader((source / "labels.csv").open(encoding="utf-8")))
    chosen = [
        row
        for row in rows
        if (row["family"] or row["class"] not in (*LEFT_OUT, "geometric_primitive"))
        and row["class"] not in LEFT_OUT
        and (source / row["path"]).stat().st_size <= MAX_BYTES
    ]
    for row in chosen:
        destination = target / row["path"]
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / row["path"], destination)
    with (target / "labels.csv").open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["path", "source", "class", "family", "licence"])
        for row in chosen:
            licence = LICENCES[row["source"]]
            writer.writerow([row["path"], row["source"], row["class"], row["family"], licence])
    total = sum((target / row["path"]).stat().st_size for row in chosen)
    print(f"{len(chosen)} meshes, {total / 1e6:.1f} MB → {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
