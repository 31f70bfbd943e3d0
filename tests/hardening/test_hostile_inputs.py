"""Hostile inputs against a real `ipsim serve`: each gets a clear 4xx (or a bounded time-out),
the server stays up (``/healthz`` after each), and its memory stays bounded.

Memory bound, measured on the server process (``VmRSS`` in ``/proc/<pid>/status``) before
and after each input: below ``RSS_LIMIT`` (2.5 GiB) at all times, and no input grows it by
more than ``RSS_GROWTH_LIMIT`` (1 GiB).
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import socket
import struct
import threading
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from support.hardening import png_bytes

from ipsim.models.sequence_formats import ListingError, parse_st26

GIB = 1024**3
RSS_LIMIT = int(2.5 * GIB)
RSS_GROWTH_LIMIT = 1 * GIB
# Time a refusal may take: every input here is refused before the expensive work.
ANSWER_WITHIN_S = 20.0
# The server's body time-out in this test session (IPSIM_BODY_TIMEOUT_S of the fixture).
BODY_TIMEOUT_S = 5.0

ROWS: list[dict[str, Any]] = []
"""What each input got: the test session writes them to $IPSIM_HARDENING_REPORT (JSON)."""


def rss_bytes(pid: int) -> int:
    """The resident set size of ``pid``, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


@dataclass
class Answer:
    status: int
    seconds: float
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@pytest.fixture(scope="module")
def hostile(hardening_server: Any, seeded: Any) -> Iterator[Any]:
    yield hardening_server
    report = os.environ.get("IPSIM_HARDENING_REPORT")
    if report:
        Path(report).write_text(json.dumps(ROWS, indent=1))


