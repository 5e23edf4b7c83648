"""The built wheel, installed from the lock into a clean virtualenv, works on its own: what a user or the
Docker image gets, with no editable install, no source tree and no test dependency to lean on.

Slow (a wheel build, a virtualenv and about fifty packages from pip's cache), so ``make test-slow`` runs it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from bigcommerce_sandbox.app import RunningSandbox

from support import ALL_STREAMS, child_env, configured_catalog, write_json

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"
PIN = re.compile(r"^([a-z0-9-]+)==(\S+) \\$", re.MULTILINE)


def run(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=child_env(), capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"{command}: {done.stderr}"
    return done


def build_wheel(folder: Path) -> Path:
    """The wheel of a copy of the working tree, so no build/ or stale egg-info lands in (or comes from) it;
    built with the locked setuptools already in this venv, as the Dockerfile builds it."""
    source = folder / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check")
    run(
        *pip, "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", folder / "dist", source, cwd=folder
    )
    [wheel] = (folder / "dist").glob("*.whl")
    return wheel


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_wheel_installed_from_the_lock_into_a_clean_venv_runs_spec_discover_read_and_sync(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    fits = subprocess.run([sys.executable, ROOT / "tools" / "lock.py", "--fits"], check=False)
    if fits.returncode != 0:
        pytest.skip("requirements/ pins the packages for another platform than this one")
    wheel = build_wheel(tmp_path)
    assert wheel.name.startswith("bigcommerce_connector-")
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    pip = (python, "-m", "pip", "--disable-pip-version-check")
    run(*pip, "install", "--require-hashes", "-r", RUNTIME_LOCK, cwd=tmp_path)
    run(*pip, "install", "--no-deps", wheel, cwd=tmp_path)
    run(*pip, "check", cwd=tmp_path)

    # Exactly the lock's versions, and nothing else but the venv's own pip and setuptools.
    listed = json.loads(run(*pip, "list", "--format", "json", cwd=tmp_path).stdout)
    installed = {re.sub(r"[-_.]+", "-", item["name"]).lower(): item["version"] for item in listed}
    locked = dict(PIN.findall(RUNTIME_LOCK.read_text()))
    assert {name: installed.get(name) for name in locked} == locked
    assert set(installed) - set(locked) <= {"bigcommerce-connector", "pip", "setuptools"}
    where = run(python, "-c", "import source_bigcommerce; print(source_bigcommerce.__file__)", cwd=tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(venv)

    command = venv / "bin" / "source-bigcommerce"
    spec = json.loads(run(command, "spec", cwd=tmp_path).stdout)
    assert spec["type"] == "SPEC"

    config = write_json(tmp_path / "config.json", sandbox.config)
    [catalog] = [
        json.loads(line)
        for line in run(command, "discover", "--config", config, cwd=tmp_path).stdout.splitlines()
    ]
    assert [stream["name"] for stream in catalog["catalog"]["streams"]] == list(ALL_STREAMS)

    chosen = write_json(tmp_path / "catalog.json", configured_catalog(("customers", "orders")))
    read = run(command, "read", "--config", config, "--catalog", chosen, cwd=tmp_path)
    messages = [json.loads(line) for line in read.stdout.splitlines()]
    records = [m["record"] for m in messages if m["type"] == "RECORD"]
    assert len([r for r in records if r["stream"] == "orders"]) == len(sandbox.export("orders"))

    database = tmp_path / "store.duckdb"
    target = ("--credentials", database, "--pipelines-dir", tmp_path / "dlt")
    run(command, "sync", "--config", config, *target, cwd=tmp_path)
    with duckdb.connect(str(database), read_only=True) as connection:
        counts = {
            name: connection.execute(f"SELECT count(*) FROM {name}").fetchone()
            for name in ("customers", "orders")
        }
    assert counts == {name: (len(sandbox.export(name)),) for name in ("customers", "orders")}
