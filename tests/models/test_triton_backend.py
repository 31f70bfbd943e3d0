"""The remote (Triton / KServe v2) text encoder: its URL rule, what it reads from a model's
metadata, local preprocessing, and what a remote that is down turns into (a real closed port:
connection refused must be ``unavailable``, never ``internal``)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from ipsim.config import Settings
from ipsim.engine.engine import Engine, EngineOptions
from ipsim.engine.errors import NotReady
from ipsim.engine.types import CollectionSpec, Document, SearchRequest
from ipsim.models.registry import bundled_text_model_dir, load_encoder
from ipsim.models.text import TextEncoder
from ipsim.models.triton_backend import (
    RemoteSignature,
    RemoteTextEncoder,
    RemoteUnavailable,
    TritonUrl,
    default_remote_name,
    embedding_dim,
    max_seq_length,
)

LONG_TEXT = " ".join(f"claim {i}: a polymer film with a coated layer of silica" for i in range(120))


@pytest.fixture(scope="module")
def closed_port() -> Iterator[int]:
    """A loopback port that nothing listens on: connecting is refused at once."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    yield port


@pytest.fixture(scope="module")
def local() -> TextEncoder:
    return TextEncoder("all-MiniLM-L6-v2", bundled_text_model_dir())


def _remote(url: str) -> RemoteTextEncoder:
    return RemoteTextEncoder("all-MiniLM-L6-v2", bundled_text_model_dir(), url=url)


@pytest.mark.parametrize(
    ("url", "protocol", "address", "ssl"),
    [
        ("http://127.0.0.1:8000", "http", "127.0.0.1:8000", False),
        ("https://triton.example:443/base/", "http", "triton.example:443/base", True),
        ("grpc://triton:8001", "grpc", "triton:8001", False),
        ("grpcs://[::1]:8001", "grpc", "[::1]:8001", True),
    ],
)
def test_urls_pick_the_protocol(url: str, protocol: str, address: str, ssl: bool) -> None:
    parsed = TritonUrl.parse(url)
    assert (parsed.protocol, parsed.address, parsed.ssl) == (protocol, address, ssl)


@pytest.mark.parametrize(
    "url",
    ["triton:8000", "ftp://triton:8000", "http://triton", "http://h:port", "grpc://h:8001/v2", ""],
)
def test_bad_urls_are_refused_naming_the_setting(url: str) -> None:
    with pytest.raises(ValueError, match="triton_url"):
        TritonUrl.parse(url)
    with pytest.raises(ValidationError, match="triton_url"):
        Settings(triton_url=url or "http://")


def test_settings_read_the_url_and_model_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IPSIM_TRITON_URL", "grpc://10.0.0.5:8001")
    monkeypatch.setenv("IPSIM_TRITON_MODEL", "minilm_onnx")
    settings = Settings()
    assert (settings.triton_url, settings.triton_model) == ("grpc://10.0.0.5:8001", "minilm_onnx")


def test_model_facts_come_from_the_model_directory(local: TextEncoder) -> None:
    path = bundled_text_model_dir()
    assert embedding_dim(path) == local.dim == 384
    assert max_seq_length(path, local._tokenizer) == 256
    assert default_remote_name("all-MiniLM-L6-v2") == "all-MiniLM-L6-v2"
    assert default_remote_name("/models/my-bert") == "my-bert"


