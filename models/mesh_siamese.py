"""The Siamese point-cloud network: a mesh's surface sample → a unit vector.

A PointNet (Qi et al. 2017): one small MLP applied to every point, max- and mean-pooled
over the points, then an MLP head to a unit-length embedding, so a cosine compares two
designs. It is trained (``ipsim train mesh``, :mod:`ipsim.models.mesh_training`) so two
variants of one design (moved, re-meshed, noised, damaged) and members of one design
family land close together; the checkpoint shipped in ``weights/`` is the default
(``weights/README.md`` says how it was trained and what it scored).

The input cloud (:func:`make_cloud`) comes from the normalised mesh (surface centroid at
the origin, unit sphere), sampled by :func:`~ipsim.models.mesh_geometry.sample_surface`
with a fixed seed, so one mesh always gives one cloud and one vector. Per point: xyz, a
normal, and (``extras``) three rotation-invariant numbers: distance to the centre,
normal·radial direction and surface variation (smallest / summed eigenvalue of the
neighbourhood's covariance: 0 on a plane, 1 isotropic). The choices, each measured on
held-out shapes (``weights/README.md`` has the table):

* Rotation (``align``): ``"none"``, the default, leaves it to training, which rotates
  every view at random; ``"pca"`` turns the principal axes onto x, y, z first
  (:func:`~ipsim.models.mesh_geometry.pca_align`). PCA found rotated copies no more often
  (rank-1 0.97 against 0.96) and noised ones less often (0.91 against 0.96):
  near-symmetric shapes (cubes, octahedra, cylinders) have no stable principal frame.
* Normals (``normals``): a real file's face winding is inconsistent and a face normal
  follows the triangulation, so ``"local"`` (default) takes the normal of the plane
  through the point's nearest sample points and turns it away from the centre
  (:func:`~ipsim.models.mesh_histogram.outward_normals`). Face normals turned outward
  (``"outward"``), their absolute components (``"abs"``) or none (``"none"``) scored
  lower: ``"abs"`` worst in class NN, face normals worst under vertex noise.

LayerNorm per point, not BatchNorm: a design's vector must not depend on what else is in
its batch, and there are no running statistics to drift between training and inference
(GroupNorm would do too but ran 3x slower on the CPU). The per-point MLP is ``nn.Linear``
over ``(b, points, channels)``, 1.4x faster on the CPU than the classic ``Conv1d``. The
checkpoint is a plain dict of tensors, numbers and strings, readable with
``torch.load(weights_only=True)``; on CUDA, :meth:`SiameseNetwork.embed` runs under bf16
autocast (cosine to the CPU's vectors ≥ 0.9996, measured on an H200).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import nn

from ipsim.models.mesh_geometry import Mesh, normalise, pca_align, sample_surface

SIAMESE_MODEL = "siamese"
DEFAULT_CHECKPOINT: Path = Path(__file__).resolve().parent / "weights" / "mesh_siamese.pt"
CHECKPOINT_FORMAT = "ipsim-mesh-siamese/1"
CLOUD_SEED = 0
"""The surface-sampling seed of every inference cloud."""

Cloud = npt.NDArray[np.float32]
Align = Literal["pca", "none"]
Normals = Literal["local", "outward", "abs", "none"]
NEIGHBOURS = 16
"""Points in a local neighbourhood of a ``config.points`` sample; a denser sample (the
training pools) takes proportionally more, so the neighbourhood keeps its size on the
surface, up to :data:`MAX_NEIGHBOURS` (only tiny test configs reach it)."""
MAX_NEIGHBOURS = 64


class CheckpointError(ValueError):
    """A Siamese checkpoint that is missing, unreadable or of another format."""


@dataclass(frozen=True)
class NetworkConfig:
    """Everything needed to rebuild the network and its input (stored in the checkpoint)."""

    points: int = 1024
    dim: int = 128
    widths: tuple[int, ...] = (64, 128, 256)
    head: int = 256
    align: Align = "none"
    normals: Normals = "local"
    extras: bool = True

    @property
    def channels(self) -> int:
        return 9 if self.extras else 6

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "widths": list(self.widths)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NetworkConfig:
        return cls(**{**data, "widths": tuple(data["widths"])})


class PointNet(nn.Module):
    """Shared per-point MLP, max+mean pooling, MLP head, unit-length output."""

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width_in = config.channels
        for width in config.widths:
            layers += [nn.Linear(width_in, width), nn.LayerNorm(width), nn.ReLU()]
            width_in = width
        self.points = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Linear(2 * width_in, config.head),
            nn.LayerNorm(config.head),
            nn.ReLU(),
            nn.Linear(config.head, config.dim),
        )

    def forward(self, clouds: torch.Tensor) -> torch.Tensor:
        """``(b, points, channels)`` → ``(b, dim)`` unit rows."""
        features = self.points(clouds)
        pooled = torch.cat([features.amax(dim=1), features.mean(dim=1)], dim=1)
        return F.normalize(self.head(pooled).float(), dim=1)


def local_frames(
    points: npt.NDArray[np.float64], k: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per point: the normal of its ``k`` nearest neighbours' plane and their surface
    variation (smallest eigenvalue / sum, 0 on a plane, 1/3 when isotropic)."""
    from scipy.spatial import cKDTree

    _, index = cKDTree(points).query(points, k=k)
    neighbours = points[index] - points[index].mean(axis=1, keepdims=True)
    values, vectors = np.linalg.eigh(np.einsum("nki,nkj->nij", neighbours, neighbours))
    variation = values[:, 0] / np.maximum(values.sum(axis=1), 1e-18)
    return vectors[:, :, 0], variation


