"""The gateway service: records in and out of the engine's collections.

Imports are all-or-nothing: every record is read, checked and turned into a document
first, the target collection's modality must match the records' kind, and then one engine
upsert (itself all-or-nothing) writes them. A package's id is claimed before the upsert and
released if the upsert fails, so a replay is refused even while the first import runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy import Engine

from ipsim.engine.errors import InvalidInput, NotFound, NotReady
from ipsim.engine.validation import check_collection_name
from ipsim.platform.filing.facade import DocumentAccess
from ipsim.platform.gateway.formats import get_format, read_xml
from ipsim.platform.gateway.packages import Package, PartnerRegistry, verify_package
from ipsim.platform.gateway.records import (
    MODALITY,
    Kind,
    Record,
    from_document,
    kind_of,
    to_document,
)

MAX_RECORDS_PER_IMPORT = 10_000


class Gateway:
    """ST.96 and other formats in and out of the engine; signed packages."""

    def __init__(self, database: Engine) -> None:
        self.partners = PartnerRegistry(database)
        self._engine: DocumentAccess | None = None

    def attach(self, engine: DocumentAccess) -> None:
        self._engine = engine

    def _documents(self) -> DocumentAccess:
        if self._engine is None:
            raise NotReady("the gateway has no search engine attached")
        return self._engine

    def _kind(self, collection: str) -> Kind:
        check_collection_name(collection, "collection")
        for ref in self._documents().collection_list():
            if ref.name == collection:
                for kind, modality in MODALITY.items():
                    if modality == ref.modality:
                        return kind
                raise InvalidInput(
                    "collection", f"{collection!r} is a {ref.modality} collection; the gateway"
                    " exchanges trademark and text (patent) collections"
                )  # fmt: skip
        raise NotFound(f"collection {collection!r} does not exist")

    async def import_records(self, collection: str, records: Sequence[Record]) -> list[str]:
        """Index ``records`` in ``collection``; their document ids."""
        kind = self._kind(collection)
        if len(records) > MAX_RECORDS_PER_IMPORT:
            raise InvalidInput("records", f"at most {MAX_RECORDS_PER_IMPORT} per import")
        for index, record in enumerate(records):
            if kind_of(record) != kind:
                raise InvalidInput(
                    f"records[{index}]",
                    f"is a {kind_of(record)} record; collection {collection!r} holds {kind}s",
                )
        documents = [to_document(record) for record in records]
        await self._documents().upsert_documents(collection, documents)
        return [document.id for document in documents]

    async def import_xml(self, collection: str, data: bytes) -> list[str]:
        """Import an ST.96 or GBD national XML document."""
        return await self.import_records(collection, read_xml(data))

    async def import_format(self, collection: str, name: str, data: bytes) -> list[str]:
        reader = get_format(name).read
        assert reader is not None  # get_format checked
        return await self.import_records(collection, reader(data))

    async def export(self, collection: str, doc_id: str, name: str = "st96") -> bytes:
        """One document of ``collection`` written in format ``name``."""
        kind = self._kind(collection)
        writer = get_format(name, writing=True).write
        assert writer is not None
        document = await self._documents().get_document(collection, doc_id)
        return writer([from_document(kind, document)])

    async def import_package(self, data: bytes, collection: str | None = None) -> Package:
        """Verify and import a signed package (into ``collection`` or the one it names)."""
        # The registry is SQL (blocking): off the event loop.
        package = verify_package(data, await asyncio.to_thread(self.partners.keys))
        target = collection or package.collection
        if not target:
            raise InvalidInput("collection", "is required (the package names none)")
        self._kind(target)
        await asyncio.to_thread(self.partners.claim, package, target)
        try:
            await self.import_records(target, package.records)
        except BaseException:
            await asyncio.to_thread(self.partners.release, package.id)
            raise
        return package


__all__ = ["Gateway"]