def _metadata(inputs: list[dict[str, Any]], outputs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": "m", "versions": ["1"], "platform": "x", "inputs": inputs, "outputs": outputs}


def test_a_single_bytes_input_takes_texts() -> None:
    meta = _metadata(
        [{"name": "TEXT", "datatype": "BYTES", "shape": [-1]}],
        [{"name": "EMBEDDING", "datatype": "FP32", "shape": [-1, 384]}],
    )
    signature = RemoteSignature.from_metadata(meta, 384)
    assert signature.takes_text and signature.output.name == "EMBEDDING"


def test_token_inputs_and_grpc_string_shapes() -> None:
    meta = _metadata(
        [
            {"name": "input_ids", "datatype": "INT64", "shape": ["-1", "-1"]},
            {"name": "attention_mask", "datatype": "INT32", "shape": ["-1", "-1"]},
        ],
        [
            {"name": "token_embeddings", "datatype": "FP32", "shape": ["-1", "-1", "384"]},
            {"name": "sentence_embedding", "datatype": "FP32", "shape": ["-1", "384"]},
        ],
    )
    signature = RemoteSignature.from_metadata(meta, 384)
    assert not signature.takes_text
    assert signature.output.name == "sentence_embedding"
    assert signature.output.shape == (-1, 384)


@pytest.mark.parametrize(
    ("inputs", "outputs", "message"),
    [
        ([{"name": "IMAGE", "datatype": "FP32", "shape": [-1, 3]}], None, "expected one BYTES"),
        ([{"name": "input_ids", "datatype": "INT64", "shape": [-1, -1]}], None, "input_ids"),
        (None, [{"name": "E", "datatype": "FP32", "shape": [-1, 768]}], "768 dimensions"),
        (None, [{"name": "E", "datatype": "FP32", "shape": [-1, -1, 384]}], "need pooling"),
        (None, [{"name": "LOGITS", "datatype": "FP32", "shape": [-1, 2]}] * 2, "none of"),
    ],
)
def test_models_that_do_not_fit_are_refused(
    inputs: list[dict[str, Any]] | None, outputs: list[dict[str, Any]] | None, message: str
) -> None:
    meta = _metadata(
        inputs or [{"name": "TEXT", "datatype": "BYTES", "shape": [-1]}],
        outputs or [{"name": "EMBEDDING", "datatype": "FP32", "shape": [-1, 384]}],
    )
    with pytest.raises(RemoteUnavailable, match=message):
        RemoteSignature.from_metadata(meta, 384)


def test_preprocessing_stays_local_and_chunks_like_the_local_encoder(local: TextEncoder) -> None:
    remote = _remote("http://127.0.0.1:9")
    for text in (LONG_TEXT, "a short title"):
        mine = remote.preprocess({"text": text}, "document")
        theirs = local.preprocess({"text": text}, "document")
        assert mine.units == theirs.units and mine.spans == theirs.spans
    assert len(remote.preprocess({"text": LONG_TEXT}, "document").units) > 1
    with pytest.raises(ValueError, match="text: must not be empty"):
        remote.preprocess({"text": "  "}, "query")


@pytest.mark.parametrize("scheme", ["http", "grpc"])
def test_a_closed_port_is_remote_unavailable(scheme: str, closed_port: int) -> None:
    remote = _remote(f"{scheme}://127.0.0.1:{closed_port}")
    with pytest.raises(RemoteUnavailable) as caught:
        remote.encode(["a polymer film"])
    message = str(caught.value)
    assert f"127.0.0.1:{closed_port}" in message and "'all-MiniLM-L6-v2'" in message
    assert remote.encode([]).shape == (0, 384)  # nothing to send: no call at all


@pytest.mark.parametrize("scheme", ["http", "grpc"])
def test_a_remote_that_never_answers_times_out_as_unavailable(scheme: str) -> None:
    with socket.socket() as listener:  # accepts connections, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        remote = RemoteTextEncoder(
            "all-MiniLM-L6-v2",
            bundled_text_model_dir(),
            url=f"{scheme}://127.0.0.1:{port}",
            timeout_s=0.5,
        )
        with pytest.raises(RemoteUnavailable, match=r"(?i)timed out|deadline exceeded"):
            remote.encode(["a polymer film"])


def test_load_encoder_builds_the_remote_one_only_with_a_url() -> None:
    options: dict[str, Any] = {"device": "cpu", "chunk_tokens": 256, "chunk_overlap": 32}
    remote = load_encoder(
        "text", None, triton_url="grpc://127.0.0.1:1", triton_model="minilm", **options
    )
    assert isinstance(remote, RemoteTextEncoder)
    assert (remote.name, remote.remote_model, remote.dim) == ("all-MiniLM-L6-v2", "minilm", 384)
    assert remote.describe()["remote"] == "grpc://127.0.0.1:1"


async def test_engine_answers_unavailable_while_the_remote_is_down(
    tmp_path: Path, closed_port: int
) -> None:
    engine = Engine(
        EngineOptions(data=tmp_path, device="cpu", triton_url=f"http://127.0.0.1:{closed_port}")
    )
    await engine.start()
    try:
        # The server starts and collections are created without the remote ...
        await engine.create_collection(CollectionSpec("titles", "text"))
        # ... and encoding waits for it: unavailable (503), not internal (500).
        for _ in range(2):
            with pytest.raises(NotReady, match="cannot reach it") as caught:
                await engine.upsert("titles", [Document("d1", {"text": "a polymer film"})])
            assert caught.value.code == "unavailable"
        with pytest.raises(NotReady):
            await engine.search("titles", SearchRequest({"text": "film"}))
        assert engine.collection_info("titles").count == 0
    finally:
        await engine.close()


