"""The Airbyte protocol face as a platform runs it: the console script in a child process, stdout parsed."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest
from airbyte_protocol.models import AirbyteMessage

from bigcommerce_sandbox.app import RunningSandbox
from source_bigcommerce.streams import BY_NAME, STREAMS

from support import (
    ALL_STREAMS,
    SEVERAL_CHUNKS,
    child_env,
    configured_catalog,
    console_script,
    run_cli,
    write_json,
)

SandboxFactory = Any


def messages(stdout: bytes) -> list[dict[str, Any]]:
    """Every stdout line must be one protocol message."""
    parsed = [orjson.loads(line) for line in stdout.splitlines()]
    for message in parsed:
        AirbyteMessage.model_validate(message)
    return parsed


def test_spec_prints_one_spec_message_with_airbytes_keys() -> None:
    done = run_cli("spec")
    assert done.returncode == 0
    [message] = messages(done.stdout)
    spec = message["spec"]["connectionSpecification"]
    assert {"store_hash", "access_token", "start_date"} <= set(spec["required"])
    assert spec["properties"]["access_token"]["airbyte_secret"] is True


def test_discover_lists_every_stream_without_any_network_call(tmp_path: Path) -> None:
    # Port 9 on loopback has no listener: any request would fail, so success proves none was made.
    config = {
        "store_hash": "x",
        "access_token": "t",
        "start_date": "2024-01-01",
        "api_url": "http://127.0.0.1:9",
    }
    done = run_cli("discover", "--config", str(write_json(tmp_path / "config.json", config)))
    assert done.returncode == 0, done.stderr
    [message] = messages(done.stdout)
    streams = {s["name"]: s for s in message["catalog"]["streams"]}
    assert list(streams) == list(ALL_STREAMS)
    for name in ("customers", "orders", "products", "channels"):
        assert streams[name]["default_cursor_field"] == ["date_modified"]
        assert "incremental" in streams[name]["supported_sync_modes"]
    for name in ("pages", "store", "brands", "categories"):
        assert streams[name]["supported_sync_modes"] == ["full_refresh"]
    for name in ("order_products", "transactions"):
        assert "incremental" in streams[name]["supported_sync_modes"]
    for name, stream in streams.items():
        key = BY_NAME[name].primary_key
        assert stream["source_defined_primary_key"] == [field.split(".") for field in key], name
    assert streams["inventory_items"]["source_defined_primary_key"] == [["identity", "variant_id"]]
    assert streams["price_list_records"]["source_defined_primary_key"] == [
        ["price_list_id"],
        ["variant_id"],
        ["currency"],
    ]
    assert streams["order_coupons"]["source_defined_primary_key"] == [["order_id"], ["id"]]


def test_check_succeeds_against_a_store_with_every_scope(sandbox: RunningSandbox, tmp_path: Path) -> None:
    done = run_cli("check", "--config", str(write_json(tmp_path / "config.json", sandbox.config)))
    assert done.returncode == 0, done.stderr
    [status] = [m for m in messages(done.stdout) if m["type"] == "CONNECTION_STATUS"]
    assert status["connectionStatus"]["status"] == "SUCCEEDED"


def test_check_names_the_streams_whose_scope_is_missing(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    granted = ("store_v2_orders_read_only", "store_v2_products_read_only")
    sb = sandbox_factory(scopes=granted)
    done = run_cli("check", "--config", str(write_json(tmp_path / "config.json", sb.config)))
    [status] = [m for m in messages(done.stdout) if m["type"] == "CONNECTION_STATUS"]
    assert status["connectionStatus"]["status"] == "SUCCEEDED"
    text = status["connectionStatus"]["message"]
    named = text.split("the streams ", 1)[1].split(" will be skipped", 1)[0].split(", ")
    lacking = [
        spec.name
        for spec in STREAMS
        if spec.scope not in granted
        or (spec.parent is not None and BY_NAME[spec.parent].scope not in granted)
    ]
    assert "order_products" not in lacking
    assert named == lacking
    assert {"channels", "customers", "pages", "store", "transactions", "coupons", "inventory_items"} <= set(
        named
    )


def test_check_fails_with_one_sentence_for_a_bad_token(sandbox: RunningSandbox, tmp_path: Path) -> None:
    config = {**sandbox.config, "access_token": "not-the-token-0123456789"}
    done = run_cli("check", "--config", str(write_json(tmp_path / "config.json", config)))
    assert done.returncode == 0  # Airbyte reads the verdict from CONNECTION_STATUS; see cli.status
    [status] = [m for m in messages(done.stdout) if m["type"] == "CONNECTION_STATUS"]
    assert status["connectionStatus"]["status"] == "FAILED"
    assert "401" in status["connectionStatus"]["message"]
    assert b"Traceback" not in done.stderr
    assert b"not-the-token-0123456789" not in done.stdout + done.stderr


def test_read_writes_only_protocol_messages_and_a_state_per_stream(
    world_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    config = write_json(tmp_path / "config.json", world_sandbox.config)
    catalog = write_json(tmp_path / "catalog.json", configured_catalog())
    done = run_cli("read", "--config", str(config), "--catalog", str(catalog))
    assert done.returncode == 0, done.stderr
    parsed = messages(done.stdout)
    records = [m for m in parsed if m["type"] == "RECORD"]
    assert {m["record"]["stream"] for m in records} == set(ALL_STREAMS)
    finals = {m["state"]["stream"]["stream_descriptor"]["name"] for m in parsed if m["type"] == "STATE"}
    assert finals == set(ALL_STREAMS)

    # The emitted states, saved as Airbyte does, make the next read incremental.
    state = write_json(tmp_path / "state.json", [m["state"] for m in parsed if m["type"] == "STATE"])
    again = run_cli("read", "--config", str(config), "--catalog", str(catalog), "--state", str(state))
    assert again.returncode == 0, again.stderr
    streams_again = {m["record"]["stream"] for m in messages(again.stdout) if m["type"] == "RECORD"}
    # The full-refresh streams are read whole again; the incremental ones found nothing new.
    assert streams_again == {spec.name for spec in STREAMS if not spec.incremental}
    assert {"pages", "store", "brands", "categories", "coupons", "product_variants"} <= streams_again


@pytest.mark.parametrize(
    ("command", "answer"), [("check", "CONNECTION_STATUS"), ("discover", "CATALOG"), ("read", "RECORD")]
)
def test_an_unknown_config_key_is_a_warning_log_naming_the_closest_key_and_the_command_goes_on(
    command: str, answer: str, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    config = write_json(tmp_path / "config.json", {**sandbox.config, "max_concurent_requests": 4})
    catalog = write_json(tmp_path / "catalog.json", configured_catalog(("brands",)))
    done = run_cli(
        command, "--config", str(config), *(["--catalog", str(catalog)] if command == "read" else [])
    )
    assert done.returncode == 0, done.stderr
    parsed = messages(done.stdout)
    assert parsed[0] == {
        "type": "LOG",
        "log": {
            "level": "WARN",
            "message": "Config key 'max_concurent_requests' is unknown; did you mean 'max_concurrent_requests'?",
        },
    }
    assert answer in {m["type"] for m in parsed}
    if command == "check":
        [status] = [m["connectionStatus"] for m in parsed if m["type"] == "CONNECTION_STATUS"]
        assert status["status"] == "SUCCEEDED"


def test_check_does_not_mistake_a_payment_service_outage_for_a_missing_scope(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    # BigCommerce answers 503 on transactions while its payment service is down (bigcommerce/docs PR #732):
    # the scope was granted, the connection works.
    sb = sandbox_factory(faults="503 p=1 /v3/orders/*/transactions")
    done = run_cli("check", "--config", str(write_json(tmp_path / "config.json", sb.config)))
    [status] = [m for m in messages(done.stdout) if m["type"] == "CONNECTION_STATUS"]
    assert status["connectionStatus"]["status"] == "SUCCEEDED", status


def test_a_read_whose_stdout_is_closed_early_stops_with_a_sentence_not_a_traceback(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    # More output than a pipe holds, so the read must write again after its reader went away (`| head -1`).
    sb = sandbox_factory(**SEVERAL_CHUNKS)
    config = write_json(tmp_path / "config.json", sb.config)
    catalog = write_json(tmp_path / "catalog.json", configured_catalog(("customers", "orders", "products")))
    process = subprocess.Popen(
        [str(console_script()), "read", "--config", str(config), "--catalog", str(catalog)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
    )
    assert process.stdout is not None
    assert process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=120) == 1
    assert orjson.loads(first)["type"] in ("TRACE", "RECORD", "LOG", "STATE")
    assert stderr.strip() == "Stopped: the reader of stdout closed it before the command finished."


def test_a_bad_state_of_a_stream_not_read_incrementally_does_not_stop_the_read(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    # customers is read in full here (the way out of a broken state) and orders is not selected: neither
    # resumes from its state, so neither state may fail the read.
    config = write_json(tmp_path / "config.json", sandbox.config)
    catalog = configured_catalog(("customers", "brands"), mode="full_refresh")
    brands = next(entry for entry in catalog["streams"] if entry["stream"]["name"] == "brands")
    brands["sync_mode"] = "incremental"  # brands have no cursor: read in full, with a warning
    bad = {"stream_state": {"date_modified": "not-a-date"}}
    state = write_json(
        tmp_path / "state.json",
        [
            {"type": "STREAM", "stream": {"stream_descriptor": {"name": name}, **bad}}
            for name in ("customers", "orders")
        ],
    )
    done = run_cli(
        "read", "--config", str(config), "--catalog", str(write_json(tmp_path / "c.json", catalog)),
        "--state", str(state),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    parsed = messages(done.stdout)
    assert {m["record"]["stream"] for m in parsed if m["type"] == "RECORD"} == {"customers", "brands"}
    warnings = [m["log"]["message"] for m in parsed if m["type"] == "LOG" and m["log"]["level"] == "WARN"]
    assert any("brands" in message for message in warnings), warnings
