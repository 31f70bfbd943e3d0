"""The ``ipsim serve`` process: HTTP (uvicorn) and gRPC in one asyncio loop over one engine."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import uvicorn
from sqlalchemy.exc import SQLAlchemyError

from ipsim.config import Settings
from ipsim.engine.engine import Engine, EngineOptions
from ipsim.engine.errors import NotReady
from ipsim.platform.bi.demo_data import seed_demo
from ipsim.platform.database import database_url
from ipsim.platform.filing.demo_attorneys import seed_demo_register
from ipsim.platform.filing.facade import EngineFacade
from ipsim.platform.filing.notifications import notifier_options
from ipsim.platform.services import Platform
from ipsim.server.app import create_app
from ipsim.server.auth import ApiKeys
from ipsim.server.demo import build_demo
from ipsim.server.grpc_service import GrpcLimits, create_server
from ipsim.server.remote_sources import build_federation

log = logging.getLogger("ipsim.serve")

SHUTDOWN_GRACE_S = 15.0
CLOSE_TIMEOUT_S = 60.0


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handling: this process shuts HTTP and gRPC down together."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def engine_options(settings: Settings) -> EngineOptions:
    return EngineOptions(
        data=settings.data,
        device=settings.device,
        text_model=settings.text_model,
        chunk_tokens=settings.chunk_tokens,
        chunk_overlap=settings.chunk_overlap,
        max_batch_size=settings.max_batch_size,
        max_delay_ms=settings.max_delay_ms,
        max_queue=settings.max_queue,
        max_k=settings.max_k,
        max_offset=settings.max_offset,
        snapshot_every=settings.snapshot_every,
        wal_group_commit_ms=settings.wal_group_commit_ms,
        mesh_max_bytes=settings.mesh_max_bytes,
        mesh_max_faces=settings.mesh_max_faces,
        ray_address=settings.ray_address,
        triton_url=settings.triton_url,
        triton_model=settings.triton_model,
    )


async def serve(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT; return the exit status."""
    api_keys = ApiKeys.load(settings.api_keys) if settings.api_keys else None
    http_host, http_port = settings.http_address
    grpc_host, grpc_port = settings.grpc_address
    if api_keys is None:
        exposed = [h for h in (http_host, grpc_host) if not _is_loopback(h)]
        if exposed and not settings.insecure:
            print(
                f"ipsim: refusing to listen on {exposed[0]} without API keys: set IPSIM_API_KEYS"
                " (a file of `KEY SCOPE...` lines), listen on 127.0.0.1, or pass --insecure",
                file=sys.stderr,
            )
            return 2
        if exposed:
            log.warning("auth is off on %s: anyone who can reach it may write", exposed)
        else:
            log.warning("auth is off (no IPSIM_API_KEYS); listening on loopback only")
    try:
        tls = _tls(settings)
    except OSError as exc:
        print(f"ipsim: cannot read the TLS certificate or key: {exc}", file=sys.stderr)
        return 2

    try:
        platform = Platform.open(
            database_url(settings.database_url, settings.data),
            settings.data,
            notifications=notifier_options(settings),
            ledger_key=settings.ledger_office_key,
        )
    except SQLAlchemyError as exc:
        print(f"ipsim: cannot open the platform database: {exc}", file=sys.stderr)
        return 1

    engine = Engine(engine_options(settings))
    try:
        await engine.start()
    except NotReady as exc:  # a Ray cluster that cannot be reached, say
        print(f"ipsim: {exc.message}", file=sys.stderr)
        await engine.close()
        await platform.close()
        return 1
    if settings.demo:
        await build_demo(engine)
        seed_demo_register(platform.attorneys)  # idempotent: upserts the same demo numbers
        await asyncio.to_thread(seed_demo, platform.bi_records)  # idempotent; synthetic BI data

    platform.attach_engine(EngineFacade(engine))
    await platform.start()

    federation = build_federation(engine, settings)
    grpc_server, grpc_service = create_server(
        engine, api_keys=api_keys, limits=GrpcLimits.from_settings(settings), federation=federation
    )
    try:
        address = f"{_bracket(grpc_host)}:{grpc_port}"
        if tls is None:
            bound_grpc = grpc_server.add_insecure_port(address)
        else:
            credentials = grpc.ssl_server_credentials([(tls.key, tls.cert)])
            bound_grpc = grpc_server.add_secure_port(address, credentials)
    except RuntimeError:  # grpcio raises "Failed to bind" (older releases returned 0)
        bound_grpc = 0
    if bound_grpc == 0:
        print(f"ipsim: cannot listen for gRPC on {grpc_host}:{grpc_port}", file=sys.stderr)
        await engine.close()
        await platform.close()
        return 1
    await grpc_server.start()

    app = create_app(engine, settings, api_keys, platform, federation)
    config = uvicorn.Config(
        app,
        host=http_host,
        port=http_port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=int(SHUTDOWN_GRACE_S),
        lifespan="off",
        ssl_certfile=settings.tls_cert,
        ssl_keyfile=settings.tls_key,
    )
    http_server = _Uvicorn(config)
    http_task = asyncio.create_task(http_server.serve())
    while not http_server.started:
        if http_task.done():
            print(f"ipsim: cannot listen for HTTP on {http_host}:{http_port}", file=sys.stderr)
            await grpc_server.stop(None)
            await engine.close()
            await platform.close()
            return 1
        await asyncio.sleep(0.01)
    bound_http = http_server.servers[0].sockets[0].getsockname()[1]

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await grpc_service.set_serving(True)
    http_at = f"{_bracket(http_host)}:{bound_http}"
    grpc_at = f"{_bracket(grpc_host)}:{bound_grpc}"
    print(f"ipsim ready http={http_at} grpc={grpc_at}", flush=True)

    await stop.wait()
    log.info("shutting down: finishing in-flight requests")
    await grpc_service.shutdown()
    http_server.should_exit = True
    await asyncio.gather(http_task, grpc_server.stop(SHUTDOWN_GRACE_S), return_exceptions=True)
    await federation.close()
    await platform.close()
    try:
        await asyncio.wait_for(engine.close(), CLOSE_TIMEOUT_S)
    except TimeoutError:
        # Every acknowledged write is already in a write-ahead log; the next start replays it.
        log.error(
            "closing the engine took over %ss; exiting without a final snapshot", CLOSE_TIMEOUT_S
        )
        logging.shutdown()
        os._exit(1)  # a stuck worker thread would otherwise hold the interpreter's exit
    return 0


@dataclass(frozen=True)
class _TlsPair:
    cert: bytes
    key: bytes


def _tls(settings: Settings) -> _TlsPair | None:
    """The PEM certificate and key when TLS is configured (read once, for gRPC)."""
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    return _TlsPair(settings.tls_cert.read_bytes(), settings.tls_key.read_bytes())


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def run(**flags: Any) -> int:
    """Entry point of ``ipsim serve``: flags beat ``IPSIM_*`` variables, which beat the file."""
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    settings = Settings(**{k: v for k, v in flags.items() if v is not None})
    return asyncio.run(serve(settings))
