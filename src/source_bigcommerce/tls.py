"""TLS for the client: one verifying context, built only when the API is reached over https.

aiohttp (3.10 and later) builds two default TLS contexts when it is imported, and each one parses the
system's whole CA bundle: about 0.47 G instructions, half of the connector's start-up and a tenth of a
medium store's read, spent even when the API is the sandbox over plain http. The connector never uses those
contexts, since :func:`client_context` gives the session its own. :func:`import_without_trust_store` lets
aiohttp build them with an empty trust store (``SSL_CERT_FILE`` pointing at the null device for the length
of the import) and restores the environment at once, so the context made here afterwards loads the
system's certificates, or those the user's ``SSL_CERT_FILE`` names, as before.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import sys
from collections.abc import Iterator

CERT_FILE_VARIABLE = "SSL_CERT_FILE"


@contextlib.contextmanager
def import_without_trust_store(module: str) -> Iterator[None]:
    """Within the block, the first import of ``module`` loads no CA certificates into contexts it builds.

    A no-op when ``module`` is already imported, as in the tests, which import the sandbox (and so
    aiohttp) first. Otherwise it assumes what the connector's entry point guarantees: no other thread runs
    yet, since another one building a TLS context inside the block would find no certificates.
    """
    if module in sys.modules:
        yield
        return
    saved = os.environ.get(CERT_FILE_VARIABLE)
    os.environ[CERT_FILE_VARIABLE] = os.devnull
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(CERT_FILE_VARIABLE, None)
        else:
            os.environ[CERT_FILE_VARIABLE] = saved


def client_context() -> ssl.SSLContext:
    """Python's default client context: the system's trust store, hostnames checked, HTTP/1.1 offered."""
    context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])
    return context
