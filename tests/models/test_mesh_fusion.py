"""The fused mesh model's calibration, and the mesh encoder's three models on real meshes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support.meshes import DEMO_MESHES, file_content

from ipsim.models.mesh import MeshEncoder, UnknownMeshModel, parse_model
from ipsim.models.mesh_fusion import WEIGHT_GRID, Fusion, calibrate
from ipsim.models.mesh_histogram import HISTOGRAM_DIM
from ipsim.models.mesh_siamese import DEFAULT_CHECKPOINT, SiameseNetwork


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_fuse_centres_weights_and_keeps_unit_rows() -> None:
    rng = np.random.default_rng(0)
    h, n = _unit(rng.random((6, 5)) + 3.0), _unit(rng.normal(size=(6, 4)))
    fusion = Fusion(h.mean(axis=0), n.mean(axis=0), 0.8)
    fused = fusion.fuse(h, n)
    assert fused.shape == (6, 9)
    assert np.allclose(np.linalg.norm(fused, axis=1), 1.0, atol=1e-6)
    hc, nc = _unit(h - h.mean(axis=0)), _unit(n - n.mean(axis=0))
    expected = 0.8 * (hc @ hc.T) + 0.2 * (nc @ nc.T)
    assert np.allclose(fused @ fused.T, expected, atol=1e-6)
    # uncentred positive histograms all look alike; centred they spread around 0
    off_diagonal = ~np.eye(6, dtype=bool)
    assert (h @ h.T)[off_diagonal].min() > 0.9
    assert abs((hc @ hc.T)[off_diagonal].mean()) < 0.5


def test_meta_round_trip_and_the_default() -> None:
    fusion = Fusion(np.array([0.5, 0.25], np.float32), np.array([1.0], np.float32), 0.3)
    again = Fusion.from_meta(fusion.to_meta())
    assert again.histogram_weight == 0.3
    assert np.array_equal(again.histogram_mean, fusion.histogram_mean)  # type: ignore[arg-type]
    default = Fusion.from_meta(None)
    assert default.histogram_mean is None and default.histogram_weight == 0.5


def test_calibrate_prefers_the_part_that_separates_the_classes() -> None:
    rng = np.random.default_rng(1)
    labels = [c for c in "abcd" for _ in range(6)]
    centres = rng.normal(size=(4, 8))
    informative = _unit(
        np.stack([centres["abcd".index(c)] + 0.3 * rng.normal(size=8) for c in labels])
    )
    noise = _unit(rng.normal(size=(24, 8)))
    fusion, scores = calibrate(informative, noise, labels)
    assert fusion.histogram_weight >= 0.7 and set(scores) == set(WEIGHT_GRID)
    assert scores[0.9] > scores[0.1]
    assert scores[fusion.histogram_weight] == max(scores.values())
    swapped, _ = calibrate(noise, informative, labels)
    assert swapped.histogram_weight <= 0.3


def test_model_names() -> None:
    assert parse_model(None) == ("fused", None)
    assert parse_model("histogram") == ("histogram", None)
    assert parse_model(str(DEFAULT_CHECKPOINT)) == ("siamese", DEFAULT_CHECKPOINT.resolve())
    assert parse_model(f"fused:{DEFAULT_CHECKPOINT}") == ("fused", DEFAULT_CHECKPOINT.resolve())
    with pytest.raises(UnknownMeshModel, match="histogram, siamese, fused"):
        parse_model("pointnet++")
    with pytest.raises(UnknownMeshModel):
        parse_model(f"fused:{Path('/no/such/checkpoint.pt')}")


def test_the_encoders_agree_with_their_parts() -> None:
    content = file_content(DEMO_MESHES / "cgal" / "cow.off")
    histogram, siamese, fused = (MeshEncoder(m) for m in ("histogram", "siamese", "fused"))
    assert (histogram.dim, histogram.device) == (HISTOGRAM_DIM, "cpu")
    network = SiameseNetwork.load()
    assert siamese.dim == network.dim and fused.dim == HISTOGRAM_DIM + network.dim
    unit = fused.preprocess(content, "document").units[0]
    h, s, f = histogram.encode([unit]), siamese.encode([unit]), fused.encode([unit])
    calibration = Fusion.from_meta(network.meta.get("fusion"))
    assert calibration.histogram_mean is not None  # the shipped checkpoint is calibrated
    assert np.allclose(f, calibration.fuse(h, s), atol=1e-6)
    assert np.allclose(np.linalg.norm(f, axis=1), 1.0, atol=1e-5)
    # a histogram-only unit has no cloud, so the network cannot encode it
    bare = histogram.preprocess(content, "document").units[0]
    assert bare.cloud is None
    with pytest.raises(ValueError, match="another mesh model"):
        siamese.encode([bare])
