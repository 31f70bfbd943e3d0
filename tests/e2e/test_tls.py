"""HTTPS and gRPC over TLS with a test certificate: the SDKs connect when they trust it, plain
connections and untrusting clients are refused, and a half-configured pair stops the start."""

from __future__ import annotations

import datetime as dt
import ipaddress
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ipsim.clients import GrpcClient
from ipsim.clients.http import Client
from ipsim.proto import search_pb2, search_pb2_grpc

from .conftest import ServerProcess, start_server

SERVE = [sys.executable, "-c", "from ipsim.cli import main; main()", "serve"]


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key (PEM files)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ipsim test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    root = tmp_path_factory.mktemp("tls")
    cert, key = _certificate(root)
    proc = start_server(root / "data", "--tls-cert", str(cert), "--tls-key", str(key))
    yield proc, cert
    if proc.process.poll() is None:
        proc.terminate()


def test_https_with_the_sdk_trusting_the_certificate(
    tls_server: tuple[ServerProcess, Path],
) -> None:
    proc, cert = tls_server
    url = f"https://{proc.http}"
    with Client(url, ca_file=cert) as client:
        client.create_collection("tls-docs", "text")
        client.upsert("tls-docs", [{"id": "a", "content": {"text": "a folding bicycle frame"}}])
        hits = client.search("tls-docs", {"text": "bicycle"}, k=1)["hits"]
    assert [hit["id"] for hit in hits] == ["a"]
    # a client that does not trust the certificate, and plain HTTP, get nowhere
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{url}/healthz", timeout=30)
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"http://{proc.http}/healthz", timeout=30)


def test_grpc_over_tls(tls_server: tuple[ServerProcess, Path]) -> None:
    proc, cert = tls_server
    credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
    with GrpcClient(proc.grpc, credentials=credentials) as client:
        client.create_collection("tls-grpc", "text")
        names = [c["name"] for c in client.list_collections()]
    assert "tls-grpc" in names
    with grpc.insecure_channel(proc.grpc) as plain:
        stub = search_pb2_grpc.SearchServiceStub(plain)
        with pytest.raises(grpc.RpcError) as refused:
            stub.ListCollections(search_pb2.ListCollectionsRequest(), timeout=10)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_certificate_without_its_key_stops_the_start(tmp_path: Path) -> None:
    cert, _ = _certificate(tmp_path)
    done = subprocess.run(
        [*SERVE, "--data", str(tmp_path / "d"), "--tls-cert", str(cert)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "tls_key: TLS needs both tls_cert and tls_key" in done.stderr
