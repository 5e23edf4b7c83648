"""Write ``requirements/``: the exact version and sha256 of every package this project installs.

Usage: ``make lock`` after changing a dependency in pyproject.toml (it runs ``python3.11 tools/lock.py``);
commit the three files it rewrites. ``--check`` says whether they were made from pyproject.toml's current
dependencies, and ``--fits`` whether this interpreter is the platform they were made for (``make setup`` runs
both).

* ``requirements/runtime.txt``: what the connector needs to run (the Docker image, a wheel's install).
* ``requirements/build.txt``: pip and the build backend, so that building the wheel or the editable install
  fetches nothing unpinned.
* ``requirements/dev.txt``: both of those plus the test and lint tools: what ``make setup`` installs.

pip resolves them itself (``pip install --dry-run --report``), in three passes, each constrained to the
versions the one before chose, so one package never gets two versions. That is all pip-tools or uv would
do here, and neither would need to be installed and trusted. Each package is pinned to the one file pip
picked for this interpreter, by its sha256, which ``pip install --require-hashes`` then insists on. So the
files are for one platform: CPython 3.11 on Linux x86_64 with glibc, the one CI runs on and the Docker
image is built for. ``make setup`` elsewhere installs the newest versions pyproject.toml allows instead.

The resolution ignores this machine's pip configuration (its local indexes, find-links and constraint
file) and asks PyPI alone, ``--index-url`` to use a mirror: files found only on one machine would fail
in the Docker build and everywhere else.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "requirements"
PYPI = "https://pypi.org/simple"
PLATFORM = "cpython-3.11-linux-x86_64-glibc"
"""The platform the lock is for: CI's, and the Docker image's."""
KEPT_ENVIRONMENT = ("PIP_CERT", "PIP_PROXY", "PIP_DEFAULT_TIMEOUT", "PIP_RETRIES")
"""pip's environment settings that change how it reaches the index, not what it finds there."""
INCLUDES = ("runtime.txt", "build.txt")
"""What dev.txt includes."""
DIGEST_LINE = "# pyproject.toml dependencies: "
PLATFORM_LINE = "# platform: "

Pins = dict[str, tuple[str, str]]
"""Normalised name -> (version, ``sha256:<hex>``)."""


def platform_tag() -> str:
    """This interpreter as the lock names it, such as ``cpython-3.11-linux-x86_64-glibc``: the wheels of a
    musl Linux (Alpine) differ from glibc's."""
    major, minor = sys.version_info[:2]
    libc = platform.libc_ver()[0] or "other"
    return f"{sys.implementation.name}-{major}.{minor}-{sys.platform}-{platform.machine()}-{libc}"


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject() -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib

        with open(ROOT / "pyproject.toml", "rb") as file:
            return tomllib.load(file)
    raise SystemExit("tools/lock.py reads pyproject.toml with tomllib, which needs Python 3.11 or newer.")


def dependencies_digest(project: Mapping[str, Any]) -> str:
    """What the lock was made from: the runtime, optional and build requirements, and nothing else of the
    file, so a change to the linters' settings does not make the lock stale."""
    declared = {
        "dependencies": project["project"]["dependencies"],
        "optional-dependencies": project["project"].get("optional-dependencies", {}),
        "build-system": project["build-system"]["requires"],
    }
    return hashlib.sha256(json.dumps(declared, sort_keys=True).encode()).hexdigest()


def resolve(requirements: list[str], constraints: Pins, index_url: str) -> Pins:
    """What pip would install for ``requirements`` into an empty environment, by PyPI alone."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    environment |= {key: os.environ[key] for key in KEPT_ENVIRONMENT if key in os.environ}
    environment["PIP_CONFIG_FILE"] = os.devnull
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        pinned = Path(folder) / "constraints.txt"
        pinned.write_text("".join(f"{name}=={version}\n" for name, (version, _) in constraints.items()))
        # fmt: off
        command = [
            sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--quiet", "--dry-run",
            "--ignore-installed", "--index-url", index_url, "--constraint", str(pinned),
            "--report", str(report), *requirements,
        ]
        # fmt: on
        subprocess.run(command, check=True, cwd=ROOT, env=environment)
        installs = json.loads(report.read_text())["install"]
    pins: Pins = {}
    for item in installs:
        archive = item["download_info"].get("archive_info")
        if archive is None:  # this project itself, from its folder
            continue
        url = item["download_info"]["url"]
        if not url.endswith(".whl"):
            print(
                f"note: {url.rsplit('/', 1)[-1]} is a source distribution, built when installed",
                file=sys.stderr,
            )
        algorithm, _, value = archive["hash"].partition("=")
        pins[normalise(item["metadata"]["name"])] = (item["metadata"]["version"], f"{algorithm}:{value}")
    return pins


def render(pins: Pins, about: str, includes: tuple[str, ...], digest: str) -> str:
    lines = [
        f"# {about}",
        "# Written by tools/lock.py (`make lock` refreshes it); see its docstring. Do not edit by hand.",
        f"{PLATFORM_LINE}{platform_tag()}",
        f"{DIGEST_LINE}{digest}",
        *(f"-r {name}" for name in includes),
    ]
    for name in sorted(pins):
        version, hashed = pins[name]
        lines += [f"{name}=={version} \\", f"    --hash={hashed}"]
    return "\n".join(lines) + "\n"


def write(index_url: str) -> None:
    if platform_tag() != PLATFORM:
        raise SystemExit(
            f"The lock is for {PLATFORM} (CI's platform and the Docker image's), and this Python is "
            f"{platform_tag()}: run it there, or change PLATFORM in tools/lock.py and the Dockerfile's base image."
        )
    project = pyproject()
    digest = dependencies_digest(project)
    build_requires = ["pip", *project["build-system"]["requires"]]
    runtime = resolve(["."], {}, index_url)
    build = resolve(build_requires, runtime, index_url)
    both = runtime | build
    dev = {
        name: pin
        for name, pin in resolve([".[test]", *build_requires], both, index_url).items()
        if name not in both
    }
    FOLDER.mkdir(exist_ok=True)
    files = {
        "runtime.txt": (runtime, "What the connector needs to run: the Docker image, a wheel's install.", ()),
        "build.txt": (build, "pip and the build backend: to build the wheel or the editable install.", ()),
        "dev.txt": (dev, "The test and lint tools: `make setup` installs all three files.", INCLUDES),
    }
    for name, (pins, about, includes) in files.items():
        (FOLDER / name).write_text(render(pins, about, includes, digest))
    print(f"requirements/: {len(runtime)} runtime, {len(build)} build, {len(dev)} test and lint packages")


def recorded(line_start: str) -> set[str]:
    """The value each lock file records on its ``line_start`` line."""
    values = set()
    for path in sorted(FOLDER.glob("*.txt")):
        for line in path.read_text().splitlines():
            if line.startswith(line_start):
                values.add(line.removeprefix(line_start))
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--index-url", default=PYPI, help=f"the index to resolve from (default {PYPI})")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 unless the lock matches pyproject.toml's dependencies"
    )
    parser.add_argument(
        "--fits", action="store_true", help="exit 1 unless this interpreter is the platform of the lock"
    )
    args = parser.parse_args(argv)
    if args.fits:
        return 0 if recorded(PLATFORM_LINE) == {platform_tag()} else 1
    if args.check:
        if recorded(DIGEST_LINE) != {dependencies_digest(pyproject())}:
            print(
                "requirements/ was made from other dependencies than pyproject.toml's: run `make lock` "
                "and commit what it rewrites.",
                file=sys.stderr,
            )
            return 1
        return 0
    write(args.index_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
