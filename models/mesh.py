"""3D designs as vectors: shape histograms, a Siamese point-cloud network, or both.

One encoder class serves the three mesh models a collection may choose:

* ``histogram``: D2 / A3 / D1 / FPFH shape distributions (:mod:`ipsim.models.mesh_histogram`),
  Hellinger-mapped so an inner product ranks like the histogram distance; CPU only;
* ``siamese``: the trained point-cloud network (:mod:`ipsim.models.mesh_siamese`), on the
  engine's device; a path to another checkpoint file selects that network instead;
* ``fused`` (default): both, each part centred and weighted as the checkpoint's
  calibration says (:mod:`ipsim.models.mesh_fusion`); ``fused:PATH`` fuses with another
  checkpoint.

``preprocess`` parses and validates the file (:mod:`ipsim.models.mesh_io`), normalises it
(centroid at the origin, unit sphere) and does the CPU work: the histograms and the
network's point cloud. ``encode`` stacks histograms and runs the network on a batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from ipsim.models.base import Prepared, Purpose, Span
from ipsim.models.mesh_fusion import Fusion
from ipsim.models.mesh_geometry import Mesh, face_areas, normalise
from ipsim.models.mesh_io import MeshLimits, mesh_file, parse_mesh

if TYPE_CHECKING:
    from ipsim.models.mesh_siamese import SiameseNetwork

MESH_MODELS: tuple[str, ...] = ("histogram", "siamese", "fused")
DEFAULT_MESH_MODEL = "fused"

Vectors = npt.NDArray[np.float32]


class UnknownMeshModel(ValueError):
    """Not one of :data:`MESH_MODELS`, and not a checkpoint file on disk."""


@dataclass(frozen=True)
class MeshUnit:
    """One prepared design: the normalised mesh, its CPU-side features, derived fields."""

    mesh: Mesh
    """Centred on its surface centroid and scaled into the unit sphere."""
    histogram: Vectors | None
    cloud: Vectors | None
    fields: dict[str, Any]


def derived_fields(raw: bytes, fmt: str, mesh: Mesh) -> dict[str, Any]:
    """What every stored design gets: format, counts, surface area, file digest."""
    return {
        "format": fmt,
        "faces": len(mesh.faces),
        "vertices": len(mesh.vertices),
        "area": round(float(face_areas(mesh).sum()), 9),
        "sha256": hashlib.sha256(raw).hexdigest(),
    }


DERIVED_FIELDS: tuple[str, ...] = ("format", "faces", "vertices", "area", "sha256")


def parse_model(name: str | None) -> tuple[str, Path | None]:
    """``(kind, checkpoint)`` for a model name: kind is histogram, siamese or fused;
    checkpoint ``None`` means the shipped one."""
    name = name or DEFAULT_MESH_MODEL
    if name in MESH_MODELS:
        return name, None
    kind, path_text = (
        ("fused", name[len("fused:") :]) if name.startswith("fused:") else ("siamese", name)
    )
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise UnknownMeshModel(
            f"unknown mesh model {name!r}: use one of {', '.join(MESH_MODELS)}, a Siamese"
            " checkpoint file (trained by `ipsim train mesh`), or fused:<checkpoint file>"
        )
    return kind, path.resolve()


class MeshEncoder:
    """Histogram, Siamese or fused vectors of meshes (unit rows; inner product)."""

    modality = "mesh"
    metric: Literal["ip", "l2", "tanimoto"] = "ip"

    def __init__(
        self,
        model: str | None = None,
        *,
        device: str = "cpu",
        limits: MeshLimits | None = None,
    ) -> None:
        from ipsim.models.mesh_histogram import HISTOGRAM_DIM

        self.kind, checkpoint = parse_model(model)
        self.limits = limits or MeshLimits()
        self.network: SiameseNetwork | None = None
        if self.kind != "histogram":
            from ipsim.models.mesh_siamese import SiameseNetwork

            self.network = SiameseNetwork.load(checkpoint, device=device)
        self.fusion = Fusion.from_meta(self.network.meta.get("fusion") if self.network else None)
        self.name = self.kind if checkpoint is None else f"{self.kind}:{checkpoint}"
        self.device = device if self.network is not None else "cpu"
        parts = {"histogram": HISTOGRAM_DIM, "siamese": self._network_dim(), "fused": 0}
        parts["fused"] = parts["histogram"] + parts["siamese"]
        self.dim = parts[self.kind]

    def _network_dim(self) -> int:
        return self.network.dim if self.network is not None else 0

    def preprocess(self, content: Mapping[str, Any], purpose: Purpose) -> Prepared[MeshUnit]:
        """Validate ``{"mesh_b64", "format"}``, normalise, and compute the CPU features."""
        from ipsim.models.mesh_histogram import describe

        raw, fmt = mesh_file(content, self.limits)
        mesh = parse_mesh(raw, fmt, self.limits)
        fields = derived_fields(raw, fmt, mesh)
        unit_mesh = normalise(mesh)
        histogram = describe(unit_mesh) if self.kind != "siamese" else None
        cloud = self.network.cloud(unit_mesh) if self.network is not None else None
        return Prepared(
            units=[MeshUnit(unit_mesh, histogram, cloud, fields)],
            spans=[Span(0, fields["faces"])],
        )

    def encode(self, units: Sequence[MeshUnit]) -> Vectors:
        """``(len(units), dim)`` unit rows: the histogram, the network embedding, or both."""
        histograms = embeddings = None
        if self.kind != "siamese":
            histograms = np.stack([_given(u.histogram) for u in units])
        if self.network is not None:
            embeddings = self.network.embed(np.stack([_given(u.cloud) for u in units]))
        if histograms is not None and embeddings is not None:
            return self.fusion.fuse(histograms, embeddings)
        only = histograms if histograms is not None else embeddings
        return np.ascontiguousarray(_given(only), dtype=np.float32)


def _given(part: Vectors | None) -> Vectors:
    if part is None:  # preprocess computes every part encode needs for this kind
        raise ValueError("mesh unit prepared for another mesh model")
    return part


__all__ = [
    "DEFAULT_MESH_MODEL",
    "DERIVED_FIELDS",
    "MESH_MODELS",
    "MeshEncoder",
    "MeshUnit",
    "UnknownMeshModel",
    "derived_fields",
    "parse_model",
]
