# syntax=docker/dockerfile:1
# The image Airbyte runs (README, "Running it in Airbyte"). requirements/ pins its packages for CPython 3.11 on
# Linux x86_64, so build it for that platform, on any machine:
#   docker build --platform linux/amd64 -t source-bigcommerce:dev .
# The base image is named by its exact version; change the tag and PLATFORM in tools/lock.py together.
ARG PYTHON_IMAGE=python:3.11.17-slim-trixie

# The wheel, built by the pinned pip and setuptools of requirements/build.txt, never by whatever the index
# serves that day.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
COPY requirements/build.txt requirements/
RUN python -m pip install --require-hashes -r requirements/build.txt
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m pip wheel --no-deps --no-build-isolation --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
# Every dependency at the version and sha256 of requirements/runtime.txt, then the connector without
# dependencies of its own; the lock and the wheel are mounted, so neither stays in a layer.
RUN --mount=type=bind,source=requirements/runtime.txt,target=/tmp/runtime.txt \
    --mount=type=bind,from=build,source=/wheels,target=/tmp/wheels \
    python -m pip install --require-hashes -r /tmp/runtime.txt \
    && python -m pip install --no-deps /tmp/wheels/*.whl

# Not root: uid and gid 1000, the user Airbyte's own connector images run as. dlt's working files (load
# packages not yet loaded, the lock of a running sync) go under DLT_DATA_DIR, /var/lib/dlt; as root without
# it they would go to /var/dlt. `sync` writes ./bigcommerce.duckdb into the working directory, /data.
RUN groupadd --gid 1000 airbyte \
    && useradd --uid 1000 --gid 1000 --create-home --shell /usr/sbin/nologin airbyte \
    && mkdir -p /var/lib/dlt /data \
    && chown airbyte:airbyte /var/lib/dlt /data
ENV DLT_DATA_DIR=/var/lib/dlt
USER 1000:1000
WORKDIR /data

# Airbyte's platform reads these to know how to call the connector.
ENV AIRBYTE_ENTRYPOINT="source-bigcommerce"
LABEL io.airbyte.name="source-bigcommerce" \
      io.airbyte.version="0.1.0"

ENTRYPOINT ["source-bigcommerce"]