def test_rows_from_the_remote_are_checked_and_normalised() -> None:
    from ipsim.models.triton_backend import unit_rows

    rows = unit_rows(np.array([[3.0, 4.0], [0.0, 2.0]]), 2, 2)
    assert rows.dtype == np.float32
    np.testing.assert_allclose(rows, [[0.6, 0.8], [0.0, 1.0]], atol=1e-7)
    with pytest.raises(RemoteUnavailable, match=r"shape \[1, 2\] for 2 texts"):
        unit_rows(np.ones((1, 2)), 2, 2)


# -- images ----------------------------------------------------------------------------


def _png_b64(colour: tuple[int, int, int]) -> str:
    import base64
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (32, 20), colour).save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode("ascii")


def test_image_models_take_files_or_rendered_pixels() -> None:
    from ipsim.models.triton_image import RemoteImageEncoder, image_signature

    output = {"name": "EMBEDDING", "datatype": "FP32", "shape": [-1, 1280]}
    files = image_signature(
        {"inputs": [{"name": "IMAGE", "datatype": "BYTES", "shape": [-1]}], "outputs": [output]},
        1280,
    )
    pixels = image_signature(  # gRPC metadata: int64 shapes as strings
        {
            "inputs": [
                {"name": "PIXELS", "datatype": "FP32", "shape": ["-1", "3", "3", "224", "224"]}
            ],
            "outputs": [output],
        },
        1280,
    )
    assert files.takes_text and not pixels.takes_text
    remote = RemoteImageEncoder(url="http://127.0.0.1:1")
    contents = [{"image_b64": _png_b64((200, 30, 30))}, {"image_b64": _png_b64((0, 90, 40))}]
    units = [remote.preprocess(c, "query").units[0] for c in contents]
    sent = remote.request_arrays(units, pixels)["PIXELS"]
    assert sent.shape == (2, 3, 3, 224, 224) and sent.dtype == np.float32
    np.testing.assert_array_equal(sent[1], units[1].pixels.numpy())
    sent_files = remote.request_arrays(units, files)["IMAGE"]
    assert sent_files.shape == (2,) and sent_files[0] == units[0].data
    assert sent_files[0].startswith(b"\x89PNG")
    for bad, message in (
        ([{"name": "PIXELS", "datatype": "FP32", "shape": [-1, 3, 64, 64]}], "rendered pixels"),
        ([{"name": "A", "datatype": "BYTES"}, {"name": "B", "datatype": "BYTES"}], "image files"),
    ):
        with pytest.raises(RemoteUnavailable, match=message):
            image_signature({"inputs": bad, "outputs": [output]}, 1280)


async def test_remote_images_validate_locally_and_are_unavailable_while_it_is_down(
    tmp_path: Path, closed_port: int
) -> None:
    from ipsim.engine.errors import InvalidInput
    from ipsim.models.triton_image import RemoteImageEncoder

    options: dict[str, Any] = {"device": "cpu", "chunk_tokens": 256, "chunk_overlap": 32}
    built = load_encoder("image", None, triton_url=f"grpc://127.0.0.1:{closed_port}", **options)
    assert isinstance(built, RemoteImageEncoder) and not hasattr(built, "backbone")
    engine = Engine(
        EngineOptions(data=tmp_path, device="cpu", triton_url=f"http://127.0.0.1:{closed_port}")
    )
    await engine.start()
    try:
        await engine.create_collection(CollectionSpec("logos", "image"))
        image = {"image_b64": _png_b64((10, 10, 200))}
        with pytest.raises(NotReady, match="remote encoder 'efficientnet-lite0'") as caught:
            await engine.upsert("logos", [Document("l1", image)])
        assert caught.value.code == "unavailable"
        with pytest.raises(InvalidInput) as refused:  # a bad image never reaches the remote
            await engine.search("logos", SearchRequest({"image_b64": "bm90IGFuIGltYWdl"}))
        assert refused.value.field == "query.image_b64"
        assert engine.collection_info("logos").count == 0
    finally:
        await engine.close()
