"""Chemical collections: similarity, substructure, exact and formula search over molecules.

Each molecule is stored once, with the fields RDKit derives from it (canonical SMILES,
InChI/InChIKey, Hill formula, one ``element_X`` count per element) and one row of packed
bits in a :class:`~ipsim.indexers.fingerprint.FingerprintIndex`: the similarity
fingerprint the collection's model names, then a pattern fingerprint for screening.

- similarity: a popcount scan of the similarity bits (top-k, or every hit ≥ a threshold).
- substructure: the pattern bits screen out molecules that cannot hold the query, and
  RDKit's ``HasSubstructMatch`` confirms the survivors, in id order, in parallel, within
  a time budget and a hit cap; an answer cut by either says ``truncated``.
- exact: InChIKey equality through the field index (first block only: connectivity).
- formula: element-count ranges through the field index, then the exact test.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, assert_never

import numpy as np

from ipsim.engine.chemical_query import (
    Exact,
    Formula,
    Similarity,
    Substructure,
    parse_chemical_query,
)
from ipsim.engine.collection import Collection, Fetch, Ranking
from ipsim.engine.errors import InvalidInput, NotFound
from ipsim.engine.types import Depiction, Document, SearchRequest
from ipsim.indexers.base import Selection, VectorIndex
from ipsim.indexers.filters import Filter, both, parse_filter
from ipsim.indexers.fingerprint import FingerprintIndex
from ipsim.indexers.store import DocHit, IndexAnswer
from ipsim.models.base import Encoder, InvalidContent, Prepared
from ipsim.models.chemical import ChemicalEncoder, Molecule, SubstructureQuery, element_field
from ipsim.models.formula import parse_formula_query

DEPICTIONS = ("svg",)
_ELEMENT_PREFIX = element_field("")
_VERIFY_CHUNK = 64
_TARGET_CACHE = 100_000
"""Molecules kept parsed for substructure checks (an RDKit Mol is a few kB)."""


class ChemicalCollection(Collection):
    """A collection of molecules; see the module docstring for its four modes."""

    chunked = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(self.encoder, ChemicalEncoder):
            raise TypeError(f"chemical collections need a ChemicalEncoder, not {self.encoder!r}")
        self.chemistry: ChemicalEncoder = self.encoder
        self._target = functools.lru_cache(maxsize=_TARGET_CACHE)(self.chemistry.target)
        self._pool = ThreadPoolExecutor(
            os.cpu_count() or 1, thread_name_prefix=f"substruct-{self.name}"
        )

    async def close(self) -> None:
        await super().close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def destroy(self) -> None:
        await super().destroy()
        self._pool.shutdown(wait=False, cancel_futures=True)

    @classmethod
    def index_for(
        cls, index_type: str, params: dict[str, Any], encoder: Encoder[Any]
    ) -> tuple[str, dict[str, Any]]:
        """Molecules have one index family: packed bits searched by popcount, and screened."""
        if index_type not in ("auto", "fingerprint") or params:
            raise InvalidInput(
                "index",
                'chemical collections use the fingerprint index; leave "index" out '
                'or give {"type": "fingerprint"} without parameters',
            )
        if not isinstance(encoder, ChemicalEncoder):
            raise TypeError(f"chemical collections need a ChemicalEncoder, not {encoder!r}")
        return "fingerprint", {"bits": encoder.bits, "screen_bits": encoder.screen_bits}

    def _stored_fields(self, doc: Document, prepared: Prepared[Any]) -> dict[str, Any]:
        """The client's fields plus the derived chemistry fields (which win a name clash)."""
        (molecule,) = prepared.units
        return {**doc.fields, **molecule.fields}

    async def depict(self, doc_id: str, form: str) -> Depiction:
        if form not in DEPICTIONS:
            raise InvalidInput("depict", f"must be one of {', '.join(DEPICTIONS)}")
        document = await self.get(doc_id)
        if document is None:
            raise NotFound(f"document {doc_id!r} is not in collection {self.name!r}")
        svg = await asyncio.to_thread(self.chemistry.depict_svg, document.fields["smiles"])
        return Depiction(svg.encode(), "image/svg+xml")

    async def depict_query(self, query: Any) -> Depiction:
        """A drawing of a query structure: ``smiles`` or ``molblock`` read as a molecule (as a
        similarity query is), ``smarts`` as a substructure pattern."""
        if not isinstance(query, Mapping):
            raise InvalidInput("query", "must be an object with one of smiles, molblock, smarts")
        svg = await asyncio.to_thread(self._query_svg, query)
        return Depiction(svg.encode(), "image/svg+xml")

    def _query_svg(self, query: Mapping[str, Any]) -> str:
        from rdkit.Chem.Draw import rdMolDraw2D

        try:
            if "smarts" in query:
                mol = self.chemistry.substructure_query(query).mol
            else:
                (molecule,) = self.chemistry.preprocess(query, "query").units
                mol = molecule.mol
        except InvalidContent as exc:
            raise InvalidInput(f"query.{exc.field}", exc.message) from exc
        drawer = rdMolDraw2D.MolDraw2DSVG(300, 200)
        rdMolDraw2D.PrepareAndDrawMolecule(drawer, mol)
        drawer.FinishDrawing()
        return str(drawer.GetDrawingText())

    # -- query plans ---------------------------------------------------------------------

    def _plan(self, request: SearchRequest, flt: Filter | None) -> Fetch:
        query = parse_chemical_query(request.mode, request.query)
        match query:
            case Similarity():
                return self._similar(query, flt)
            case Substructure():
                return self._substructure(query, flt)
            case Exact():
                return self._exact(query, flt)
            case Formula():
                return self._formula(query, flt)
            case _:
                assert_never(query)

    def _similar(self, query: Similarity, flt: Filter | None) -> Fetch:
        async def fetch(window: int) -> Ranking:
            row = (await self._molecule_rows([await self._molecule(query.structure)]))[0]
            total = 0

            def run(index: VectorIndex, allowed: Selection | None) -> IndexAnswer:
                nonlocal total
                found = _fingerprints(index).similar(
                    row,
                    k=window,
                    threshold=query.threshold or 0.0,
                    measure=query.measure,
                    alpha=query.alpha,
                    beta=query.beta,
                    allowed=allowed,
                )
                total = found.total
                return found.labels, found.scores

            hits, _ = await asyncio.to_thread(self.store.query_index, run, flt)
            return Ranking(hits, total)

        return fetch

    def _substructure(self, query: Substructure, flt: Filter | None) -> Fetch:
        async def fetch(window: int) -> Ranking:
            pattern = await asyncio.to_thread(self._substructure_query, query)
            return await asyncio.to_thread(self._screen_and_match, pattern, query, flt)

        return fetch

    def _exact(self, query: Exact, flt: Filter | None) -> Fetch:
        async def fetch(window: int) -> Ranking:
            molecule = await self._molecule(query.structure)
            name = "inchikey_connectivity" if query.connectivity else "inchikey"
            key = molecule.fields.get(name)
            if not key:
                raise InvalidInput(
                    "query", "RDKit could not compute an InChIKey for this structure"
                )
            combined = both(flt, parse_filter({name: key}))
            hits, total = await asyncio.to_thread(self.store.matching, combined)
            return Ranking(hits, total, complete=True)

        return fetch

    def _formula(self, query: Formula, flt: Filter | None) -> Fetch:
        try:
            pattern = parse_formula_query(query.formula)
        except InvalidContent as exc:
            raise InvalidInput(f"query.{exc.field}", exc.message) from exc
        # Elements that must be present narrow the candidates through the field index;
        # the full test (absent elements included) runs on the candidates.
        ranges = pattern.range_filter()
        narrowed = both(flt, parse_filter(ranges)) if ranges else flt

        async def fetch(window: int) -> Ranking:
            candidates, _ = await asyncio.to_thread(self.store.matching, narrowed)
            hits = [
                hit
                for hit in candidates
                if pattern.matches(
                    _elements(hit.fields), allow_other_elements=query.allow_other_elements
                )
            ]
            return Ranking(hits, len(hits), complete=True)

        return fetch

    # -- the work ------------------------------------------------------------------------

    async def _molecule(self, structure: dict[str, Any]) -> Molecule:
        prepared = await asyncio.to_thread(self._prepare, structure, "query", "query")
        (molecule,) = prepared.units
        assert isinstance(molecule, Molecule)
        return molecule

    async def _molecule_rows(self, molecules: Sequence[Molecule]) -> list[np.ndarray[Any, Any]]:
        return list(await self.batcher.submit(list(molecules)))

    def _substructure_query(self, query: Substructure) -> SubstructureQuery:
        try:
            return self.chemistry.substructure_query(query.structure, chirality=query.chirality)
        except InvalidContent as exc:
            raise InvalidInput(f"query.{exc.field}", exc.message) from exc

    def _screen_and_match(
        self, pattern: SubstructureQuery, query: Substructure, flt: Filter | None
    ) -> Ranking:
        """Screen with the pattern bits, then confirm survivors in id order within budget."""
        deadline = time.monotonic() + query.timeout_ms / 1000.0

        def run(index: VectorIndex, allowed: Selection | None) -> IndexAnswer:
            labels = _fingerprints(index).screen(pattern.screen, allowed)
            return labels, np.ones(labels.size)

        candidates, _ = self.store.query_index(run, flt)
        stop = threading.Event()

        def confirm(chunk: Sequence[DocHit]) -> tuple[list[DocHit], bool]:
            found: list[DocHit] = []
            for hit in chunk:
                if stop.is_set() or time.monotonic() > deadline:
                    return found, False
                if pattern.matches(self._target(hit.fields["smiles"])):
                    found.append(hit)
            return found, True

        hits: list[DocHit] = []
        truncated = False
        for found, finished in self._pool.map(confirm, _chunks(candidates, _VERIFY_CHUNK)):
            hits.extend(found)
            if len(hits) > query.max_hits or not finished:
                del hits[query.max_hits :]
                truncated = True
                stop.set()
                break
        return Ranking(hits, len(hits), complete=True, truncated=truncated)


def _fingerprints(index: VectorIndex) -> FingerprintIndex:
    if not isinstance(index, FingerprintIndex):
        raise TypeError(f"a chemical collection's index is a FingerprintIndex, not {index!r}")
    return index


def _elements(fields: Mapping[str, Any]) -> dict[str, int]:
    return {
        name[len(_ELEMENT_PREFIX) :]: int(count)
        for name, count in fields.items()
        if name.startswith(_ELEMENT_PREFIX)
    }


def _chunks(items: Sequence[DocHit], size: int) -> Iterator[Sequence[DocHit]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
