"""airbyte-source-bigcommerce 0.2.22, installed from PyPI into a Python 3.10 virtualenv under bench/.work/.

The package declares ``Requires-Python >=3.9,<3.12`` and its CDK (1.0.0) fails at import on 3.11, so the
harness needs a 3.10 interpreter: ``$BENCH_PYTHON310``, else ``python3.10`` on PATH, else a pyenv 3.10
install. The virtualenv is created once and reused while it still imports the pinned version; nothing of
Airbyte's is committed (bench/.work/ is git-ignored). :mod:`bench.airbyte_runner` runs it.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

VERSION = "0.2.22"
PACKAGE = f"airbyte-source-bigcommerce=={VERSION}"
WORK = Path(__file__).resolve().parent / ".work"
VENV = WORK / f"airbyte-{VERSION}"
RUNNER = Path(__file__).resolve().parent / "airbyte_runner.py"
_PROBE = (
    "import importlib.metadata as m, sys; "
    f"sys.exit(0 if m.version('airbyte-source-bigcommerce') == '{VERSION}' else 1)"
)


def python310() -> str:
    """A Python 3.10 interpreter to build the virtualenv with."""
    candidates = [os.environ.get("BENCH_PYTHON310", ""), shutil.which("python3.10") or ""]
    candidates += sorted(
        glob.glob(os.path.expanduser("~/.pyenv/versions/3.10*/bin/python3.10")), reverse=True
    )
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; sys.exit(sys.version_info[:2] != (3, 10))"],
            capture_output=True,
            check=False,
        )
        if probe.returncode == 0:
            return candidate
    raise RuntimeError(
        "airbyte-source-bigcommerce 0.2.22 needs Python 3.10 (its CDK fails on 3.11): install it, or point "
        "BENCH_PYTHON310 at one, or run `make bench` with --skip-airbyte."
    )


def python() -> Path:
    return VENV / "bin" / "python"


def ensure_installed() -> dict[str, Any]:
    """Create the virtualenv and install the package unless it is already there; says what it did."""
    started = time.monotonic()
    if python().exists() and subprocess.run([str(python()), "-c", _PROBE], check=False).returncode == 0:
        return {"venv": str(VENV.relative_to(WORK.parent.parent)), "installed_now": False, "seconds": 0.0}
    interpreter = python310()
    if VENV.exists():
        shutil.rmtree(VENV)
    subprocess.run([interpreter, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", PACKAGE],
        check=True,
        stdout=sys.stderr,
    )
    return {
        "venv": str(VENV.relative_to(WORK.parent.parent)),
        "installed_now": True,
        "interpreter": interpreter,
        "seconds": round(time.monotonic() - started, 1),
    }


def command(*args: str) -> list[str]:
    """The command line that runs the Airbyte connector with ``args`` (``read --config ... --catalog ...``)."""
    return [str(python()), str(RUNNER), *args]
