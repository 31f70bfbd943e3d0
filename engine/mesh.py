"""Mesh collections: 3D designs with derived fields and previews a portal can show.

Searching is the base pipeline (encode the query mesh, nearest neighbours by inner
product). What a mesh collection adds:

* derived fields on every design (``format``, ``faces``, ``vertices``, ``area``,
  ``sha256`` of the file), filterable like the client's own (they win a name clash);
* previews: a shaded PNG thumbnail and a simplified binary glTF (GLB) model, rendered
  once when a design is stored, kept under the collection's folder by file digest (two
  documents with the same file share them) and served by ``?depict=png|glb`` on the
  document. Every hit carries the two URLs in ``preview``. Previews are a cache: one
  that is missing (a crash between rendering and the index write, a folder restored
  without them) is rendered again from the stored file when asked for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ipsim.engine.collection import Collection
from ipsim.engine.errors import InvalidInput, NotFound
from ipsim.engine.types import Depiction, Document, Hit
from ipsim.indexers.filters import parse_filter
from ipsim.indexers.snapshot import atomic_write_bytes
from ipsim.indexers.store import DocHit
from ipsim.models.base import Prepared
from ipsim.models.mesh import MeshEncoder
from ipsim.models.mesh_geometry import Mesh, normalise
from ipsim.models.mesh_io import decode_mesh

PREVIEWS: dict[str, str] = {"png": "image/png", "glb": "model/gltf-binary"}
"""Depiction form → media type."""
THUMBNAIL_SIZE = 256
PREVIEW_MAX_FACES = 2000


class MeshCollection(Collection):
    """A collection of 3D designs (STL, OBJ, PLY, OFF)."""

    chunked = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(self.encoder, MeshEncoder):
            raise TypeError(f"mesh collections need a MeshEncoder, not {self.encoder!r}")
        self.mesh_encoder: MeshEncoder = self.encoder
        self.previews = Path(self.store.path) / "previews"

    def _stored_fields(self, doc: Document, prepared: Prepared[Any]) -> dict[str, Any]:
        """The client's fields plus the derived mesh fields (which win a name clash)."""
        (unit,) = prepared.units
        return {**doc.fields, **unit.fields}

    def _prepare_documents(self, documents: Sequence[Document]) -> list[Prepared[Any]]:
        prepared = super()._prepare_documents(documents)
        for prep in prepared:
            (unit,) = prep.units
            self._render_previews(unit.fields["sha256"], unit.mesh)
        return prepared

    async def upsert(self, documents: Sequence[Document]) -> int:
        replaced = await asyncio.to_thread(self._digests, [doc.id for doc in documents])
        count = await super().upsert(documents)
        await asyncio.to_thread(self._drop_unreferenced, replaced)
        return count

    async def delete(self, doc_id: str) -> bool:
        digests = await asyncio.to_thread(self._digests, [doc_id])
        deleted = await super().delete(doc_id)
        await asyncio.to_thread(self._drop_unreferenced, digests)
        return deleted

    def _hit(self, h: DocHit) -> Hit:
        hit = super()._hit(h)
        document = f"/v1/collections/{quote(self.name)}/documents/{quote(h.id, safe='')}"
        preview = {form: f"{document}?depict={form}" for form in PREVIEWS}
        return replace(hit, preview=preview)

    async def depict(self, doc_id: str, form: str) -> Depiction:
        """The design's PNG thumbnail or simplified GLB model."""
        if form not in PREVIEWS:
            raise InvalidInput("depict", f"must be one of {', '.join(PREVIEWS)}")
        document = await self.get(doc_id)
        if document is None:
            raise NotFound(f"document {doc_id!r} is not in collection {self.name!r}")
        digest = str(document.fields["sha256"])
        data = await asyncio.to_thread(self._preview, digest, form, document.content)
        return Depiction(data, PREVIEWS[form])

    # -- preview files -------------------------------------------------------------------

    def _preview_path(self, digest: str, form: str) -> Path:
        return self.previews / f"{digest}.{form}"

    def _preview(self, digest: str, form: str, content: dict[str, Any]) -> bytes:
        path = self._preview_path(digest, form)
        try:
            return path.read_bytes()
        except FileNotFoundError:  # parse again, without computing the descriptors
            mesh = normalise(decode_mesh(content, self.mesh_encoder.limits))
            self._render_previews(digest, mesh, replace=True)
            return path.read_bytes()

    def _render_previews(self, digest: str, mesh: Mesh, *, replace: bool = False) -> None:
        from ipsim.models.mesh_preview import simplified, thumbnail_png, to_glb

        paths = {form: self._preview_path(digest, form) for form in PREVIEWS}
        if not replace and all(path.exists() for path in paths.values()):
            return
        small = simplified(mesh, max_faces=PREVIEW_MAX_FACES)
        self.previews.mkdir(exist_ok=True)
        atomic_write_bytes(paths["png"], thumbnail_png(small, size=THUMBNAIL_SIZE))
        atomic_write_bytes(paths["glb"], to_glb(small))

    def _digests(self, doc_ids: Iterable[str]) -> set[str]:
        """The file digests of those documents that exist."""
        found = self.store.hits_for([(doc_id, 0.0) for doc_id in doc_ids])
        return {str(h.fields["sha256"]) for h in found if "sha256" in h.fields}

    def _drop_unreferenced(self, digests: set[str]) -> None:
        """Remove the previews of digests no stored document has any more."""
        for digest in digests:
            if not self.store.passing_ids(parse_filter({"sha256": digest})):
                for form in PREVIEWS:
                    self._preview_path(digest, form).unlink(missing_ok=True)
