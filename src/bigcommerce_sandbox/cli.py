"""``bigcommerce-sandbox serve``: argument parsing, exit codes and the foreground server.

The first stdout line is one JSON object, a ready connector config, so a script can start the sandbox and
read where it listens; everything after that goes to stderr. Bad arguments get one sentence on stderr and
exit code 2; SIGINT and SIGTERM stop the server cleanly with exit code 0.
"""

from __future__ import annotations

import argparse
import asyncio
import calendar
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import NoReturn

import orjson

from bigcommerce_sandbox.app import Settings, base_url_of, bind, connector_config, make_sandbox, serve
from bigcommerce_sandbox.faults import FaultSpecError
from bigcommerce_sandbox.limits import PLANS
from bigcommerce_sandbox.query import ParamError, parse_instant
from bigcommerce_sandbox.store import PRESETS

FAULTS_HELP = (
    "fault rules separated by ';', each 'KIND[:DELAY_MS] WHEN [PATH]': KIND is 500, 502, 503, 504, 429 "
    "(no rate-limit headers), reset, truncate, badjson or slow; WHEN is p=0.05, 5%% or n=3 / n=3,7 / "
    "n=2-4 / n=10+ (the Nth requests matching PATH); PATH like /v3/catalog/products or "
    "/v3/orders/*/transactions. Example: '503 n=3 /v3/catalog/products; reset p=0.02'"
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"bigcommerce-sandbox: {message}; see --help.\n")
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bigcommerce-sandbox", description="A faithful local BigCommerce API.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    s = commands.add_parser("serve", help="serve a generated store until interrupted")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (loopback unless --allow-remote)")
    s.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    s.add_argument("--seed", type=int, default=1, help="seed of the generated store")
    s.add_argument("--size", default="tiny", choices=tuple(PRESETS), help="preset store size")
    for name in ("customers", "orders", "products", "brands", "categories", "channels", "pages"):
        s.add_argument(f"--{name}", type=int, default=None, help=f"number of {name} (overrides --size)")
    s.add_argument("--tie-cluster", type=int, default=None, help="records sharing one date_modified second")
    s.add_argument(
        "--anchor",
        default=None,
        help="generated history ends one second before this time (ISO 8601, RFC 2822 or epoch seconds); "
        "default: now",
    )
    s.add_argument("--plan", default="unlimited", choices=tuple(PLANS), help="rate-limit plan")
    s.add_argument("--quota", type=int, default=None, help="requests per window (overrides --plan)")
    s.add_argument("--window-ms", type=int, default=None, help="rate-limit window in milliseconds")
    s.add_argument("--latency-ms", type=float, default=0.0, help="added to every API response")
    s.add_argument("--jitter-ms", type=float, default=0.0, help="random extra latency, up to this much")
    s.add_argument("--faults", default="", help=FAULTS_HELP)
    s.add_argument("--scopes", default=None, help="comma-separated OAuth scopes granted (default: all)")
    s.add_argument("--activity", type=float, default=0.0, help="background changes per second")
    s.add_argument("--store-hash", default="sandbox")
    s.add_argument("--token", default="sandbox-token", help="the X-Auth-Token the sandbox accepts")
    s.add_argument("--allow-remote", action="store_true", help="allow binding a non-loopback address")
    s.add_argument("--cache-mb", type=int, default=256, help="memory for cached serialized records")
    s.add_argument(
        "--warm",
        action="store_true",
        help="render records into the cache before serving (slower start, no cold first pass)",
    )
    return parser


def parse_anchor(raw: str) -> int:
    text = raw.strip()
    if text.isdigit():
        return int(text)
    try:
        return int(parse_instant("--anchor", text).seconds)
    except ParamError:
        raise ValueError(
            f"--anchor {raw!r} is not a time; write 2024-06-01T00:00:00Z or epoch seconds"
        ) from None


def settings_from(args: argparse.Namespace) -> Settings:
    scopes = None
    if args.scopes is not None:
        scopes = tuple(s.strip() for s in args.scopes.split(",") if s.strip())
        if not scopes:
            raise ValueError("--scopes needs at least one scope name, such as store_v2_orders_read_only")
    settings = Settings(
        host=args.host,
        port=args.port,
        seed=args.seed,
        size=args.size,
        customers=args.customers,
        orders=args.orders,
        products=args.products,
        brands=args.brands,
        categories=args.categories,
        channels=args.channels,
        pages=args.pages,
        tie_cluster=args.tie_cluster,
        anchor=parse_anchor(args.anchor) if args.anchor is not None else None,
        plan=args.plan,
        quota=args.quota,
        window_ms=args.window_ms,
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
        faults=args.faults,
        scopes=scopes,
        activity=args.activity,
        store_hash=args.store_hash,
        token=args.token,
        allow_remote=args.allow_remote,
        cache_mb=args.cache_mb,
        warm=args.warm,
    )
    settings.validate()
    return settings


async def _run(settings: Settings) -> None:
    anchor = settings.anchor if settings.anchor is not None else calendar.timegm(time.gmtime())
    settings = replace(settings, anchor=anchor)
    sock = bind(settings)
    started = time.monotonic()
    sb = make_sandbox(settings, base_url_of(sock, settings.host))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    def ready() -> None:
        sys.stdout.write(orjson.dumps(connector_config(sb)).decode() + "\n")
        sys.stdout.flush()
        counts = {name: len(table) for name, table in sb.store.tables.items()}
        sys.stderr.write(
            f"bigcommerce-sandbox: serving {sb.base_url}/stores/{settings.store_hash} "
            f"({', '.join(f'{v} {k}' for k, v in counts.items())}; built in {time.monotonic() - started:.1f} s)\n"
        )
        sys.stderr.flush()

    await serve(sb, sock, stop, ready)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = settings_from(args)
    except (ValueError, FaultSpecError) as err:
        sys.stderr.write(f"bigcommerce-sandbox: {err}.\n")
        return 2
    try:
        asyncio.run(_run(settings))
    except OSError as err:
        sys.stderr.write(
            f"bigcommerce-sandbox: cannot listen on {settings.host}:{settings.port}: {err.strerror}.\n"
        )
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
