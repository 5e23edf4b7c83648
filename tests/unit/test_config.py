"""The config: Airbyte's config files work unchanged, every mistake gets one clear sentence, and the spec
and the validation, both made from one table, agree."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from source_bigcommerce.config import LIMITS, OPTIONS, Config, load_config, parse_config, spec_schema
from source_bigcommerce.errors import ConfigError

AIRBYTE_CONFIG = {"start_date": "2021-01-01", "store_hash": "abc123", "access_token": "tok-secret-1234567890"}


def test_a_config_written_for_airbytes_connector_is_accepted_unchanged() -> None:
    config = parse_config(dict(AIRBYTE_CONFIG))
    assert config.api_url == "https://api.bigcommerce.com"
    assert config.start.isoformat() == "2021-01-01T00:00:00+00:00"
    assert config.access_token == AIRBYTE_CONFIG["access_token"]


def test_a_misspelt_key_is_an_error_that_names_the_closest_valid_key() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config({**AIRBYTE_CONFIG, "max_concurent_requests": 4})
    assert raised.value.message == (
        "Config key 'max_concurent_requests' is unknown; did you mean 'max_concurrent_requests'?"
    )


def test_a_misspelt_required_key_is_named_as_misspelt_rather_than_as_missing() -> None:
    raw = {key: value for key, value in AIRBYTE_CONFIG.items() if key != "store_hash"} | {
        "store_hsh": "abc123"
    }
    with pytest.raises(ConfigError) as raised:
        parse_config(raw)
    assert raised.value.message == "Config key 'store_hsh' is unknown; did you mean 'store_hash'?"


def test_a_key_close_to_no_option_is_answered_with_every_valid_key() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config({**AIRBYTE_CONFIG, "colour": "blue"})
    names = ", ".join(option.name for option in OPTIONS)
    assert raised.value.message == f"Config key 'colour' is unknown; the keys are {names}."


def test_the_unknown_key_sentence_names_the_key_but_never_its_value() -> None:
    raw = {key: value for key, value in AIRBYTE_CONFIG.items() if key != "access_token"}
    with pytest.raises(ConfigError) as raised:
        parse_config(raw | {"acces_token": AIRBYTE_CONFIG["access_token"]})
    assert raised.value.message == "Config key 'acces_token' is unknown; did you mean 'access_token'?"


def test_given_a_warning_callback_each_unknown_key_is_reported_and_ignored() -> None:
    warned: list[str] = []
    config = parse_config(
        {**AIRBYTE_CONFIG, "max_retrys": 3, "__injected_by_a_platform": {}}, on_unknown_key=warned.append
    )
    assert config == parse_config(AIRBYTE_CONFIG)
    assert warned[0] == "Config key 'max_retrys' is unknown; did you mean 'max_retries'?"
    assert warned[1].startswith("Config key '__injected_by_a_platform' is unknown; the keys are store_hash, ")
    assert len(warned) == 2


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
        ({"store_hash": ""}, "'store_hash' is invalid: string should have at least 1 character"),
        ({"max_concurrent_requests": 257}, "'max_concurrent_requests' is invalid: input should be less than"),
        (
            {"max_retries": 2.5},
            "'max_retries' is invalid: input should be a valid integer, got a number with a",
        ),
        ({"max_retries": [3]}, "'max_retries' has the wrong type: input should be a valid integer"),
        (
            {"request_timeout_seconds": 0},
            "'request_timeout_seconds' is invalid: input should be greater than 0",
        ),
        ({"request_timeout_seconds": "nan"}, "'request_timeout_seconds' is invalid"),
        ({"request_timeout_seconds": "soon"}, "unable to parse string as a number"),
        ({"access_token": 12345}, "'access_token' has the wrong type: input should be a valid string"),
        ({"store_hash": "../../v3/customers"}, "'../../v3/customers' is not a store hash"),
        ({"store_hash": "abc%2F"}, "is not a store hash, which is letters and digits only"),
        ({"access_token": "tok-secret-1234567890\n"}, "'access_token' is invalid: the token holds a control"),
        ({"access_token": "tok-secret\r\nX-Evil: 1"}, "'access_token' is invalid: the token holds a control"),
        ({"api_url": "http://user:hunter2@127.0.0.1:9"}, "'http://…@127.0.0.1:9' carries a user name or"),
        ({"api_url": "https://:hunter2@api.example.com"}, "carries a user name or password before the host"),
        ({"api_url": "http://127.0.0.1:9/?store=abc"}, "has a query (?...) or a fragment (#...)"),
        ({"api_url": "http://127.0.0.1:9/#top"}, "has a query (?...) or a fragment (#...)"),
        ({"api_url": "https://api.bigcommerce.com?"}, "has a query (?...) or a fragment (#...)"),
        ({"api_url": "http://127.0.0.1:9/ api"}, "holds a space or a control character"),
        ({"api_url": "http://127.0.0.1:99999"}, "has a port that is not a number from 0 to 65535"),
        ({"api_url": "https://api.example.com:abc"}, "has a port that is not a number from 0 to 65535"),
        ({"api_url": "http://127.0.0.1:9\n"}, "holds a space or a control character"),
        ({"max_response_mb": 0}, "'max_response_mb' is invalid: input should be greater than or equal to 1"),
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
    assert "hunter2" not in message, "a password in api_url is a secret too"


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


def test_the_token_is_not_in_the_configs_repr() -> None:
    config = parse_config(AIRBYTE_CONFIG)
    assert config.access_token == AIRBYTE_CONFIG["access_token"]
    assert AIRBYTE_CONFIG["access_token"] not in repr(config)


def test_numbers_are_taken_as_leniently_as_pydantic_took_them() -> None:
    # Config files written for the pydantic model this replaced keep working.
    config = parse_config(
        {
            **AIRBYTE_CONFIG,
            "max_concurrent_requests": "32",
            "max_retries": 3.0,
            "request_timeout_seconds": "45",
        }
    )
    assert (config.max_concurrent_requests, config.max_retries, config.request_timeout_seconds) == (
        32,
        3,
        45.0,
    )
    assert isinstance(
        parse_config({**AIRBYTE_CONFIG, "request_timeout_seconds": 5}).request_timeout_seconds, float
    )


def test_the_table_and_the_config_class_name_the_same_keys_with_the_same_types() -> None:
    python_type = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}
    assert [(f.name, f.type) for f in fields(Config)] == [(o.name, python_type[o.kind]) for o in OPTIONS]
    for option in OPTIONS:
        assert set(option.limits) <= set(LIMITS), f"{option.name} is limited by a keyword nothing checks"


def test_every_default_passes_its_own_checks() -> None:
    defaults = {option.name: option.default for option in OPTIONS if option.default is not None}
    assert parse_config({**AIRBYTE_CONFIG, **defaults}) == parse_config(AIRBYTE_CONFIG)


CANDIDATES: list[dict[str, Any]] = [
    AIRBYTE_CONFIG,
    {**AIRBYTE_CONFIG, "store_hash": ""},
    *({k: v for k, v in AIRBYTE_CONFIG.items() if k != key} for key in AIRBYTE_CONFIG),
    *({**AIRBYTE_CONFIG, "max_concurrent_requests": n} for n in (0, 1, 256, 257, 16.5, "16")),
    *({**AIRBYTE_CONFIG, "request_timeout_seconds": n} for n in (0, 0.001, 600, 600.5, -1)),
    *({**AIRBYTE_CONFIG, "max_retries": n} for n in (-1, 0, 50, 51, None)),
    {**AIRBYTE_CONFIG, "access_token": 5},
    {**AIRBYTE_CONFIG, "unknown": [1]},
    *({**AIRBYTE_CONFIG, "store_hash": h} for h in ("17hoqh4ddx", "ABC123", "../x", "a/b", "a" * 65)),
    *({**AIRBYTE_CONFIG, "access_token": t} for t in ("tok\nX", "\ttok", "tok\x7f", "tök 1")),
    *({**AIRBYTE_CONFIG, "max_response_mb": n} for n in (0, 1, 1024, 1025)),
]


@pytest.mark.parametrize("raw", CANDIDATES)
def test_the_spec_and_the_validation_agree(raw: dict[str, Any]) -> None:
    # Both come from one table; a platform validating against the spec and the connector validating the
    # file must accept the same configs (the spec cannot say what a date or a safe URL is, and does not
    # take numbers written as strings: the candidates stay clear of those). The platform's connector is the
    # protocol face, which only warns of a key the spec leaves open.
    lenient_only = isinstance(raw.get("max_concurrent_requests"), str)
    by_spec = jsonschema.Draft7Validator(spec_schema()).is_valid(raw)
    try:
        parse_config(raw, on_unknown_key=lambda sentence: None)
        by_connector = True
    except ConfigError:
        by_connector = False
    assert by_connector == (by_spec or lenient_only)


def test_the_connectors_entry_point_does_not_import_pydantic() -> None:
    # pydantic's import and a model's build were two fifths of the connector's start-up (config.py).
    code = "import sys, source_bigcommerce.cli; print(sorted(m for m in sys.modules if 'pydantic' in m))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_emit_deletes_is_a_boolean_false_unless_set() -> None:
    assert parse_config(AIRBYTE_CONFIG).emit_deletes is False
    assert parse_config({**AIRBYTE_CONFIG, "emit_deletes": True}).emit_deletes is True
    assert parse_config({**AIRBYTE_CONFIG, "emit_deletes": "false"}).emit_deletes is False
    with pytest.raises(
        ConfigError, match="'emit_deletes' has the wrong type: input should be a valid boolean"
    ):
        parse_config({**AIRBYTE_CONFIG, "emit_deletes": 1})


def test_a_file_larger_than_any_config_is_refused_after_reading_the_limit_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `--config /dev/zero` (or a multi-GB file given by mistake) was read whole: 3.5 GB in 8 s, then the OOM killer.
    monkeypatch.setattr("source_bigcommerce.errors.MAX_FILE_BYTES", 1 << 20)
    path = tmp_path / "config.json"
    path.write_bytes(b"{" + b" " * (1 << 20) + b"}")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.message == (
        f"Config file {str(path)!r} is larger than 1 MB, which no config, catalog or state is; check the path."
    )
