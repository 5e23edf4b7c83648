"""``sync`` on the command line: where the global options go, what ``--json`` prints whatever happens, what a
run that stopped before reading shows, and the commands' help."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest

from bigcommerce_sandbox.app import RunningSandbox

from support import child_env, console_script, run_cli, write_json

BAD_TOKEN = (
    "BigCommerce rejected the access token (HTTP 401): check access_token and that its API account still "
    "exists for this store."
)


def sync_args(config: Path, tmp_path: Path, *extra: str) -> list[str]:
    return [
        "sync",
        "--config",
        str(config),
        "--credentials",
        str(tmp_path / "store.duckdb"),
        "--pipelines-dir",
        str(tmp_path / "pipelines"),
        "--streams",
        "brands",
        *extra,
    ]


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_and_json_go_before_or_after_the_command(
    sandbox: RunningSandbox, tmp_path: Path, where: str
) -> None:
    config = write_json(tmp_path / "config.json", sandbox.config)
    args = sync_args(config, tmp_path)
    done = run_cli(*(["--debug", "--json", *args] if where == "before" else [*args, "--debug", "--json"]))
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    [line] = done.stdout.splitlines()
    summary = orjson.loads(line)
    assert summary["ok"] is True
    assert summary["streams"]["brands"]["rows"] == len(sandbox.export("brands"))


@pytest.mark.parametrize(
    ("config", "says"),
    [
        (None, "Config file '…' does not exist."),
        ({"store_hash": "x"}, "The config is missing the required key 'access_token'."),
    ],
)
def test_with_json_a_config_error_is_one_json_object_too(
    tmp_path: Path, config: dict[str, Any] | None, says: str
) -> None:
    path = tmp_path / "config.json"
    if config is not None:
        write_json(path, config)
    done = run_cli(*sync_args(path, tmp_path), "--json")
    assert done.returncode == 1
    [line] = done.stdout.splitlines()
    answer = orjson.loads(line)
    assert answer["ok"] is False
    head, _, tail = says.partition("…")
    assert answer["error"].startswith(head)
    assert answer["error"].endswith(tail)
    assert done.stderr.decode().strip() == answer["error"]


def test_with_json_a_usage_error_is_one_json_object_too(tmp_path: Path) -> None:
    done = run_cli("--json", "sync", "--config", "x.json", "--chunk-seconds", "0")
    assert done.returncode == 2
    [line] = done.stdout.splitlines()
    assert orjson.loads(line) == {"ok": False, "error": "--chunk-seconds must be more than 0"}
    assert (
        done.stderr.decode().splitlines()[-1]
        == "source-bigcommerce: error: --chunk-seconds must be more than 0"
    )


def test_a_run_that_stops_before_reading_prints_its_sentence_and_no_table_of_streams(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    config = write_json(tmp_path / "config.json", {**sandbox.config, "access_token": "tok-wrong-0000"})
    done = run_cli(*sync_args(config, tmp_path))
    assert done.returncode == 1
    assert done.stdout == b""  # no summary table of streams that never started
    assert done.stderr.decode().splitlines()[-1] == BAD_TOKEN
    as_json = run_cli(*sync_args(config, tmp_path), "--json")
    [line] = as_json.stdout.splitlines()
    summary = orjson.loads(line)
    assert (summary["ok"], summary["error"]) == (False, BAD_TOKEN)


def test_a_duckdb_table_of_other_column_types_fails_the_load_in_one_sentence_without_dlts_traceback(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    # dlt logs a load job that failed terminally at ERROR, with its traceback, and its log level was ERROR.
    import duckdb

    with duckdb.connect(str(tmp_path / "store.duckdb")) as connection:
        connection.execute("CREATE TABLE brands (id VARCHAR, name INTEGER)")
    config = write_json(tmp_path / "config.json", sandbox.config)
    done = run_cli(*sync_args(config, tmp_path))
    stderr = done.stderr.decode()
    assert done.returncode == 1, stderr
    assert "Traceback" not in stderr
    assert "[ERROR]" not in stderr
    assert stderr.splitlines()[-1].startswith(
        f"Loading into duckdb {tmp_path / 'store.duckdb'} failed: ConversionException: Conversion Error: "
    )


def test_a_sync_whose_stdout_is_closed_before_its_summary_says_so_on_stderr(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    # `sync | head -1`: rich's console met the closed pipe and exited with status 1, saying nothing.
    config = write_json(tmp_path / "config.json", sandbox.config)
    process = subprocess.Popen(
        [str(console_script()), *sync_args(config, tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
    )
    assert process.stdout is not None
    assert process.stderr is not None
    process.stdout.close()
    stderr = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=120) == 1
    assert "Traceback" not in stderr
    assert stderr.splitlines()[-1] == "Stopped: the reader of stdout closed it before the command finished."


@pytest.mark.parametrize("command", ["spec", "check", "discover", "read", "sync"])
def test_each_commands_help_says_what_it_does(command: str) -> None:
    done = run_cli(command, "--help")
    assert done.returncode == 0
    text = done.stdout.decode()
    usage, _, rest = text.partition("\n\n")
    assert usage.startswith(f"usage: source-bigcommerce {command}")
    description = rest.split("\n\n")[0]
    assert not description.startswith("options:"), f"{command} --help has no description"


def test_a_demo_of_streams_without_orders_and_customers_ends_with_its_summary_not_an_error(
    tmp_path: Path,
) -> None:
    # The demo's answer asks the orders and customers tables, which `--streams brands` never made.
    done = run_cli(
        "sync",
        "--demo",
        "--streams",
        "brands",
        "--credentials",
        str(tmp_path / "demo.duckdb"),
        "--pipelines-dir",
        str(tmp_path / "pipelines"),
    )
    stderr = done.stderr.decode()
    assert done.returncode == 0, stderr
    assert "Internal error" not in stderr
    assert "│ brands │ complete │" in done.stdout.decode()


def test_a_log_level_dlt_does_not_know_in_the_environment_is_a_sentence_naming_it(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    config = write_json(tmp_path / "config.json", sandbox.config)
    done = run_cli(*sync_args(config, tmp_path), env={"RUNTIME__LOG_LEVEL": "warning"})
    stderr = done.stderr.decode()
    assert done.returncode == 1, stderr
    assert stderr.splitlines() == [
        "The environment sets RUNTIME__LOG_LEVEL to 'warning', which is not a log level dlt knows; use one of "
        "CRITICAL, ERROR, WARNING, INFO or DEBUG, or unset it."
    ]
