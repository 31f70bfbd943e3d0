"""Rebuild demo/chemicals.jsonl from the shared real-data folder (run once; the output ships).

The NCI structures RDKit sanitises (4991 of the first 5000; the rest have valence errors),
plus a handful of well-known drugs (PubChem isomeric SMILES) as recognisable queries.

Usage:
    python tools/make_demo_chemicals.py ../shared/data/chemistry/nci_first_5K.smi \
        demo/chemicals.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rdkit import Chem, RDLogger

DRUGS = {
    "caffeine": "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",
    "aspirin": "CC(=O)OC1=CC=CC=C1C(=O)O",
    "paracetamol": "CC(=O)NC1=CC=C(C=C1)O",
    "ibuprofen": "CC(C)CC1=CC=C(C=C1)C(C)C(=O)O",
    "penicillin-g": "CC1([C@@H](N2[C@H](S1)[C@@H](C2=O)NC(=O)CC3=CC=CC=C3)C(=O)O)C",
    "testosterone": "C[C@]12CC[C@H]3[C@H]([C@@H]1CC[C@@H]2O)CCC4=CC(=O)CC[C@]34C",
    "theophylline": "CN1C2=C(C(=O)N(C1=O)C)NC=N2",
    "theobromine": "CN1C=NC2=C1C(=O)NC(=O)N2C",
}


def documents(smi: Path) -> list[dict[str, object]]:
    RDLogger.DisableLog("rdApp.*")
    docs: list[dict[str, object]] = []
    for line in smi.read_text(encoding="utf-8").splitlines():
        smiles, nsc = line.split()[:2]
        mol = Chem.MolFromSmiles(smiles)
        if mol is None or mol.GetNumAtoms() == 0:
            continue
        fields = {"source": "NCI", "nsc": int(nsc)}
        docs.append({"id": f"NSC{nsc}", "content": {"smiles": smiles}, "fields": fields})
    for name, smiles in DRUGS.items():
        fields = {"source": "PubChem", "name": name}
        docs.append({"id": name, "content": {"smiles": smiles}, "fields": fields})
    return docs


def main() -> None:
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    with target.open("w", encoding="utf-8") as out:
        for doc in documents(source):
            out.write(json.dumps(doc) + "\n")


if __name__ == "__main__":
    main()
