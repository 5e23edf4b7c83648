"""requirements/ is for the platform the Docker image runs. (That it matches pyproject.toml's dependencies
is checked by ``make setup``, before anything is installed from it.)"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_docker_image_starts_from_an_exact_python_of_the_locks_platform() -> None:
    [image] = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    exact = re.fullmatch(r"python:(\d+)\.(\d+)\.\d+-slim-[a-z]+", image)
    assert exact, f"{image} is not an exact version"
    platforms = {
        line.removeprefix("# platform: ")
        for path in (ROOT / "requirements").glob("*.txt")
        for line in path.read_text().splitlines()
        if line.startswith("# platform: ")
    }
    assert platforms == {f"cpython-{exact[1]}.{exact[2]}-linux-x86_64-glibc"}
