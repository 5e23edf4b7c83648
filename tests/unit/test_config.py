"""The config model: Airbyte's config files work unchanged, and every mistake gets one clear sentence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from source_bigcommerce.config import Config, load_config, parse_config, spec_schema
from source_bigcommerce.errors import ConfigError

AIRBYTE_CONFIG = {"start_date": "2021-01-01", "store_hash": "abc123", "access_token": "tok-secret-1234567890"}


def test_a_config_written_for_airbytes_connector_is_accepted_unchanged() -> None:
    config = parse_config(dict(AIRBYTE_CONFIG))
    assert config.api_url == "https://api.bigcommerce.com"
    assert config.start.isoformat() == "2021-01-01T00:00:00+00:00"
    assert config.token == AIRBYTE_CONFIG["access_token"]


def test_unknown_keys_are_ignored_as_airbytes_spec_allows() -> None:
    assert parse_config({**AIRBYTE_CONFIG, "something_else": 1}).store_hash == "abc123"


def test_the_spec_is_generated_from_the_model_with_airbytes_keys() -> None:
    schema = spec_schema()
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert set(schema["required"]) == {"store_hash", "access_token", "start_date"}
    assert schema["properties"]["access_token"]["airbyte_secret"] is True
    assert schema["additionalProperties"] is True
    assert {"api_url", "max_concurrent_requests", "request_timeout_seconds", "max_retries"} <= set(
        schema["properties"]
    )
    for prop in schema["properties"].values():
        assert prop.get("description"), "every option is documented"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"start_date": None}, "'start_date' has the wrong type"),
        ({"start_date": "2023/01/01"}, "neither YYYY-MM-DD nor an RFC 3339 timestamp"),
        ({"start_date": "2023-02-30"}, "not a real date"),
        ({"max_concurrent_requests": 0}, "'max_concurrent_requests' is invalid"),
        ({"max_concurrent_requests": "many"}, "'max_concurrent_requests' has the wrong type"),
        ({"api_url": "http://api.example.com"}, "plain http to a non-loopback host"),
        ({"api_url": "ftp://127.0.0.1"}, "is not an http(s) URL"),
    ],
)
def test_a_bad_value_gets_one_sentence_naming_the_key(change: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({**AIRBYTE_CONFIG, **change})
    message = caught.value.message
    assert fragment in message
    assert message.count(". ") == 0
    assert message.endswith(".")
    assert AIRBYTE_CONFIG["access_token"] not in message


@pytest.mark.parametrize("key", ["store_hash", "access_token", "start_date"])
def test_a_missing_required_key_is_named(key: str) -> None:
    raw = {k: v for k, v in AIRBYTE_CONFIG.items() if k != key}
    with pytest.raises(ConfigError, match=f"missing the required key '{key}'"):
        parse_config(raw)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9"])
def test_plain_http_is_accepted_for_loopback_hosts(url: str) -> None:
    assert parse_config({**AIRBYTE_CONFIG, "api_url": url + "/"}).api_url == url


def test_a_config_file_that_is_not_json_or_not_there_is_one_sentence(tmp_path: Path) -> None:
    broken = tmp_path / "config.json"
    broken.write_text('{"store_hash": ')
    with pytest.raises(ConfigError, match="is not valid JSON"):
        load_config(broken)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.json")
    broken.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="must be a JSON object"):
        load_config(broken)


def test_the_token_is_a_secret_in_the_models_repr() -> None:
    config = Config.model_validate(AIRBYTE_CONFIG)
    assert AIRBYTE_CONFIG["access_token"] not in repr(config)
    assert AIRBYTE_CONFIG["access_token"] not in str(config.model_dump())
