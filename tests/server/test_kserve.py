"""KServe v2 / Triton over the real app and engine, driven by the real ``tritonclient``.

One server (HTTP app + gRPC server + engine, in a thread of their own) serves the module;
the clients are tritonclient's, with their defaults (binary tensors over HTTP), so what
passes here is what a researcher's Triton client gets.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import json
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import grpc
import httpx
import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
import uvicorn
from prometheus_client import REGISTRY
from support.data import shared_data
from tritonclient.grpc import service_pb2, service_pb2_grpc
from tritonclient.utils import InferenceServerException

from ipsim.config import Settings
from ipsim.engine.engine import Engine
from ipsim.models.registry import bundled_text_model_dir
from ipsim.server.app import create_app
from ipsim.server.auth import ApiKeys
from ipsim.server.grpc_service import GrpcLimits, create_server
from ipsim.server.serve import engine_options

T = TypeVar("T")
KEY = "reader-key"
TEXT_MODEL = "all-MiniLM-L6-v2"
LEE = shared_data("text", "lee", "lee.cor")
ICONS = shared_data("trademarks", "icons", "tango")
SMILES = shared_data("chemistry", "nci_first_5K.smi")
MAX_ITEMS = 16


def auth() -> dict[str, str]:
    """A fresh headers dict per call: tritonclient's HTTP infer writes its own into it."""
    return {"authorization": f"Bearer {KEY}"}


def _texts(count: int) -> list[str]:
    """The first sentence of each of ``count`` Lee news articles (short: one chunk each)."""
    lines = LEE.read_text(encoding="latin-1").splitlines()[:count]
    return [line.split(". ")[0] + "." for line in lines]


class LiveServer:
    """The real HTTP app and gRPC server over one real engine, on free loopback ports."""

    def __init__(self, data: Path, keys: ApiKeys, settings: Settings) -> None:
        self.settings = settings
        self.keys = keys
        self.engine = Engine(engine_options(settings))
        self.loop = asyncio.new_event_loop()
        self.http_port = self.grpc_port = 0
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self.loop.run_until_complete, args=(self._main(),))

    def __enter__(self) -> LiveServer:
        self._thread.start()
        assert self._ready.wait(120), "the server did not start"
        return self

    def __exit__(self, *_: object) -> None:
        assert self._stop is not None
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the server's loop (where the engine's batchers live)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(60)

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        await self.engine.start()
        limits = GrpcLimits.from_settings(self.settings)
        grpc_server, _ = create_server(self.engine, api_keys=self.keys, limits=limits)
        self.grpc_port = grpc_server.add_insecure_port("127.0.0.1:0")
        await grpc_server.start()
        app = create_app(self.engine, self.settings, self.keys)
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=5,  # a client left open must not hold the teardown
        )
        http = uvicorn.Server(config)
        task = asyncio.create_task(http.serve())
        while not http.started:
            await asyncio.sleep(0.01)
        self.http_port = http.servers[0].sockets[0].getsockname()[1]
        self._ready.set()
        await self._stop.wait()
        http.should_exit = True
        await asyncio.gather(task, grpc_server.stop(None))
        await self.engine.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("kserve")
    keys_file = folder / "keys"
    keys_file.write_text(f"{KEY} read\n", encoding="utf-8")
    settings = Settings(data=folder / "data", max_delay_ms=40, max_documents_per_request=MAX_ITEMS)
    with LiveServer(folder / "data", ApiKeys.load(keys_file), settings) as live:
        yield live


@pytest.fixture(scope="module")
def http(server: LiveServer) -> Iterator[httpclient.InferenceServerClient]:
    client = httpclient.InferenceServerClient(f"127.0.0.1:{server.http_port}", concurrency=8)
    yield client
    client.close()


@pytest.fixture(scope="module")
def grpc_client(server: LiveServer) -> Iterator[grpcclient.InferenceServerClient]:
    client = grpcclient.InferenceServerClient(f"127.0.0.1:{server.grpc_port}")
    yield client
    client.close()


