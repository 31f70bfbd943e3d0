"""``ipsim export triton``: the real MiniLM (and EfficientNet-Lite0) exported to ONNX, run by
onnxruntime, give the in-process encoders' vectors; the config.pbtxt parses as Triton's own
ModelConfig and names the tensors the ONNX graph has."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from click.testing import CliRunner
from google.protobuf import text_format
from PIL import Image
from support.data import shared_data
from tritonclient.grpc import model_config_pb2

from ipsim.cli import cli
from ipsim.models.image import ImageEncoder
from ipsim.models.registry import bundled_text_model_dir
from ipsim.models.text import TextEncoder
from ipsim.models.triton_backend import RemoteSignature, RemoteTextEncoder
from ipsim.models.triton_export import export_triton

PATENTS = Path(__file__).resolve().parents[2] / "demo" / "patents.jsonl"
ICONS = shared_data("trademarks", "icons")
ONNX_TYPES = {"tensor(int64)": "INT64", "tensor(float)": "FP32"}


def _titles() -> list[str]:
    rows = [json.loads(line) for line in PATENTS.open(encoding="utf-8")]
    return [r["content"]["text"] for r in rows]


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The text model exported once, through the CLI."""
    out = tmp_path_factory.mktemp("triton-repo")
    result = CliRunner().invoke(cli, ["export", "triton", "--out", str(out)])
    assert result.exit_code == 0, result.output
    yield out


@pytest.fixture(scope="module")
def session(repository: Path) -> ort.InferenceSession:
    path = repository / "all-MiniLM-L6-v2" / "1" / "model.onnx"
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def local() -> TextEncoder:
    return TextEncoder("all-MiniLM-L6-v2", bundled_text_model_dir())


def _metadata(session: ort.InferenceSession) -> dict[str, Any]:
    """What a Triton server serving this ONNX file reports as the model's metadata."""

    def tensor(arg: Any) -> dict[str, Any]:
        shape = [d if isinstance(d, int) else -1 for d in arg.shape]
        return {"name": arg.name, "datatype": ONNX_TYPES[arg.type], "shape": shape}

    return {
        "inputs": [tensor(a) for a in session.get_inputs()],
        "outputs": [tensor(a) for a in session.get_outputs()],
    }


def test_onnx_vectors_equal_the_local_encoder(
    session: ort.InferenceSession, local: TextEncoder
) -> None:
    # What the remote backend sends a Triton server serving this model, run by onnxruntime.
    remote = RemoteTextEncoder("all-MiniLM-L6-v2", bundled_text_model_dir(), url="http://h:1")
    signature = RemoteSignature.from_metadata(_metadata(session), remote.dim)
    assert not signature.takes_text
    titles = _titles()
    by_length = sorted(titles, key=len)
    batches = [
        titles[:32],  # real titles of varied length, padded to the longest
        [by_length[0]],
        [by_length[-1], "  padded with spaces  ", "Способ получения полимерной плёнки"],
        ["film " * 600, "a film"],  # past the 256-token window: truncated the same way
    ]
    for batch in batches:
        (rows,) = session.run(None, remote.request_arrays(batch, signature))
        expected = local.encode(batch)
        assert rows.shape == expected.shape == (len(batch), 384)
        np.testing.assert_allclose(rows, expected, atol=1e-4)
        assert float(np.min(np.sum(rows * expected, axis=1))) >= 0.9999


def test_config_parses_as_triton_model_config(
    repository: Path, session: ort.InferenceSession
) -> None:
    config = text_format.Parse(
        (repository / "all-MiniLM-L6-v2" / "config.pbtxt").read_text(),
        model_config_pb2.ModelConfig(),
    )
    assert config.name == "all-MiniLM-L6-v2"
    assert config.platform == "onnxruntime_onnx"
    assert config.max_batch_size == 64
    assert config.HasField("dynamic_batching")
    assert config.dynamic_batching.max_queue_delay_microseconds == 2000
    inputs = {
        i.name: (model_config_pb2.DataType.Name(i.data_type), list(i.dims)) for i in config.input
    }
    outputs = {
        o.name: (model_config_pb2.DataType.Name(o.data_type), list(o.dims)) for o in config.output
    }
    assert inputs == {"input_ids": ("TYPE_INT64", [-1]), "attention_mask": ("TYPE_INT64", [-1])}
    assert outputs == {"EMBEDDING": ("TYPE_FP32", [384])}
    # The graph has exactly these tensors, with batch (and sequence) axes left dynamic.
    graph_inputs = {a.name: (a.type, len(a.shape)) for a in session.get_inputs()}
    assert graph_inputs == {
        "input_ids": ("tensor(int64)", 2),
        "attention_mask": ("tensor(int64)", 2),
    }
    (output,) = session.get_outputs()
    assert (output.name, output.type, output.shape[1]) == ("EMBEDDING", "tensor(float)", 384)
    assert all(isinstance(a.shape[0], str) for a in (*session.get_inputs(), output))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "no-such-model"], "Invalid value for --model: unknown text model"),
        (["--model", "/nonexistent/model-dir"], "unknown text model"),
        (["--name", "bad name!"], "not a usable Triton model name"),
        (["--max-batch-size", "0"], "--max-batch-size"),
    ],
)
def test_bad_options_are_clear_cli_errors(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["export", "triton", "--out", str(tmp_path), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert not any(tmp_path.iterdir())  # nothing half-written


def test_image_export_equals_the_image_encoder(tmp_path: Path) -> None:
    exported = export_triton("efficientnet-lite0", tmp_path, max_batch_size=8)
    config = text_format.Parse(exported.config.read_text(), model_config_pb2.ModelConfig())
    assert (config.name, config.max_batch_size) == ("efficientnet-lite0", 8)
    assert [(i.name, list(i.dims)) for i in config.input] == [("PIXELS", [3, 3, 224, 224])]
    encoder = ImageEncoder("cpu")
    images = [Image.new("RGB", (40, 24), (200, 30, 30)), _checkerboard()]
    if ICONS.is_dir():
        images += [Image.open(p).convert("RGBA") for p in sorted(ICONS.rglob("*.png"))[:4]]
    units = [
        encoder.preprocess({"image_b64": _encoded(image)}, "document").units[0] for image in images
    ]
    session = ort.InferenceSession(str(exported.onnx), providers=["CPUExecutionProvider"])
    (rows,) = session.run(None, {"PIXELS": np.stack([u.numpy() for u in units])})
    expected = encoder.encode(units)
    assert rows.shape == expected.shape == (len(images), 1280)
    np.testing.assert_allclose(rows, expected, atol=1e-4)


def _checkerboard() -> Image.Image:
    cells = (np.indices((64, 64)).sum(axis=0) // 8 % 2 * 255).astype(np.uint8)
    return Image.fromarray(cells, "L").convert("RGB")


def _encoded(image: Image.Image) -> str:
    out = io.BytesIO()
    image.save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode("ascii")
