"""Training the Siamese mesh network on tiny folders: split, loss, checkpoints, resume, CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh
from click.testing import CliRunner

import ipsim.cli  # noqa: F401  (importing it adds `train` to the root group)
from ipsim.clients.cli import cli
from ipsim.models import mesh_training
from ipsim.models.mesh_fusion import WEIGHT_GRID
from ipsim.models.mesh_siamese import NetworkConfig, SiameseNetwork, read_checkpoint
from ipsim.models.mesh_training import (
    Shape,
    TrainOptions,
    augment,
    discover,
    positive_weights,
    split_shapes,
    steps_per_epoch,
    supcon_loss,
    train,
)

TINY = NetworkConfig(points=64, dim=8, widths=(8, 16), head=16)


def _solids() -> dict[str, trimesh.Trimesh]:
    return {
        "round/ball.ply": trimesh.creation.icosphere(subdivisions=1),
        "round/ball_fine.off": trimesh.creation.icosphere(subdivisions=2),
        "round/capsule.obj": trimesh.creation.capsule(height=1.0, radius=0.5, count=[8, 8]),
        "round/egg.stl": trimesh.creation.icosphere(subdivisions=2).apply_scale([1, 1, 1.6]),
        "boxy/cube.off": trimesh.creation.box(),
        "boxy/brick.stl": trimesh.creation.box(extents=[1, 2, 4]),
        "boxy/slab.obj": trimesh.creation.box(extents=[3, 3, 0.3]),
        "pointy/cone.off": trimesh.creation.cone(radius=1.0, height=2.0, sections=16),
        "pointy/spike.ply": trimesh.creation.cone(radius=0.3, height=3.0, sections=12),
        "pointy/pyramid.stl": trimesh.creation.cone(radius=1.0, height=1.0, sections=4),
    }


FAMILIES = {"round/ball.ply": "ball", "round/ball_fine.off": "ball"}


def _write(folder: Path, with_labels: bool) -> Path:
    for relative, solid in _solids().items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        solid.export(folder / relative)
    (folder / "round" / "broken.off").write_bytes(b"OFF\n3 1 0\n0 0 0\n")  # truncated
    if with_labels:
        rows = ["path,source,class,family"]
        rows += [f"{p},test,{p.split('/')[0]},{FAMILIES.get(p, '')}" for p in _solids()]
        rows += ["round/broken.off,test,round,", "round/broken.off,test,invalid_input,"]
        (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    return folder


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write(tmp_path_factory.mktemp("labelled"), with_labels=True)


def _options(data: Path, out: Path, epochs: int, **extra: object) -> TrainOptions:
    return TrainOptions(
        data=data, out=out, epochs=epochs, batch=4, device="cpu", progress=False,
        network=TINY, views=3, pool=128, **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def test_discover_reads_labels_csv_or_class_folders(tmp_path: Path, labelled: Path) -> None:
    shapes = discover(labelled)
    assert Shape("round/ball.ply", "round", "ball") in shapes
    assert Shape("boxy/cube.off", "boxy", "") in shapes
    plain = _write(tmp_path, with_labels=False)
    found = discover(plain)
    assert Shape("pointy/cone.off", "pointy") in found
    assert Shape("round/broken.off", "round") in found
    assert len(found) == len(_solids()) + 1


def test_split_keeps_families_together_and_puts_every_class_on_both_sides() -> None:
    shapes = [
        Shape(f"{c}/{i}.off", c, f"{c}{i // 2}" if i < 4 else "") for c in "abc" for i in range(9)
    ]
    shapes += [
        Shape("solo/one.off", "solo"),
        Shape("pair/x.off", "pair", "f"),
        Shape("pair/y.off", "pair", "f"),
    ]
    train_shapes, test_shapes = split_shapes(shapes)
    assert set(train_shapes) | set(test_shapes) == set(shapes) and not set(train_shapes) & set(
        test_shapes
    )
    sides = {s.path: s in test_shapes for s in shapes}
    for family in {s.family for s in shapes if s.family}:
        assert len({sides[s.path] for s in shapes if s.family == family}) == 1
    for label in "abc":  # 7 groups each: 2 (a third, rounded) go to the test side
        assert sum(s.label == label for s in test_shapes) in (2, 3, 4)
        assert any(s.label == label for s in train_shapes)
    # one group only (a single shape, or one family): training side
    assert all(s.label not in ("solo", "pair") for s in test_shapes)
    assert split_shapes(shapes) == (train_shapes, test_shapes)  # deterministic


def test_three_folds_test_every_shape_of_a_split_class_once() -> None:
    shapes = [
        Shape(f"{c}/{i}.off", c, f"{c}{i // 2}" if i < 4 else "") for c in "abc" for i in range(9)
    ]
    shapes += [Shape("pair/x.off", "pair"), Shape("pair/y.off", "pair")]
    tests = [set(split_shapes(shapes, fold)[1]) for fold in range(3)]
    assert tests[0] == set(split_shapes(shapes)[1])  # fold 0 is the default split
    assert all(not a & b for i, a in enumerate(tests) for b in tests[i + 1 :])
    assert set().union(*tests) == set(shapes)  # every class here has two or more groups
    for fold, test in enumerate(tests):
        train_side = set(shapes) - test
        for family in {s.family for s in shapes if s.family}:
            members = {s for s in shapes if s.family == family}
            assert members <= test or members <= train_side, (fold, family)
    with pytest.raises(ValueError, match="fold"):
        split_shapes(shapes, 3)


def test_split_does_not_depend_on_file_order() -> None:
    shapes = [Shape(f"{c}/{i}.off", c) for c in "xy" for i in range(6)]
    _, test_a = split_shapes(shapes)
    _, test_b = split_shapes(list(reversed(shapes)))
    assert set(test_a) == set(test_b)


def test_supcon_loss_rewards_positives_that_agree() -> None:
    shapes = [Shape(f"s{i}", "c") for i in range(4)]
    weights = positive_weights(shapes, np.arange(4), class_weight=0.0)
    assert weights.shape == (8, 8) and float(weights.diagonal().abs().sum()) == 0.0
    assert weights[0, 4] == 1 and weights[0, 1] == 0  # the other view only
    generator = torch.Generator().manual_seed(0)
    base = torch.nn.functional.normalize(torch.randn(4, 8, generator=generator), dim=1)
    aligned = torch.cat([base, base])
    shuffled = torch.cat([base, base[[1, 2, 3, 0]]])
    assert supcon_loss(aligned, weights, 0.1) < supcon_loss(shuffled, weights, 0.1)
    same_class = positive_weights(shapes, np.arange(4), class_weight=0.3)
    assert same_class[0, 1] == pytest.approx(0.3) and same_class[0, 4] == 1


def test_augment_draws_a_subset_with_unit_normals() -> None:
    rng = np.random.default_rng(0)
    pool = np.concatenate(
        [rng.normal(size=(128, 3)), np.tile([0.0, 0.0, 1.0], (128, 1)), rng.random((128, 3))],
        axis=1,
    ).astype(np.float32)
    view = augment(pool, TINY, rng)
    assert view.shape == (64, TINY.channels) and view.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(view[:, 3:6], axis=1), 1.0, rtol=1e-5)
    assert not np.allclose(view[:, 3:6], [0.0, 0.0, 1.0])  # rotated (align "none")
    assert steps_per_epoch(9, 4) == 2 and steps_per_epoch(8, 4) == 2 and steps_per_epoch(3, 4) == 1


def test_training_writes_a_safe_checkpoint_with_split_and_validation(
    labelled: Path, tmp_path: Path
) -> None:
    out = tmp_path / "net.pt"
    messages: list[str] = []
    meta = train(_options(labelled, out, epochs=2), echo=messages.append)
    assert any("skipped 1 files" in m and "round/broken.off" in m for m in messages)
    state = torch.load(out, map_location="cpu", weights_only=True)
    assert state["epoch"] == 2 and len(state["meta"]["history"]) == 2
    assert set(state["meta"]["train_paths"]).isdisjoint(state["meta"]["test_paths"])
    assert len(state["meta"]["train_paths"]) + len(state["meta"]["test_paths"]) == len(_solids())
    assert meta["validation"]["siamese"]["class_queries"] > 0
    assert 0.0 <= meta["validation"]["siamese"]["class_nn"] <= 1.0
    network = SiameseNetwork.load(out)
    assert network.dim == TINY.dim and network.points == TINY.points
    assert network.meta["skipped"] == ["round/broken.off"]
    fusion = network.meta["fusion"]  # the fused model's calibration, on the training shapes
    assert 0 < fusion["histogram_weight"] < 1 and len(fusion["network_mean"]) == TINY.dim
    assert set(fusion["weight_map"]) == {str(w) for w in WEIGHT_GRID}


class Interrupted(Exception):
    """Stands for a run killed right after a checkpoint."""


def test_resume_continues_exactly_like_an_uninterrupted_run(
    labelled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    straight, broken = tmp_path / "straight.pt", tmp_path / "resumed.pt"
    train(_options(labelled, straight, epochs=3), echo=lambda _: None)
    save = mesh_training._save

    def save_then_die(run: mesh_training.Run, options: TrainOptions) -> None:
        save(run, options)
        if run.epoch == 1:
            raise Interrupted

    monkeypatch.setattr(mesh_training, "_save", save_then_die)
    with pytest.raises(Interrupted):
        train(_options(labelled, broken, epochs=3), echo=lambda _: None)
    monkeypatch.undo()
    assert read_checkpoint(broken)["epoch"] == 1
    messages: list[str] = []
    train(_options(labelled, broken, epochs=3, resume=True), echo=messages.append)
    assert any("after epoch 1" in m for m in messages)
    a, b = read_checkpoint(straight), read_checkpoint(broken)
    assert b["epoch"] == 3 and b["meta"]["history"] == a["meta"]["history"]
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name
    moments_a = [s["exp_avg_sq"] for s in a["optimiser"]["state"].values()]
    moments_b = [s["exp_avg_sq"] for s in b["optimiser"]["state"].values()]
    assert all(torch.equal(x, y) for x, y in zip(moments_a, moments_b, strict=True))
    assert a["optimiser"]["state"][0]["step"] == b["optimiser"]["state"][0]["step"]
    assert a["rng"]["numpy"] == b["rng"]["numpy"]


def test_resume_refuses_a_checkpoint_of_another_network(labelled: Path, tmp_path: Path) -> None:
    out = tmp_path / "net.pt"
    train(_options(labelled, out, epochs=1), echo=lambda _: None)
    other = TrainOptions(
        data=labelled, out=out, epochs=2, device="cpu", progress=False, resume=True, views=3,
        pool=128, network=NetworkConfig(points=64, dim=4, widths=(8,), head=8),
    )  # fmt: skip
    with pytest.raises(ValueError, match="another network config"):
        train(other, echo=lambda _: None)
    reseeded = _options(labelled, out, epochs=2, resume=True, seed=5)
    with pytest.raises(ValueError, match="other options: seed"):
        train(reseeded, echo=lambda _: None)


def test_cli_trains_a_folder_of_class_subfolders_and_resumes(tmp_path: Path) -> None:
    data = _write(tmp_path / "plain", with_labels=False)
    out = tmp_path / "cli.pt"
    args = ["train", "mesh", "--data", str(data), "--out", str(out), "--device", "cpu",
            "--batch", "4", "--points", "64"]  # fmt: skip
    runner = CliRunner()
    result = runner.invoke(cli, [*args, "--epochs", "1"])
    assert result.exit_code == 0, result.output
    assert "skipped 1 files" in result.output and "class NN" in result.output
    assert read_checkpoint(out)["epoch"] == 1
    result = runner.invoke(cli, [*args, "--epochs", "2", "--resume"])
    assert result.exit_code == 0, result.output
    assert "resuming" in result.output and read_checkpoint(out)["epoch"] == 2
    missing = runner.invoke(
        cli, [*args[:5], str(tmp_path / "none.pt"), "--epochs", "1", "--resume"]
    )
    assert missing.exit_code == 2 and "nothing to resume" in missing.output
