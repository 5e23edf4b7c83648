# The image Airbyte runs: `docker build -t source-bigcommerce:dev .`, then `docker run --rm source-bigcommerce:dev spec`.
FROM python:3.11-slim

WORKDIR /airbyte/integration_code
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir . && rm -rf /root/.cache

# Airbyte's platform reads these to know how to call the connector.
ENV AIRBYTE_ENTRYPOINT="source-bigcommerce"
LABEL io.airbyte.name="source-bigcommerce" \
      io.airbyte.version="0.1.0"

ENTRYPOINT ["source-bigcommerce"]
