"""Settings: flags beat IPSIM_* variables, which beat the config file; bad values name the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from ipsim.config import Settings, parse_hostport


def test_precedence_file_then_environment_then_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "ipsim.toml"
    config.write_text('http = "127.0.0.1:9000"\nmax_k = 50\nmax_batch_size = 8\n')
    monkeypatch.setenv("IPSIM_CONFIG", str(config))
    monkeypatch.setenv("IPSIM_MAX_K", "70")
    settings = Settings(max_batch_size=16)
    assert settings.http == "127.0.0.1:9000"  # from the file
    assert settings.max_k == 70  # the environment beats the file
    assert settings.max_batch_size == 16  # a flag beats both


def test_json_config_file(tmp_path: Path) -> None:
    config = tmp_path / "ipsim.json"
    config.write_text('{"data": "/srv/ipsim", "demo": true}')
    settings = Settings(config=config)
    assert settings.data == Path("/srv/ipsim") and settings.demo is True


def test_bad_values_name_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPSIM_HTTP", "no-port")
    with pytest.raises(ValidationError, match="http"):
        Settings()
    monkeypatch.delenv("IPSIM_HTTP")
    with pytest.raises(ValidationError, match="max_batch_size"):
        Settings(max_batch_size=0)
    with pytest.raises(ValidationError, match="nonsense"):
        Settings(nonsense=1)
    broken = tmp_path / "broken.toml"
    broken.write_text("http = ")
    with pytest.raises(ValueError, match="not valid"):
        Settings(config=broken)


def test_hostport_parsing() -> None:
    assert parse_hostport("[::1]:8080", field="http") == ("::1", 8080)
    assert parse_hostport("0.0.0.0:0", field="http") == ("0.0.0.0", 0)
    with pytest.raises(ValueError):
        parse_hostport("host:99999", field="grpc")
