"""KServe v2 / Triton against the real ``ipsim serve``, with tritonclient's HTTP and gRPC
clients unchanged: health, metadata, inference equal to sentence-transformers, errors, and
concurrent requests sharing the encoder's batches (read from ``/metrics``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from prometheus_client.parser import text_string_to_metric_families
from support.data import shared_data
from tritonclient.utils import InferenceServerException

from ipsim.models.registry import bundled_text_model_dir

from .conftest import ServerProcess

MODEL = "all-MiniLM-L6-v2"
TEXTS = [
    "A bicycle frame made of carbon fibre with an integrated battery housing.",
    "Pharmaceutical composition comprising a kinase inhibitor for oral use.",
    "A method of encoding video frames using motion-compensated prediction.",
    "Wind turbine blade with a serrated trailing edge to reduce noise.",
]


@pytest.fixture(scope="module")
def http(server: ServerProcess) -> Iterator[httpclient.InferenceServerClient]:
    client = httpclient.InferenceServerClient(server.http, concurrency=8, network_timeout=120)
    yield client
    client.close()


@pytest.fixture(scope="module")
def rpc(server: ServerProcess) -> Iterator[grpcclient.InferenceServerClient]:
    client = grpcclient.InferenceServerClient(server.grpc)
    yield client
    client.close()


def _texts(module: Any, texts: list[str]) -> Any:
    tensor = module.InferInput("TEXT", [len(texts)], "BYTES")
    tensor.set_data_from_numpy(np.array([t.encode() for t in texts], dtype=np.object_))
    return tensor


def _batches(server: ServerProcess) -> tuple[float, float]:
    """``(batches, units)`` the text encoder's batcher has run, from the server's /metrics."""
    text = httpx.get(f"{server.url}/metrics").text
    values = {"count": 0.0, "sum": 0.0}
    for family in text_string_to_metric_families(text):
        if family.name == "ipsim_batch_size":
            for sample in family.samples:
                if sample.labels.get("model") == MODEL and sample.name.endswith(("_count", "_sum")):
                    values[sample.name.rsplit("_", 1)[1]] = sample.value
    return values["count"], values["sum"]


def test_a_triton_client_sees_a_live_server_with_the_encoders_as_models(
    http: httpclient.InferenceServerClient, rpc: grpcclient.InferenceServerClient
) -> None:
    assert http.is_server_live() and http.is_server_ready() and http.is_model_ready(MODEL)
    assert rpc.is_server_live() and rpc.is_server_ready() and rpc.is_model_ready(MODEL)
    metadata = http.get_model_metadata(MODEL)
    assert metadata["inputs"] == [{"name": "TEXT", "datatype": "BYTES", "shape": [-1]}]
    assert metadata["outputs"] == [{"name": "EMBEDDING", "datatype": "FP32", "shape": [-1, 384]}]
    assert rpc.get_model_metadata(MODEL, as_json=True)["platform"] == "ipsim"
    names = {m["name"] for m in http.get_model_repository_index()}
    assert {MODEL, "efficientnet-lite0", "morgan2-2048"} <= names


def test_vectors_over_both_transports_equal_sentence_transformers(
    http: httpclient.InferenceServerClient, rpc: grpcclient.InferenceServerClient
) -> None:
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(bundled_text_model_dir()), device="cpu")
    expected = reference.encode(TEXTS, normalize_embeddings=True)
    over_http = http.infer(MODEL, [_texts(httpclient, TEXTS)]).as_numpy("EMBEDDING")
    over_grpc = rpc.infer(MODEL, [_texts(grpcclient, TEXTS)]).as_numpy("EMBEDDING")
    np.testing.assert_allclose(over_http, expected, atol=1e-5)
    np.testing.assert_allclose(over_grpc, expected, atol=1e-5)


def test_bad_requests_answer_protocol_errors(
    http: httpclient.InferenceServerClient, rpc: grpcclient.InferenceServerClient
) -> None:
    with pytest.raises(InferenceServerException) as unknown:
        http.infer("not-a-model", [_texts(httpclient, ["x"])])
    assert unknown.value.status() == "404"
    smiles = grpcclient.InferInput("SMILES", [2], "BYTES")
    smiles.set_data_from_numpy(np.array([b"CCO", b"not a molecule"], dtype=np.object_))
    with pytest.raises(InferenceServerException) as bad:
        rpc.infer("morgan2-2048", [smiles])
    assert bad.value.status() == "StatusCode.INVALID_ARGUMENT"
    assert bad.value.message().startswith("SMILES[1]: ")
    with pytest.raises(InferenceServerException) as empty:
        http.infer(MODEL, [_texts(httpclient, [])])
    assert (empty.value.status(), empty.value.message()) == (
        "400",
        "TEXT: the batch is empty (shape [0])",
    )


def test_concurrent_requests_batch_together(
    server: ServerProcess, http: httpclient.InferenceServerClient
) -> None:
    lee = shared_data("text", "lee", "lee.cor").read_text(encoding="latin-1").splitlines()
    texts = [line.split(". ")[0] for line in lee[:32]]
    before = _batches(server)
    pending = [http.async_infer(MODEL, [_texts(httpclient, [t])]) for t in texts]
    assert all(p.get_result().as_numpy("EMBEDDING").shape == (1, 384) for p in pending)
    batches, units = (a - b for a, b in zip(_batches(server), before, strict=True))
    assert units == len(texts)
    assert batches < len(texts)
