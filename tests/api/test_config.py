"""Where the key and URL come from (argument > environment > config file > default),
which settings are refused, and no key over plain http to a remote host."""

from __future__ import annotations

import pickle

import httpx
import pytest

import pixxel_geo as px
from pixxel_geo.api.config import resolve_config

from .conftest import BASE, TOKEN


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


def test_blank_env_key_does_not_hide_the_config_file(config_file, monkeypatch):
    monkeypatch.setenv("PIXXEL_API_KEY", "   ")
    config = resolve_config()
    assert config.api_key == "from-file" and str(config_file) in config.api_key_source


def test_blank_argument_falls_through_to_the_environment(config_file, monkeypatch):
    monkeypatch.setenv("PIXXEL_API_KEY", "from-env")
    assert resolve_config(api_key="  ").api_key_source == "the PIXXEL_API_KEY environment variable"


def test_base_url_with_spaces_is_accepted(config_file):
    assert resolve_config(base_url="  http://127.0.0.1:8000/ ").base_url == "http://127.0.0.1:8000"


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


@pytest.mark.parametrize("cls", [px.Client, px.AsyncClient])
def test_config_and_individual_settings_together_are_refused(cls):
    config = resolve_config(api_key=TOKEN, base_url=BASE)
    with pytest.raises(px.ConfigurationError, match="api_key") as info:
        cls(api_key="argkey", config=config)
    assert TOKEN not in str(info.value) and "argkey" not in str(info.value)


@pytest.mark.parametrize(
    "make",
    [
        lambda: px.RetryPolicy(max_attempts=0),
        lambda: px.RetryPolicy(backoff_cap=-1),
        lambda: px.PollSchedule(first=0),
        lambda: px.PollSchedule(factor=0.5),
        lambda: px.Client(api_key="k", base_url=BASE, timeout=0),
        lambda: px.Client(api_key="k", base_url=BASE, timeout=-1),
        lambda: px.ClientConfig(timeout=float("nan")),
    ],
)
def test_bad_settings_are_refused(make):
    with pytest.raises(px.ConfigurationError):
        make()


def test_key_is_not_sent_over_plain_http_to_a_remote_host():
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200, json={"stores": []}))
    with px.Client(api_key=TOKEN, base_url="http://api.example.com", transport=transport) as client:
        with pytest.raises(px.ConfigurationError, match="https://") as info:
            client.stores.list()
        assert TOKEN not in str(info.value) and sent == []
        assert client.ping() is not None  # no key needed, so no refusal


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000"])
def test_plain_http_to_loopback_still_works(host):
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"stores": []}))
    with px.Client(api_key=TOKEN, base_url=f"http://{host}", transport=transport) as client:
        assert client.stores.list() == []


# -- hardening (issue 15): a bad URL or key is named as such, before any request ----------------------------


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:abc", "http://127.0.0.1:99999", "https://api.pixxel .space", "https://", "http://[::1",
     "https://api.pixxel.space/\nx", "ftp://api.pixxel.space"],
)  # fmt: skip
def test_bad_api_urls_are_configuration_errors(url, monkeypatch):
    monkeypatch.delenv("PIXXEL_API_URL", raising=False)
    with pytest.raises(px.ConfigurationError, match="API URL"):
        px.Client(api_key="k", base_url=url)


@pytest.mark.parametrize("key", ["abc\ndef", "abc def", "abc\x00", "clé-é"])
def test_keys_with_spaces_or_control_characters_are_refused_without_showing_them(make_client, key):
    client, rec = make_client(lambda r: pytest.fail("a request was sent"), api_key=key)
    with pytest.raises(px.ConfigurationError, match="API key") as info:
        client.stores.list()
    assert key not in str(info.value) and rec.requests == []


@pytest.mark.parametrize(
    "kwargs",
    [{"api_key": 5}, {"base_url": 5}, {"base_url": b"http://127.0.0.1"}, {"config": 5}, {"poll_schedule": 5},
     {"transport": "http"}],
)  # fmt: skip
def test_settings_of_the_wrong_type_are_refused(kwargs, monkeypatch):
    monkeypatch.setenv("PIXXEL_API_KEY", "k")
    with pytest.raises(px.ConfigurationError):
        px.Client(**kwargs)
    with pytest.raises(px.ConfigurationError):
        px.AsyncClient(**kwargs)