@pytest.fixture(scope="module")
def reference() -> Any:
    """sentence-transformers itself, on the same bundled weights the engine loads."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(bundled_text_model_dir()), device="cpu")


def _bytes_input(module: Any, name: str, values: list[bytes], **options: Any) -> Any:
    tensor = module.InferInput(name, [len(values)], "BYTES")
    tensor.set_data_from_numpy(np.array(values, dtype=np.object_), **options)
    return tensor


def _http_error(call: Any) -> InferenceServerException:
    with pytest.raises(InferenceServerException) as caught:
        call()
    return caught.value


# --- health and metadata ---------------------------------------------------------------


def test_health_and_server_metadata_over_both_transports(
    http: httpclient.InferenceServerClient, grpc_client: grpcclient.InferenceServerClient
) -> None:
    assert http.is_server_live() and http.is_server_ready()
    assert grpc_client.is_server_live() and grpc_client.is_server_ready()
    metadata = http.get_server_metadata()
    assert metadata["name"] == "ipsim" and "binary_tensor_data" in metadata["extensions"]
    assert grpc_client.get_server_metadata(as_json=True)["name"] == "ipsim"


def test_model_metadata_gives_inputs_outputs_and_the_encoder_dim(
    http: httpclient.InferenceServerClient, grpc_client: grpcclient.InferenceServerClient
) -> None:
    metadata = http.get_model_metadata(TEXT_MODEL, headers=auth())
    assert metadata == {
        "name": TEXT_MODEL,
        "versions": ["1"],
        "platform": "ipsim",
        "inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [-1]}],
        "outputs": [{"name": "EMBEDDING", "datatype": "FP32", "shape": [-1, 384]}],
    }
    over_grpc = grpc_client.get_model_metadata(TEXT_MODEL, headers=auth(), as_json=True)
    assert over_grpc["outputs"] == [
        {"name": "EMBEDDING", "datatype": "FP32", "shape": ["-1", "384"]}
    ]
    assert http.get_model_metadata(TEXT_MODEL, "1", headers=auth())["name"] == TEXT_MODEL
    assert http.is_model_ready(TEXT_MODEL, headers=auth())
    assert grpc_client.is_model_ready(TEXT_MODEL, headers=auth())
    assert not grpc_client.is_model_ready("no-such-model", headers=auth())
    assert not http.is_model_ready(TEXT_MODEL, "7", headers=auth())


def test_the_repository_index_lists_every_modality_default(
    http: httpclient.InferenceServerClient, grpc_client: grpcclient.InferenceServerClient
) -> None:
    expected = {
        TEXT_MODEL,
        "efficientnet-lite0",
        "fused",
        "morgan2-2048",
        "smith-waterman",
        f"{TEXT_MODEL}+efficientnet-lite0",
    }
    names = {model["name"] for model in http.get_model_repository_index(headers=auth())}
    assert names == expected
    index = grpc_client.get_model_repository_index(headers=auth(), as_json=True)
    assert {model["name"] for model in index["models"]} == expected


# --- inference -------------------------------------------------------------------------


def test_http_infer_matches_sentence_transformers_in_binary_and_json(
    http: httpclient.InferenceServerClient, reference: Any
) -> None:
    texts = _texts(6)
    expected = reference.encode(texts, normalize_embeddings=True)
    values = [t.encode() for t in texts]
    binary = http.infer(TEXT_MODEL, [_bytes_input(httpclient, "TEXT", values)], headers=auth())
    assert binary.get_output("EMBEDDING")["parameters"]["binary_data_size"] == 6 * 384 * 4
    np.testing.assert_allclose(binary.as_numpy("EMBEDDING"), expected, atol=1e-5)
    as_json = http.infer(
        TEXT_MODEL,
        [_bytes_input(httpclient, "TEXT", values, binary_data=False)],
        outputs=[httpclient.InferRequestedOutput("EMBEDDING", binary_data=False)],
        request_id="r-7",
        headers=auth(),
    )
    assert as_json.get_response()["id"] == "r-7" and "data" in as_json.get_output("EMBEDDING")
    np.testing.assert_allclose(as_json.as_numpy("EMBEDDING"), expected, atol=1e-5)


def test_grpc_infer_matches_sentence_transformers(
    grpc_client: grpcclient.InferenceServerClient, reference: Any
) -> None:
    texts = _texts(5)
    result = grpc_client.infer(
        TEXT_MODEL,
        [_bytes_input(grpcclient, "TEXT", [t.encode() for t in texts])],
        outputs=[grpcclient.InferRequestedOutput("EMBEDDING")],
        request_id="g-1",
        headers=auth(),
    )
    assert result.get_response().id == "g-1"
    expected = reference.encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(result.as_numpy("EMBEDDING"), expected, atol=1e-5)


def test_a_long_text_is_the_normalised_mean_of_its_chunks(
    http: httpclient.InferenceServerClient, server: LiveServer
) -> None:
    long_text = " ".join(LEE.read_text(encoding="latin-1").splitlines()[:6])
    answer = http.infer(
        TEXT_MODEL, [_bytes_input(httpclient, "TEXT", [long_text.encode()])], headers=auth()
    ).as_numpy("EMBEDDING")
    encoder = server.run(server.engine.encoder("text", TEXT_MODEL))
    chunks = encoder.preprocess({"text": long_text}, "query").units
    assert len(chunks) > 1
    mean = encoder.encode(chunks).mean(axis=0)
    np.testing.assert_allclose(answer[0], mean / np.linalg.norm(mean), atol=1e-5)


def test_image_files_go_as_raw_bytes_and_match_the_engine(
    http: httpclient.InferenceServerClient, server: LiveServer
) -> None:
    files = [
        (ICONS / name).read_bytes() for name in ("devices/printer.png", "places/user-home.png")
    ]
    result = http.infer(
        "efficientnet-lite0", [_bytes_input(httpclient, "IMAGE", files)], headers=auth()
    ).as_numpy("EMBEDDING")
    contents = [{"image_b64": base64.b64encode(f).decode()} for f in files]
    expected = server.run(server.engine.embed("image", "efficientnet-lite0", contents))
    assert result.shape == expected.shape and result.shape[0] == 2
    np.testing.assert_allclose(result, expected, atol=1e-5)


@pytest.mark.parametrize(
    ("model", "inputs"),
    [
        ("morgan2-2048", {"SMILES": [b"CCO", b"c1ccccc1O"]}),
        ("smith-waterman", {"SEQUENCE": [b"MKVLAAGIVGLLLAAPAQA", b"ACGTACGTTGCA"]}),
        (f"{TEXT_MODEL}+efficientnet-lite0", {"WORD": [b"Apple", b"Orange"]}),
        (
            "fused",
            {"MESH": [shared_data("mesh", "cgal", "sphere.stl").read_bytes()], "FORMAT": [b"stl"]},
        ),
    ],
)
def test_every_modality_answers_one_row_per_item_of_the_advertised_width(
    http: httpclient.InferenceServerClient, model: str, inputs: dict[str, list[bytes]]
) -> None:
    width = http.get_model_metadata(model, headers=auth())["outputs"][0]["shape"][1]
    tensors = [_bytes_input(httpclient, name, values) for name, values in inputs.items()]
    rows = http.infer(model, tensors, headers=auth()).as_numpy("EMBEDDING")
    count = len(next(iter(inputs.values())))
    assert rows.shape == (count, width) and rows.dtype == np.float32
    assert np.all(np.abs(rows).sum(axis=1) > 0)


def test_concurrent_requests_share_batches(http: httpclient.InferenceServerClient) -> None:
    def batches() -> tuple[float, float]:
        labels = {"model": TEXT_MODEL}
        count = REGISTRY.get_sample_value("ipsim_batch_size_count", labels) or 0.0
        return count, REGISTRY.get_sample_value("ipsim_batch_size_sum", labels) or 0.0

    before = batches()
    pending = [
        http.async_infer(
            TEXT_MODEL, [_bytes_input(httpclient, "TEXT", [t.encode()])], headers=auth()
        )
        for t in _texts(8)
    ]
    rows = [p.get_result().as_numpy("EMBEDDING") for p in pending]
    after = batches()
    assert all(r.shape == (1, 384) for r in rows)
    assert after[1] - before[1] == 8  # every text was encoded once...
    assert after[0] - before[0] < 8  # ...in fewer batches than requests


# --- errors ----------------------------------------------------------------------------


def test_bad_requests_are_protocol_errors_naming_the_input(
    http: httpclient.InferenceServerClient,
) -> None:
    def infer(model: str, *tensors: Any, **options: Any) -> InferenceServerException:
        return _http_error(lambda: http.infer(model, list(tensors), headers=auth(), **options))

    text = _bytes_input(httpclient, "TEXT", [b"a text"])
    unknown = infer("no-such-model", text)
    assert (unknown.status(), unknown.message()) == ("404", "unknown model 'no-such-model'")
    floats = httpclient.InferInput("TEXT", [1, 3], "FP32")
    floats.set_data_from_numpy(np.zeros((1, 3), np.float32))
    wrong_type = infer(TEXT_MODEL, floats)
    assert wrong_type.status() == "400"
    assert wrong_type.message() == "TEXT: datatype must be BYTES, not 'FP32'"
    wrong_name = infer(TEXT_MODEL, _bytes_input(httpclient, "PROMPT", [b"a text"]))
    assert wrong_name.message().startswith("PROMPT: is not an input of model")
    empty = httpclient.InferInput("TEXT", [0], "BYTES")
    empty.set_data_from_numpy(np.array([], dtype=np.object_))
    assert infer(TEXT_MODEL, empty).message() == "TEXT: the batch is empty (shape [0])"
    blank = infer(TEXT_MODEL, _bytes_input(httpclient, "TEXT", [b"fine", b""]))
    assert blank.message() == "TEXT[1]: must not be empty"
    smiles = infer("morgan2-2048", _bytes_input(httpclient, "SMILES", [b"CCO", b"C1CC(("]))
    assert smiles.status() == "400" and smiles.message().startswith("SMILES[1]: ")
    output = infer(TEXT_MODEL, text, outputs=[httpclient.InferRequestedOutput("LOGITS")])
    assert output.message() == "LOGITS: is not an output (the one output is EMBEDDING)"
    too_many = infer(TEXT_MODEL, _bytes_input(httpclient, "TEXT", [b"t"] * (MAX_ITEMS + 1)))
    assert too_many.message() == f"TEXT: at most {MAX_ITEMS} items per request, got 17"
    missing = infer("fused", _bytes_input(httpclient, "MESH", [b"solid x"]))
    assert missing.message() == "FORMAT: is required by model 'fused'"
    mark = infer(f"{TEXT_MODEL}+efficientnet-lite0", _bytes_input(httpclient, "WORD", [b""]))
    assert mark.message().startswith("WORD[0]: a mark needs")


def test_grpc_errors_carry_the_protocol_status_codes(
    grpc_client: grpcclient.InferenceServerClient,
) -> None:
    def infer(model: str, *tensors: Any) -> InferenceServerException:
        return _http_error(lambda: grpc_client.infer(model, list(tensors), headers=auth()))

    text = _bytes_input(grpcclient, "TEXT", [b"a text"])
    assert infer("nope", text).status() == "StatusCode.NOT_FOUND"
    smiles = infer("morgan2-2048", _bytes_input(grpcclient, "SMILES", [b"C1CC(("]))
    assert smiles.status() == "StatusCode.INVALID_ARGUMENT"
    assert smiles.message().startswith("SMILES[0]: ")
    floats = grpcclient.InferInput("TEXT", [2], "FP32")
    floats.set_data_from_numpy(np.zeros(2, np.float32))
    assert infer(TEXT_MODEL, floats).message() == "TEXT: datatype must be BYTES, not 'FP32'"
    unauthenticated = _http_error(lambda: grpc_client.infer(TEXT_MODEL, [text]))
    assert unauthenticated.status() == "StatusCode.UNAUTHENTICATED"
    statistics = _http_error(lambda: grpc_client.get_inference_statistics(headers=auth()))
    assert statistics.status() == "StatusCode.UNIMPLEMENTED"


def test_malformed_http_bodies_and_missing_keys_are_4xx(server: LiveServer) -> None:
    url = f"http://127.0.0.1:{server.http_port}/v2/models/{TEXT_MODEL}/infer"
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "TEXT",
                    "shape": [1],
                    "datatype": "BYTES",
                    "parameters": {"binary_data_size": 8},
                }
            ]
        }
    ).encode()

    def post(body: bytes, **headers: str) -> httpx.Response:
        return httpx.post(url, content=body, headers={**auth(), **headers})

    truncated = post(
        header + b"\x05\x00\x00\x00abcd", **{"Inference-Header-Content-Length": str(len(header))}
    )
    assert truncated.status_code == 400
    assert truncated.json() == {"error": "TEXT: binary BYTES data ends inside an element"}
    too_long = post(header, **{"Inference-Header-Content-Length": "99999"})
    assert too_long.json()["error"].startswith("Inference-Header-Content-Length: must be")
    assert post(b"{not json").json() == {"error": "request: the inference header is not valid JSON"}
    typo = post(json.dumps({"inputz": []}).encode())
    assert typo.status_code == 400 and typo.json()["error"].startswith(
        "request: inputs: Field required"
    )
    anonymous = httpx.post(url, content=header)
    assert anonymous.status_code == 401 and "error" in anonymous.json()
    assert httpx.get(f"http://127.0.0.1:{server.http_port}/v2/health/ready").status_code == 200


def test_a_raw_grpc_stub_may_send_typed_contents_instead_of_raw_bytes(
    server: LiveServer, reference: Any
) -> None:
    """Not every client packs ``raw_input_contents`` as tritonclient does."""
    texts = _texts(2)
    tensor = service_pb2.ModelInferRequest.InferInputTensor(
        name="TEXT",
        datatype="BYTES",
        shape=[2, 1],
        contents=service_pb2.InferTensorContents(bytes_contents=[t.encode() for t in texts]),
    )
    request = service_pb2.ModelInferRequest(model_name=TEXT_MODEL, inputs=[tensor])
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
        assert stub.ServerLive(service_pb2.ServerLiveRequest()).live is True
        answer = stub.ModelInfer(request, metadata=tuple(auth().items()))
    assert list(answer.outputs[0].shape) == [2, 384]
    rows = np.frombuffer(answer.raw_output_contents[0], "<f4").reshape(2, 384)
    np.testing.assert_allclose(rows, reference.encode(texts, normalize_embeddings=True), atol=1e-5)


def test_json_bytes_data_may_be_nested_as_its_shape(server: LiveServer) -> None:
    body = {
        "inputs": [
            {"name": "TEXT", "shape": [2, 1], "datatype": "BYTES", "data": [["one"], ["two"]]}
        ]
    }
    url = f"http://127.0.0.1:{server.http_port}/v2/models/{TEXT_MODEL}/infer"
    answer = httpx.post(url, json=body, headers=auth(), timeout=60).json()
    output = answer["outputs"][0]
    assert (output["name"], output["shape"], len(output["data"])) == ("EMBEDDING", [2, 384], 768)


def test_concurrent_grpc_requests_all_answer(grpc_client: grpcclient.InferenceServerClient) -> None:
    texts = _texts(6)
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        results = list(
            pool.map(
                lambda t: grpc_client.infer(
                    TEXT_MODEL, [_bytes_input(grpcclient, "TEXT", [t.encode()])], headers=auth()
                ).as_numpy("EMBEDDING"),
                texts,
            )
        )
    stacked = np.vstack(results)
    assert stacked.shape == (6, 384)
    np.testing.assert_allclose(np.linalg.norm(stacked, axis=1), 1.0, atol=1e-5)