def send(
    server: Any,
    name: str,
    method: str,
    path: str,
    *,
    content: bytes | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """One hostile request, timed, with RSS before and after and a health check after."""
    pid = server.process.pid
    before = rss_bytes(pid)
    started = time.perf_counter()
    with httpx.Client(base_url=server.url, timeout=ANSWER_WITHIN_S * 3) as client:
        answer = client.request(method, path, content=content, json=body, headers=headers)
    seconds = time.perf_counter() - started
    after = rss_bytes(pid)
    _record(name, answer.status_code, seconds, before, after)
    _check_alive(server, before, after)
    return Answer(answer.status_code, seconds, answer.content)


def _record(name: str, status: int | str, seconds: float, before: int, after: int) -> None:
    ROWS.append(
        {
            "input": name,
            "status": status,
            "seconds": round(seconds, 3),
            "rss_before_mib": round(before / 2**20),
            "rss_after_mib": round(after / 2**20),
        }
    )
    print(f"{name}: {status} in {seconds:.2f}s, RSS {before >> 20} -> {after >> 20} MiB")


def _check_alive(server: Any, before: int, after: int) -> None:
    assert server.process.poll() is None, "the server died"
    health = httpx.get(f"{server.url}/healthz", timeout=10)
    assert health.status_code == 200
    assert after < RSS_LIMIT, f"RSS {after >> 20} MiB over the {RSS_LIMIT >> 20} MiB bound"
    assert after - before < RSS_GROWTH_LIMIT, f"RSS grew {(after - before) >> 20} MiB"


def assert_refused(answer: Answer, status: int = 400, field: str | None = None) -> None:
    """A 4xx in the contract's error shape, in bounded time, naming ``field`` when given."""
    assert answer.status == status, answer.body[:500]
    error = answer.json()["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str)
    if field is not None:
        assert field in error["message"], error["message"]
    assert answer.seconds < ANSWER_WITHIN_S


def search(server: Any, name: str, collection: str, query: dict[str, Any], **extra: Any) -> Answer:
    return send(
        server,
        name,
        "POST",
        f"/v1/collections/{collection}/search",
        body={"query": query, **extra},
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- images -----------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int, extra_chunks: bytes = b"") -> bytes:
    """A PNG whose header declares ``width`` x ``height`` RGB pixels over a tiny IDAT."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 4096, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + extra_chunks
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


def with_chunks(png: bytes, chunks: bytes) -> bytes:
    """``png`` with ``chunks`` inserted after its IHDR."""
    at = 8 + 25
    return png[:at] + chunks + png[at:]


def test_a_png_declaring_100000_by_100000_pixels_is_refused(hostile: Any) -> None:
    bomb = b64(png_declaring(100_000, 100_000))
    assert_refused(search(hostile, "PNG 100000x100000", "fz_image", {"image_b64": bomb}))
    assert_refused(
        send(
            hostile,
            "PNG 100000x100000 (upsert)",
            "PUT",
            "/v1/collections/fz_image/documents",
            body={"documents": [{"id": "bomb", "content": {"image_b64": bomb}}]},
        )
    )


def test_a_png_with_100000_ancillary_chunks_is_answered_in_bounded_time(hostile: Any) -> None:
    chunks = _chunk(b"tEXt", b"k\0v") * 100_000
    answer = search(
        hostile,
        "PNG + 100k tEXt chunks",
        "fz_image",
        {"image_b64": b64(with_chunks(png_bytes(), chunks))},
    )
    assert answer.status in (200, 400), answer.body[:300]
    assert answer.seconds < ANSWER_WITHIN_S


def test_a_png_with_a_compressed_text_bomb_is_answered_in_bounded_time(hostile: Any) -> None:
    # zTXt: 256 MiB of zeros compressed to about 256 KiB.
    bomb = zlib.compress(b"\0" * (256 * 2**20), 9)
    chunks = _chunk(b"zTXt", b"comment\0\0" + bomb)
    answer = search(
        hostile,
        "PNG + zTXt bomb (256 MiB)",
        "fz_image",
        {"image_b64": b64(with_chunks(png_bytes(), chunks))},
    )
    assert answer.status in (200, 400), answer.body[:300]
    assert answer.seconds < ANSWER_WITHIN_S


def test_a_trademark_image_bomb_is_refused(hostile: Any) -> None:
    bomb = b64(png_declaring(100_000, 100_000))
    assert_refused(search(hostile, "PNG bomb as trademark", "fz_tm", {"image_b64": bomb}))


# --- XML --------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<ST26SequenceListing><ApplicantName>&lol9;</ApplicantName></ST26SequenceListing>
"""


def quadratic_blowup() -> bytes:
    entity = "a" * 100_000
    refs = "&a;" * 20_000
    return (
        f'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "{entity}">]>'
        f"<ST26SequenceListing><ApplicantName>{refs}</ApplicantName></ST26SequenceListing>"
    ).encode()


EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE t [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ST26SequenceListing><ApplicantName>&xxe;</ApplicantName></ST26SequenceListing>
"""
XML_ATTACKS = {
    "XML billion laughs": BILLION_LAUGHS,
    "XML quadratic blowup": quadratic_blowup(),
    "XML external entity": EXTERNAL_ENTITY,
}


@pytest.mark.parametrize("name", sorted(XML_ATTACKS))
def test_xml_attacks_on_the_st96_gateway_are_refused(hostile: Any, name: str) -> None:
    answer = send(
        hostile,
        f"{name} (ST.96 gateway)",
        "POST",
        "/v1/gateway/st96?collection=fz_text",
        content=XML_ATTACKS[name],
        headers={"content-type": "application/xml"},
    )
    assert_refused(answer)
    assert b"root:" not in answer.body  # nothing of /etc/passwd comes back


@pytest.mark.parametrize("name", sorted(XML_ATTACKS))
def test_xml_attacks_on_st26_sequence_ingest_are_refused(name: str) -> None:
    """ST.26 listings are parsed where they are ingested (`ipsim ingest`, the demo): the
    parser refuses entity declarations before expanding anything."""
    started = time.perf_counter()
    with pytest.raises(ListingError, match=r"refused XML construct|entit"):
        parse_st26(XML_ATTACKS[name])
    assert time.perf_counter() - started < 2.0


# --- compressed and archive payloads where a file is expected ------------------------------------


def gzip_bomb() -> bytes:
    return gzip.compress(b"<a>" + b"\0" * (64 * 2**20) + b"</a>", 9)


def zip_of_zips() -> bytes:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", b"\0" * (32 * 2**20))
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(8):
            archive.writestr(f"inner{i}.zip", inner.getvalue())
    return outer.getvalue()


def test_a_gzip_bomb_as_an_st96_document_is_refused(hostile: Any) -> None:
    answer = send(
        hostile,
        "gzip bomb (64 MiB) as ST.96 XML",
        "POST",
        "/v1/gateway/st96?collection=fz_text",
        content=gzip_bomb(),
        headers={"content-type": "application/xml"},
    )
    assert_refused(answer)


def test_a_gzip_encoded_json_body_is_not_inflated(hostile: Any) -> None:
    answer = send(
        hostile,
        "gzip bomb with Content-Encoding: gzip (JSON route)",
        "POST",
        "/v1/collections/fz_text/search",
        content=gzip_bomb(),
        headers={"content-type": "application/json", "content-encoding": "gzip"},
    )
    assert answer.status in (400, 415), answer.body[:300]
    assert_refused(answer, answer.status)


@pytest.mark.parametrize(
    ("collection", "key", "extra"),
    [
        ("fz_image", "image_b64", {}),
        ("fz_mesh", "mesh_b64", {"format": "stl"}),
        ("fz_mesh", "mesh_b64", {"format": "ply"}),
    ],
)
def test_a_nested_zip_as_a_file_is_refused(
    hostile: Any, collection: str, key: str, extra: dict[str, str]
) -> None:
    query = {key: b64(zip_of_zips()), **extra}
    label = f"nested zip as {key} {extra.get('format', '')}".strip()
    assert_refused(search(hostile, label, collection, query), field=key)


def test_a_nested_zip_as_a_csv_import_is_refused(hostile: Any) -> None:
    answer = send(
        hostile,
        "nested zip as CSV import",
        "POST",
        "/v1/gateway/import?collection=fz_text&format=csv",
        content=zip_of_zips(),
        headers={"content-type": "text/csv"},
    )
    assert_refused(answer)


# --- meshes -----------------------------------------------------------------------------


def binary_stl(triangles: int, declared: int | None = None) -> bytes:
    header = b"\0" * 80 + struct.pack("<I", triangles if declared is None else declared)
    one = struct.pack("<12fH", 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0)
    return header + one * triangles


def binary_ply_grid(faces: int) -> bytes:
    """A real binary PLY with ``faces`` distinct triangles over a vertex grid."""
    import numpy as np

    side = int((faces / 2) ** 0.5) + 2
    xs, ys = np.meshgrid(np.arange(side, dtype="<f4"), np.arange(side, dtype="<f4"))
    vertices = np.stack([xs.ravel(), ys.ravel(), np.zeros(side * side, "<f4")], axis=1)
    cells = [(y * side + x) for y in range(side - 1) for x in range(side - 1)]
    tri = []
    for c in cells:
        tri.append((c, c + 1, c + side))
        tri.append((c + 1, c + side + 1, c + side))
        if len(tri) >= faces:
            break
    tri = tri[:faces]
    face_dtype = np.dtype([("n", "u1"), ("v", "<i4", 3)])
    face_rows = np.zeros(len(tri), face_dtype)
    face_rows["n"] = 3
    face_rows["v"] = np.asarray(tri, "<i4")
    header = (
        "ply\nformat binary_little_endian 1.0\n"
        f"element vertex {len(vertices)}\nproperty float x\nproperty float y\nproperty float z\n"
        f"element face {len(tri)}\nproperty list uchar int vertex_indices\nend_header\n"
    ).encode()
    return header + vertices.astype("<f4").tobytes() + face_rows.tobytes()


def test_a_mesh_declaring_10_million_faces_is_refused_before_parsing(hostile: Any) -> None:
    stl = b64(binary_stl(4, declared=10_000_000))
    answer = search(
        hostile, "STL declaring 10M faces", "fz_mesh", {"mesh_b64": stl, "format": "stl"}
    )
    assert_refused(answer, field="mesh_b64")
    off = b64(b"OFF\n3 10000000 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n")
    answer = search(
        hostile, "OFF declaring 10M faces", "fz_mesh", {"mesh_b64": off, "format": "off"}
    )
    assert_refused(answer, field="mesh_b64")


def test_a_real_mesh_just_over_the_face_limit_is_refused(hostile: Any) -> None:
    limit = 500_000  # Settings.mesh_max_faces
    ply = binary_ply_grid(limit + 1)
    answer = search(
        hostile,
        "binary PLY with 500,001 real faces",
        "fz_mesh",
        {"mesh_b64": b64(ply), "format": "ply"},
    )
    assert_refused(answer, field="mesh_b64")
    assert "500,000" in answer.json()["error"]["message"]


def test_a_mesh_with_nans_is_refused(hostile: Any) -> None:
    obj = b"v nan nan nan\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"
    answer = search(
        hostile, "OBJ with NaN vertices", "fz_mesh", {"mesh_b64": b64(obj), "format": "obj"}
    )
    assert_refused(answer, field="mesh_b64")
    nan = struct.unpack("<f", b"\x00\x00\xc0\x7f")[0]
    stl = (
        b"\0" * 80
        + struct.pack("<I", 1)
        + struct.pack("<12fH", 0, 0, 1, nan, 0, 0, 1, 0, 0, 0, 1, 0, 0)
    )
    answer = search(
        hostile, "binary STL with a NaN vertex", "fz_mesh", {"mesh_b64": b64(stl), "format": "stl"}
    )
    assert_refused(answer, field="mesh_b64")


# --- chemistry --------------------------------------------------------------------------

PATHOLOGICAL_CHEMISTRY: dict[str, dict[str, str]] = {
    "SMILES chain of 19,000 atoms": {"smiles": "C" * 19_000},
    "SMILES over the length limit (100k)": {"smiles": "C" * 100_000},
    "SMILES 5,000 nested branches": {"smiles": "C(" * 5_000 + "C" + ")" * 5_000},
    "SMILES huge ring numbers": {"smiles": "C%(99999)CCCC%(99999)" + "C%(12345)C%(12345)" * 200},
    "SMILES 2,000 open rings": {"smiles": "".join(f"C%({i})" for i in range(1000, 3000))},
    "SMARTS 500 nested recursions": {"smarts": "[$(" * 500 + "C" + ")]" * 500},
    "SMARTS 2,000 recursive alternatives": {
        "smarts": "[" + ",".join(f"$(C{'C' * (i % 7)}O)" for i in range(2_000)) + "]"
    },
}


@pytest.mark.parametrize("name", list(PATHOLOGICAL_CHEMISTRY))
def test_pathological_smiles_and_smarts_are_answered_in_bounded_time(
    hostile: Any, name: str
) -> None:
    query = PATHOLOGICAL_CHEMISTRY[name]
    mode = "substructure" if "smarts" in query else "similarity"
    answer = search(hostile, name, "fz_chem", query, mode=mode)
    assert answer.status in (200, 400), answer.body[:300]
    assert answer.seconds < ANSWER_WITHIN_S
    if answer.status == 400:
        assert_refused(answer, field="query")


# --- the HTTP body itself --------------------------------------------------------------------


def _raw(server: Any) -> socket.socket:
    host, port = urlsplit(server.url).hostname, urlsplit(server.url).port
    sock = socket.create_connection((host, port), timeout=30)
    return sock


def _read_status(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, rest


def test_a_100_mb_body_is_refused_with_413_without_reading_it(hostile: Any) -> None:
    pid = hostile.process.pid
    before = rss_bytes(pid)
    started = time.perf_counter()
    with _raw(hostile) as sock:
        sock.sendall(
            b"POST /v1/collections/fz_text/search HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n" + b"[" * 65536
        )
        status, body = _read_status(sock)
    seconds = time.perf_counter() - started
    after = rss_bytes(pid)
    _record("100 MB JSON body (Content-Length)", status, seconds, before, after)
    _check_alive(hostile, before, after)
    assert status == 413
    assert json.loads(body)["error"]["code"] == "payload_too_large"
    assert seconds < 5


def test_a_chunked_100_mb_body_is_cut_off_with_413(hostile: Any) -> None:
    pid = hostile.process.pid
    before = rss_bytes(pid)
    started = time.perf_counter()
    sent = 0
    piece = b" " * (1 << 20)
    frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    with _raw(hostile) as sock:
        sock.sendall(
            b"POST /v1/collections/fz_text/search HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        try:
            while sent < 100 * 2**20:
                sock.sendall(frame)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and hung up: what we want
        status, body = _read_status(sock)
    seconds = time.perf_counter() - started
    after = rss_bytes(pid)
    _record(
        f"100 MB chunked JSON body (stopped after {sent >> 20} MiB)", status, seconds, before, after
    )
    _check_alive(hostile, before, after)
    assert status == 413
    assert json.loads(body)["error"]["code"] == "payload_too_large"
    assert sent < 100 * 2**20, "the server read all 100 MB"


_BYTES_INPUT = b'{"inputs": [{"name": "x", "shape": [1], "datatype": "BYTES", "data": %s}]}'
DEEP_JSON_ROUTES = {
    "search filter": (
        "/v1/collections/fz_text/search",
        b'{"query": {"text": "x"}, "filter": {"a": %s}}',
    ),
    "one-window search": (
        "/v1/search",
        b'{"collections": ["fz_chem"], "query": {"smiles": "C"}, "filter": {"a": %s}}',
    ),
    "exchange package": ("/v1/gateway/packages?collection=fz_text", b'{"header": %s}'),
    "BI records (JSON Lines)": ("/v1/bi/records?format=jsonl", b'{"a": %s}\n'),
    "ledger transaction": (
        "/v1/ledger/transactions",
        b'{"transaction": {"a": %s}, "signatures": {}}',
    ),
    "KServe infer": ("/v2/models/morgan2-2048/infer", _BYTES_INPUT),
}


@pytest.mark.parametrize("route", list(DEEP_JSON_ROUTES))
def test_deeply_nested_json_is_a_400(hostile: Any, route: str) -> None:
    path, template = DEEP_JSON_ROUTES[route]
    for depth in (100, 950, 100_000):
        nested = template % (b"[" * depth + b"]" * depth)
        answer = send(
            hostile,
            f"JSON nested {depth:,} deep ({route})",
            "POST",
            path,
            content=nested,
            headers={"content-type": "application/json"},
        )
        assert answer.status == 400, answer.body[:300]
        assert answer.seconds < ANSWER_WITHIN_S
        error = answer.json()["error"]
        message = error if path.startswith("/v2/") else error["message"]
        assert "nested deeper than 64" in message, message


def test_invalid_utf8_is_a_400(hostile: Any) -> None:
    answer = send(
        hostile,
        "invalid UTF-8 in a JSON body",
        "POST",
        "/v1/collections/fz_text/search",
        content=b'{"query": {"text": "caf\xe9 \xff\xfe"}}',
        headers={"content-type": "application/json"},
    )
    assert_refused(answer, field="body")
    answer = send(
        hostile,
        "invalid UTF-8 in an ST.96 document",
        "POST",
        "/v1/gateway/st96?collection=fz_text",
        content=b'<?xml version="1.0" encoding="UTF-8"?><a>\xff\xfe</a>',
        headers={"content-type": "application/xml"},
    )
    assert_refused(answer)


def test_lone_surrogates_in_json_strings_are_a_400_or_answered(hostile: Any) -> None:
    answer = send(
        hostile,
        "lone UTF-16 surrogates in JSON strings",
        "PUT",
        "/v1/collections/fz_tm/documents",
        content=b'{"documents": [{"id": "s\\ud800", "content": {"word": "\\udfff"}}]}',
        headers={"content-type": "application/json"},
    )
    assert answer.status in (200, 400), answer.body[:300]
    if answer.status == 400:
        assert_refused(answer)


def test_a_slow_loris_body_times_out_and_others_are_served_meanwhile(hostile: Any) -> None:
    pid = hostile.process.pid
    before = rss_bytes(pid)
    outcome: dict[str, Any] = {}

    def loris() -> None:
        started = time.perf_counter()
        with _raw(hostile) as sock:
            sock.sendall(
                b"POST /v1/collections/fz_text/search HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
            )
            sock.settimeout(1.0)
            for _ in range(int(BODY_TIMEOUT_S * 4)):
                try:
                    sock.sendall(b" ")
                except OSError:
                    break
                try:
                    head = sock.recv(65536)
                except TimeoutError:
                    continue
                outcome["answer"] = head + _rest(sock)  # the body may come in a later packet
                break
        outcome["seconds"] = time.perf_counter() - started

    thread = threading.Thread(target=loris)
    thread.start()
    time.sleep(1.5)
    # Meanwhile a normal request answers quickly.
    quick = []
    for _ in range(3):
        started = time.perf_counter()
        assert httpx.get(f"{hostile.url}/healthz", timeout=10).status_code == 200
        answer = httpx.post(
            f"{hostile.url}/v1/collections/fz_chem/search",
            json={"query": {"smiles": "CCO"}},
            timeout=10,
        )
        assert answer.status_code == 200
        quick.append(time.perf_counter() - started)
    thread.join(BODY_TIMEOUT_S * 6)
    after = rss_bytes(pid)
    head = outcome.get("answer", b"")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else "closed"
    _record(
        "slow loris body (1 byte/s)", status, outcome.get("seconds", float("nan")), before, after
    )
    _check_alive(hostile, before, after)
    assert max(quick) < 2.0, quick
    assert status == 408, head[:300]
    assert b"request_timeout" in head
    assert outcome["seconds"] < BODY_TIMEOUT_S + 3


def test_the_server_is_still_healthy_and_bounded_at_the_end(hostile: Any) -> None:
    rss = rss_bytes(hostile.process.pid)
    assert rss < RSS_LIMIT
    assert httpx.get(f"{hostile.url}/readyz", timeout=10).status_code == 200


def _rest(sock: socket.socket) -> bytes:
    """What the server still sends until it closes the connection (at most 5 s)."""
    sock.settimeout(5.0)
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except (TimeoutError, OSError):
        pass
    return b"".join(chunks)
