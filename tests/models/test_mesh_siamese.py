"""The shipped Siamese mesh network: loading, determinism, invariance on real meshes, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from support.data import shared_data

from ipsim.models.mesh_geometry import Mesh
from ipsim.models.mesh_io import parse_mesh
from ipsim.models.mesh_siamese import (
    DEFAULT_CHECKPOINT,
    CheckpointError,
    NetworkConfig,
    SiameseNetwork,
    make_cloud,
)
from ipsim.models.mesh_variants import decimate, noise, rotate, scale, subdivide

MESH = shared_data("mesh")
needs_meshes = pytest.mark.skipif(not (MESH / "cgal").is_dir(), reason="shared meshes absent")
OTHERS = ("camel.off", "cow.off", "bull.off", "dino.off", "anchor.off", "cube.off", "man.off")


def _load(name: str) -> Mesh:
    path = MESH / "cgal" / name
    return parse_mesh(path.read_bytes(), path.suffix[1:])


@pytest.fixture(scope="module")
def network() -> SiameseNetwork:
    return SiameseNetwork.load()


@pytest.fixture(scope="module")
def elephant() -> Mesh:
    return _load("elephant.off")


def test_the_shipped_checkpoint_is_small_safe_and_records_its_training() -> None:
    assert DEFAULT_CHECKPOINT.stat().st_size < 3 * 2**20
    state = torch.load(DEFAULT_CHECKPOINT, map_location="cpu", weights_only=True)
    meta = state["meta"]
    assert meta["train_paths"] and meta["test_paths"]
    assert set(meta["train_paths"]).isdisjoint(meta["test_paths"])
    assert state["epoch"] == meta["options"]["epochs"] == len(meta["history"])
    assert {"siamese", "d2"} <= set(meta["validation"])


def test_network_shape_and_unit_rows(network: SiameseNetwork) -> None:
    assert (network.dim, network.points, network.device) == (128, 1024, "cpu")
    clouds = np.random.default_rng(0).normal(size=(3, network.points, 9)).astype(np.float32)
    vectors = network.embed(clouds)
    assert vectors.shape == (3, network.dim) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


@needs_meshes
def test_same_mesh_same_vector_exactly(network: SiameseNetwork, elephant: Mesh) -> None:
    first, second = network.cloud(elephant), network.cloud(elephant)
    assert first.shape == (network.points, network.config.channels) and first.dtype == np.float32
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(network.embed(first[None]), network.embed(second[None]))
    # a vector does not depend on the rest of its batch (no batch statistics)
    batch = np.stack([first, network.cloud(_load("cow.off"))])
    np.testing.assert_allclose(network.embed(batch)[0], network.embed(first[None])[0], atol=1e-5)


@needs_meshes
@pytest.mark.parametrize("variant", [rotate, scale, subdivide, decimate, noise])
def test_a_changed_elephant_stays_nearest_to_the_elephant(
    network: SiameseNetwork, elephant: Mesh, variant: object
) -> None:
    changed = variant(elephant, np.random.default_rng(3))  # type: ignore[operator]
    meshes = [elephant, *(_load(name) for name in OTHERS)]
    gallery = network.embed(np.stack([network.cloud(m) for m in meshes]))
    query = network.embed(network.cloud(changed)[None])[0]
    similarity = gallery @ query
    assert int(np.argmax(similarity)) == 0, dict(
        zip(["elephant", *OTHERS], similarity, strict=True)
    )


@needs_meshes
def test_cloud_modes_change_only_their_channels(elephant: Mesh) -> None:
    local = make_cloud(elephant, NetworkConfig(points=256))
    absolute = make_cloud(elephant, NetworkConfig(points=256, normals="abs", extras=False))
    bare = make_cloud(elephant, NetworkConfig(points=256, normals="none", extras=False))
    assert local.shape == (256, 9) and absolute.shape == bare.shape == (256, 6)
    np.testing.assert_array_equal(local[:, :3], bare[:, :3])
    assert np.all(absolute[:, 3:6] >= 0) and not np.any(bare[:, 3:6])
    # normals point away from the centre; extras: radius, normal·radial, variation
    np.testing.assert_allclose(local[:, 6], np.linalg.norm(local[:, :3], axis=1), rtol=1e-5)
    assert np.all(local[:, 7] >= -1e-6) and np.all((local[:, 8] >= 0) & (local[:, 8] <= 1))


def test_missing_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"does not exist.*ipsim train mesh"):
        SiameseNetwork.load(tmp_path / "absent.pt")


def test_corrupt_checkpoints_are_clear_errors(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x00not a checkpoint" * 10)
    with pytest.raises(CheckpointError, match="cannot be read"):
        SiameseNetwork.load(garbage)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(DEFAULT_CHECKPOINT.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="cannot be read"):
        SiameseNetwork.load(truncated)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(CheckpointError, match="not a Siamese mesh checkpoint"):
        SiameseNetwork.load(foreign)
    misfit = tmp_path / "misfit.pt"
    state = torch.load(DEFAULT_CHECKPOINT, map_location="cpu", weights_only=True)
    state["config"]["dim"] = 7
    torch.save(state, misfit)
    with pytest.raises(CheckpointError, match="does not fit"):
        SiameseNetwork.load(misfit)


@pytest.mark.gpu
@needs_meshes
def test_cuda_embeddings_match_the_cpu(elephant: Mesh) -> None:
    cpu, gpu = SiameseNetwork.load(device="cpu"), SiameseNetwork.load(device="cuda")
    clouds = np.stack([cpu.cloud(elephant), cpu.cloud(_load("cow.off"))])
    np.testing.assert_allclose((cpu.embed(clouds) * gpu.embed(clouds)).sum(axis=1), 1.0, atol=2e-3)
