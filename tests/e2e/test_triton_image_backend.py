"""The remote (Triton) image encoder, pointed at a second ipsim server's KServe v2 endpoint.

Server A is a normal server; server B (``IPSIM_TRITON_URL=http://A``) runs no image network
of its own. The remote encoder's vectors (over HTTP and gRPC) equal the in-process image
encoder's for real icons; B's image collection answers as A's; with A gone, B answers
``unavailable`` (503) while a bad image is still refused locally (400).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image
from support.data import shared_data

from ipsim.clients import Client
from ipsim.clients.errors import BadRequest, Unavailable
from ipsim.models.image import MODEL_NAME, ImageEncoder
from ipsim.models.triton_image import RemoteImageEncoder

from .conftest import ServerProcess, start_server

ICONS = shared_data("trademarks", "icons")


def _png(image: Image.Image) -> str:
    out = io.BytesIO()
    image.save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode("ascii")


def _images() -> list[str]:
    """Real icons (transparent PNGs), and two drawn ones when the data is absent."""
    images = [Image.new("RGB", (40, 24), (200, 30, 30))]
    cells = (np.indices((64, 64)).sum(axis=0) // 8 % 2 * 255).astype(np.uint8)
    images.append(Image.fromarray(cells, "L").convert("RGB"))
    if ICONS.is_dir():
        images += [Image.open(p) for p in sorted(ICONS.rglob("*.png"))[:6]]
    return [_png(image) for image in images]


IMAGES = _images()
UNSEEN = _png(Image.new("RGB", (30, 30), (20, 90, 200)))
"""Searched only once A is down (a query already asked would come from the page cache)."""


@dataclass
class Servers:
    a: ServerProcess
    b: ServerProcess


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    root = tmp_path_factory.mktemp("triton-image")
    a = start_server(root / "a")
    b = start_server(root / "b", env={"IPSIM_TRITON_URL": f"http://{a.http}"})
    rows = [{"id": f"i{i}", "content": {"image_b64": data}} for i, data in enumerate(IMAGES)]
    for server in (a, b):
        with Client(server.url) as client:
            client.create_collection("logos", "image")
            assert client.upsert("logos", rows) == len(rows)
    yield Servers(a, b)
    for server in (a, b):
        if server.process.poll() is None:
            server.terminate()


@pytest.fixture(scope="module")
def local() -> ImageEncoder:
    return ImageEncoder("cpu")


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_remote_vectors_equal_the_in_process_encoder(
    servers: Servers, local: ImageEncoder, protocol: str
) -> None:
    address = servers.a.http if protocol == "http" else servers.a.grpc
    remote = RemoteImageEncoder(url=f"{protocol}://{address}")
    contents = [{"image_b64": data} for data in IMAGES]
    rows = remote.encode([remote.preprocess(c, "document").units[0] for c in contents])
    expected = local.encode([local.preprocess(c, "document").units[0] for c in contents])
    assert rows.shape == expected.shape == (len(IMAGES), 1280)
    np.testing.assert_allclose(rows, expected, atol=1e-5)
    assert remote.describe()["model"] == MODEL_NAME


def test_the_remote_encoded_collection_answers_as_the_local_one(servers: Servers) -> None:
    with Client(servers.b.url) as client:
        info = client.get_collection("logos")
    assert (info["model"], info["dim"], info["count"]) == (MODEL_NAME, 1280, len(IMAGES))
    for data in IMAGES[::3]:
        answers = []
        for server in (servers.a, servers.b):
            with Client(server.url) as client:
                found = client.search("logos", {"image_b64": data}, k=5)["hits"]
            answers.append([(h["id"], h["score"]) for h in found])
        ours, theirs = answers[1], answers[0]
        assert [i for i, _ in ours] == [i for i, _ in theirs]
        np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-5)


def test_without_the_remote_answers_are_unavailable(servers: Servers) -> None:
    # Runs last in this module: it stops A.
    servers.a.terminate()
    with Client(servers.b.url) as client:
        with pytest.raises(Unavailable, match=f"remote encoder '{MODEL_NAME}'") as caught:
            client.search("logos", {"image_b64": UNSEEN})
        assert caught.value.status == 503
        with pytest.raises(Unavailable):
            client.upsert("logos", [{"id": "n1", "content": {"image_b64": UNSEEN}}])
        # Validation is local: a bad image is the client's error, remote or not.
        with pytest.raises(BadRequest, match="image_b64"):
            client.search("logos", {"image_b64": "bm90IGFuIGltYWdl"})
        assert client.get_collection("logos")["count"] == len(IMAGES)
    assert "Traceback" not in "".join(servers.b.stderr)