def oriented_sample(mesh: Mesh, config: NetworkConfig, count: int, seed: int) -> Cloud:
    """``(count, channels)``: points of the normalised (and aligned) surface, normals
    outward, then (``extras``) distance to the centre, normal·radial and surface variation.

    Outward normals turn with the shape, so training can rotate this cloud and only then
    apply the config's normal mode (:func:`network_input`).
    """
    from ipsim.models.mesh_histogram import outward_normals

    frame = normalise(mesh)
    if config.align == "pca":
        frame = pca_align(frame)
    sample = sample_surface(frame, count, seed=seed)
    points = sample.points.astype(np.float64)
    raw, variation = sample.normals, np.zeros(count)
    if config.normals == "local" or config.extras:
        k = min(MAX_NEIGHBOURS, count, max(4, round(NEIGHBOURS * count / config.points)))
        local, variation = local_frames(points, k)
        raw = local.astype(np.float32) if config.normals == "local" else raw
    normals = outward_normals(points, raw)
    columns = [points, normals]
    if config.extras:
        radius = np.linalg.norm(points, axis=1)
        radial = np.einsum("ij,ij->i", normals, points) / np.maximum(radius, 1e-12)
        columns.append(np.stack([radius, radial, 3.0 * variation], axis=1))
    return np.concatenate(columns, axis=1).astype(np.float32)


def network_input(cloud: Cloud, config: NetworkConfig) -> Cloud:
    """The cloud with its normal channels as the config's ``normals`` mode wants them."""
    out = cloud.copy()
    if config.normals == "abs":
        out[:, 3:6] = np.abs(out[:, 3:6])
    elif config.normals == "none":
        out[:, 3:6] = 0.0
    return out


def make_cloud(mesh: Mesh, config: NetworkConfig, seed: int = 0) -> Cloud:
    """``(config.points, channels)``: the network's input for a mesh."""
    return network_input(oriented_sample(mesh, config, config.points, seed), config)


def checkpoint_state(
    model: PointNet, config: NetworkConfig, meta: Mapping[str, Any]
) -> dict[str, Any]:
    """The weights-only part of a checkpoint (training adds optimiser and RNG state)."""
    return {
        "format": CHECKPOINT_FORMAT,
        "config": config.to_dict(),
        "model": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "meta": dict(meta),
    }


def read_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint dict, loaded safely (no pickled code); :class:`CheckpointError` if bad."""
    if not path.is_file():
        raise CheckpointError(
            f"Siamese checkpoint {path} does not exist (train one with `ipsim train mesh`)"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a damaged file
        raise CheckpointError(f"Siamese checkpoint {path} cannot be read: {exc}") from exc
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path} is not a Siamese mesh checkpoint (expected format {CHECKPOINT_FORMAT!r})"
        )
    return state


class SiameseNetwork:
    """The trained network for inference: clouds on the CPU, embeddings on ``device``."""

    def __init__(
        self, model: PointNet, config: NetworkConfig, meta: dict[str, Any], device: str
    ) -> None:
        self.config = config
        self.dim = config.dim
        self.points = config.points
        self.device = device
        self.meta = meta
        self.model = model.to(device).eval()

    @classmethod
    def load(cls, path: Path | None = None, device: str = "cpu") -> SiameseNetwork:
        """The checkpoint at ``path`` (default: the shipped one) on ``device``."""
        source = DEFAULT_CHECKPOINT if path is None else Path(path)
        state = read_checkpoint(source)
        try:
            config = NetworkConfig.from_dict(state["config"])
            model = PointNet(config)
            model.load_state_dict(state["model"])
        except (KeyError, TypeError, RuntimeError) as exc:
            raise CheckpointError(f"Siamese checkpoint {source} does not fit: {exc}") from exc
        return cls(model, config, dict(state.get("meta", {})), device)

    def cloud(self, mesh: Mesh) -> Cloud:
        """``(points, 6)``: the network's input for a mesh, always the same for one mesh."""
        return make_cloud(mesh, self.config, seed=CLOUD_SEED)

    def embed(self, clouds: Cloud) -> Cloud:
        """``(b, points, 6)`` clouds → ``(b, dim)`` unit rows (bf16 autocast on CUDA)."""
        batch = torch.from_numpy(np.ascontiguousarray(clouds, dtype=np.float32)).to(self.device)
        on_cuda = batch.device.type == "cuda"
        with (
            torch.inference_mode(),
            torch.autocast("cuda", dtype=torch.bfloat16, enabled=on_cuda),
        ):
            vectors = self.model(batch)
        return np.ascontiguousarray(vectors.float().cpu().numpy(), dtype=np.float32)
