"""Where the key and URL come from: argument > environment > config file > default."""

from __future__ import annotations

import pickle

import pytest

import pixxel_geo as px
from pixxel_geo.api._config import resolve_config


@pytest.fixture
def config_file(tmp_path, monkeypatch):
    path = tmp_path / "config.toml"
    path.write_text('api_key = "from-file"\nbase_url = "http://127.0.0.1:7000"\n')
    monkeypatch.setenv("PIXXEL_CONFIG", str(path))
    monkeypatch.delenv("PIXXEL_API_KEY", raising=False)
    monkeypatch.delenv("PIXXEL_API_URL", raising=False)
    return path


def test_file_then_env_then_argument(config_file, monkeypatch):
    config = resolve_config()
    assert config.api_key == "from-file" and config.base_url == "http://127.0.0.1:7000"
    assert str(config_file) in config.api_key_source
    monkeypatch.setenv("PIXXEL_API_KEY", "from-env")
    monkeypatch.setenv("PIXXEL_API_URL", "http://127.0.0.1:8000/")
    config = resolve_config()
    assert config.api_key == "from-env" and config.base_url == "http://127.0.0.1:8000"
    assert config.api_key_source == "the PIXXEL_API_KEY environment variable"
    config = resolve_config(api_key="from-arg", base_url="http://127.0.0.1:9000")
    assert config.api_key == "from-arg" and config.base_url == "http://127.0.0.1:9000"


def test_default_url(monkeypatch, tmp_path):
    monkeypatch.setenv("PIXXEL_CONFIG", str(tmp_path / "missing.toml"))
    monkeypatch.delenv("PIXXEL_API_URL", raising=False)
    assert resolve_config().base_url == "https://api.pixxel.space"


def test_bad_config_file_is_a_clear_error(tmp_path, monkeypatch):
    path = tmp_path / "config.toml"
    path.write_text("api_key = [unclosed")
    monkeypatch.setenv("PIXXEL_CONFIG", str(path))
    monkeypatch.delenv("PIXXEL_API_KEY", raising=False)
    with pytest.raises(px.ConfigurationError, match="config file"):
        resolve_config()


def test_bad_url_is_refused():
    with pytest.raises(px.ConfigurationError, match="not an http"):
        resolve_config(api_key="k", base_url="ftp://example")


def test_config_pickles_and_rebuilds_a_client():
    config = resolve_config(api_key="k", base_url="http://127.0.0.1:1")
    clone = pickle.loads(pickle.dumps(config))
    assert clone == config
    with px.Client.from_config(clone) as client:
        assert client.config.api_key == "k" and not client.closed
    assert client.closed
