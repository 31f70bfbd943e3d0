"""The one settings object: defaults < config file < ``IPSIM_*`` environment < CLI flags."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


def parse_hostport(value: str, *, field: str) -> tuple[str, int]:
    """Split ``HOST:PORT`` (``[::1]:80`` for IPv6) and check the port."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{field} must look like HOST:PORT, got {value!r}")
    return host.strip("[]"), int(port)


class SourceSettings(BaseModel):
    """A remote ipsim server searched by the one-window search as ``NAME:collection``."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="Its HTTP address, e.g. `https://search.eapo.example:8080`.")
    api_key: SecretStr | None = Field(None, description="The API key it issued to this office.")
    timeout_ms: float | None = Field(
        None, ge=1, le=120_000, description="Per-search time-out (default `source_timeout_ms`)."
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
            raise ValueError(f"must look like http://HOST:PORT, got {value!r}")
        return value


class Settings(BaseSettings):
    """Everything the server and engine can be configured with.

    Every field reads from the environment as ``IPSIM_<NAME>`` (``IPSIM_DATA``,
    ``IPSIM_API_KEYS``, …) and from a TOML or JSON file given by ``--config`` /
    ``IPSIM_CONFIG``.
    """

    model_config = SettingsConfigDict(env_prefix="IPSIM_", extra="forbid")

    data: Path = Field(Path("var"), description="Directory holding collections (WAL + snapshots).")
    http: str = Field("127.0.0.1:8080", description="HTTP listen address HOST:PORT.")
    grpc: str = Field("127.0.0.1:50051", description="gRPC listen address HOST:PORT.")
    config: Path | None = Field(None, description="TOML or JSON settings file.")
    demo: bool = Field(False, description="Build the demo collections on start if missing.")
    api_keys: Path | None = Field(
        None,
        description="File of `KEY SCOPE...` lines; unset: auth is off, loopback only.",
    )
    insecure: bool = Field(
        False,
        description="Without API keys, listen on a non-loopback address anyway (anyone who can "
        "reach it may read and write). Without this, such a start is refused.",
    )
    tls_cert: Path | None = Field(
        None, description="PEM certificate (chain): serve HTTPS and gRPC over TLS with tls_key."
    )
    tls_key: Path | None = Field(None, description="PEM private key of tls_cert.")

    # Models
    text_model: str = Field(
        "all-MiniLM-L6-v2",
        description="Text encoder: a name from the registry or a path to a sentence-transformers "
        "/ Hugging Face model directory.",
    )
    chunk_tokens: int = Field(256, ge=16, le=4096, description="Tokens per chunk of long text.")
    chunk_overlap: int = Field(32, ge=0, description="Tokens shared by consecutive chunks.")
    device: str = Field("auto", description="`auto`, `cpu`, `cuda` or `cuda:N`.")
    triton_url: str | None = Field(
        None,
        description="Encode text on this Triton / KServe v2 server instead of in process: "
        "`http://HOST:8000` or `grpc://HOST:8001` (`https`/`grpcs` for TLS).",
    )
    triton_model: str | None = Field(
        None, description="The remote model name of `text_model` (default: the same name)."
    )

    # Batcher
    max_batch_size: int = Field(64, ge=1, le=4096)
    max_delay_ms: float = Field(2.0, ge=0, le=1000)
    max_queue: int = Field(4096, ge=1, description="Items waiting per encoder before 429.")

    # Limits
    max_body_bytes: int = Field(32 * 1024 * 1024, ge=1024)
    body_timeout_s: float = Field(
        60.0,
        gt=0,
        description="Time a client has to send a whole request body before a 408 (slow bodies).",
    )
    max_k: int = Field(1000, ge=1)
    max_offset: int = Field(10000, ge=0)
    max_documents_per_request: int = Field(1000, ge=1)
    mesh_max_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="Largest mesh file accepted (decoded bytes)."
    )
    mesh_max_faces: int = Field(
        500_000, ge=1, description="Most triangles a mesh may have (polygons count as n-2)."
    )

    # One-window search
    sources: dict[str, SourceSettings] = Field(
        default_factory=dict,
        description='Remote ipsim servers by name: `{"eapo": {"url": ..., "api_key": ...}}`'
        " (TOML: a `[sources.eapo]` table); searched as `eapo:COLLECTION`.",
    )
    source_timeout_ms: float = Field(
        5000, ge=1, le=120_000, description="Default per-source time-out of the one-window search."
    )

    # Durability
    snapshot_every: int = Field(
        50_000,
        ge=1,
        description="Write a snapshot after this many document writes (upserted/deleted ids).",
    )
    wal_group_commit_ms: float = Field(2.0, ge=0, le=1000)

    # Cluster mode
    ray_address: str | None = Field(
        None,
        description="Keep sharded collections' index shards in Ray actors on this cluster: "
        "`HOST:PORT` of its head (GCS), `auto`, or `ray://HOST:PORT`; unset: in process.",
    )

    # Platform database (result sets; filing, BI… later)
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the platform database, e.g. "
        "`postgresql+psycopg://user@host/ipsim`; unset: the SQLite file `DATA/platform.db`.",
    )
    callback_secret: SecretStr | None = Field(
        None,
        description="Key of the HMAC-SHA256 `X-Ipsim-Signature` on notifications POSTed to "
        "applicants' callback URLs; unset: a random key kept in `DATA/callback-secret`.",
    )
    callback_allow_private: bool = Field(
        False,
        description="Let notifications go to callback URLs on loopback, private or link-local "
        "addresses (refused by default: an applicant must not reach the office's own network).",
    )
    ledger_office_key: Path | None = Field(
        None,
        description="PEM file of the ledger office's Ed25519 key, which signs every entry and "
        "tree head; unset: `DATA/ledger-office.key`, made on first start (mode 0600).",
    )

    @field_validator("sources")
    @classmethod
    def _source_names(cls, value: dict[str, SourceSettings]) -> dict[str, SourceSettings]:
        for name in value:
            if not SOURCE_NAME.fullmatch(name):
                raise ValueError(
                    f"source name {name!r} must be 1-63 lowercase letters, digits, '_' or '-'"
                )
        return value

    @field_validator("triton_url")
    @classmethod
    def _triton_url(cls, value: str | None) -> str | None:
        if value:
            from ipsim.models.triton_backend import TritonUrl

            TritonUrl.parse(value)
        return value or None

    @field_validator("ray_address")
    @classmethod
    def _ray_address(cls, value: str | None) -> str | None:
        if value and value != "auto":
            parse_hostport(value.removeprefix("ray://"), field="ray_address")
        return value or None

    @field_validator("http", "grpc")
    @classmethod
    def _hostport(cls, value: str, info: Any) -> str:
        parse_hostport(value, field=info.field_name)
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Flags (init) beat the environment, which beats the file.
        return (init_settings, env_settings, _FileSource(settings_cls, init_settings, env_settings))

    @model_validator(mode="after")
    def _tls_pair(self) -> Settings:
        if (self.tls_cert is None) != (self.tls_key is None):
            missing = "tls_key" if self.tls_key is None else "tls_cert"
            raise ValueError(f"{missing}: TLS needs both tls_cert and tls_key")
        return self

    @property
    def http_address(self) -> tuple[str, int]:
        return parse_hostport(self.http, field="http")

    @property
    def grpc_address(self) -> tuple[str, int]:
        return parse_hostport(self.grpc, field="grpc")


class _FileSource(PydanticBaseSettingsSource):
    """Reads the file named by ``config`` (from flags or environment)."""

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        init: PydanticBaseSettingsSource,
        env: PydanticBaseSettingsSource,
    ) -> None:
        super().__init__(settings_cls)
        self._init = init
        self._env = env

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = self._init().get("config") or self._env().get("config")
        if not path:
            return {}
        return load_config_file(Path(path))


def load_config_file(path: Path) -> dict[str, Any]:
    """Read a TOML (``.toml``) or JSON settings file into a plain dict."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"config: cannot read {path}: {exc.strerror}") from exc
    try:
        data = json.loads(raw) if path.suffix == ".json" else tomllib.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"config: {path} is not valid {path.suffix or 'TOML'}: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"config: {path} must hold a table of settings")
    return data


__all__ = ["Settings", "SourceSettings", "load_config_file", "parse_hostport"]
