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
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import NoReturn

import orjson

from bigcommerce_sandbox.app import Settings, base_url_of, bind, connector_config, make_sandbox, serve
from bigcommerce_sandbox.faults import FaultSpecError
from bigcommerce_sandbox.limits import PLANS
from bigcommerce_sandbox.query import ParamError, parse_instant
from bigcommerce_sandbox.registry import BY_NAME, PAGED, PRESETS, TABLES
from bigcommerce_sandbox.strict import STRICT_COUNT_LAG, STRICT_HEAVY_PAGE_ITEMS, STRICT_PAGE_CAPS

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


class _DefaultsFormatter(argparse.HelpFormatter):
    """Shows each option's default, except where there is none to show (a switch that is off, or a value
    that comes from elsewhere, which the help text names)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        shown = not (default is None or default is False or default in ("", argparse.SUPPRESS))
        if "%(default)" in text or not shown or not action.option_strings:
            return text
        return text + " (default: %(default)s)"


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bigcommerce-sandbox", description="A faithful local BigCommerce API.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    s = commands.add_parser(
        "serve", help="serve a generated store until interrupted", formatter_class=_DefaultsFormatter
    )
    s.add_argument("--host", default="127.0.0.1", help="address to bind (loopback unless --allow-remote)")
    s.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    s.add_argument("--seed", type=int, default=1, help="seed of the generated store")
    s.add_argument("--size", default="tiny", choices=tuple(PRESETS), help="preset store size")
    for name in TABLES:
        s.add_argument(
            f"--{name.replace('_', '-')}", type=int, default=None, help=f"number of {name} (overrides --size)"
        )
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
    s.add_argument("--store-hash", default="sandbox", help="the store hash in request paths")
    s.add_argument("--token", default="sandbox-token", help="the X-Auth-Token the sandbox accepts")
    s.add_argument("--allow-remote", action="store_true", help="allow binding a non-loopback address")
    s.add_argument("--cache-mb", type=int, default=256, help="memory for cached serialized records")
    s.add_argument(
        "--warm",
        action="store_true",
        help="render records into the cache before serving (slower start, no cold first pass)",
    )
    stingy = s.add_argument_group(
        "stingy options", "what real BigCommerce does that a connector must survive; --strict turns on every "
        "one, and each can be set on its own (see docs/sandbox.md)"
    )  # fmt: skip
    stingy.add_argument("--strict", action="store_true", help="turn on every stingy option below")
    stingy.add_argument(
        "--page-cap",
        action="append",
        default=None,
        metavar="N|RESOURCE=N",
        help="serve at most N rows a page, numbering pages by that size: N for every list, RESOURCE=N for "
        f"one ({', '.join(PAGED)}); repeatable. With --strict: {_caps_text()}",
    )
    on_with_strict = "on with --strict"
    stingy.add_argument(
        "--shuffle-ties",
        action=argparse.BooleanOptionalAction,
        help=f"records that tie on a sort other than id come in a different order each request ({on_with_strict})",
    )
    stingy.add_argument(
        "--count-lag",
        type=int,
        default=None,
        metavar="N",
        help=f"/v2/orders/count repeats its previous answer N times after the orders change "
        f"({STRICT_COUNT_LAG} with --strict, else 0)",
    )
    stingy.add_argument(
        "--heavy-page-items",
        type=int,
        default=None,
        metavar="N",
        help="a page of orders with include=consignments.line_items holding more than N line items is a 500 "
        f"({STRICT_HEAVY_PAGE_ITEMS} with --strict, else 0: off)",
    )
    stingy.add_argument(
        "--hide-archived",
        action=argparse.BooleanOptionalAction,
        help=f"leave archived orders out of /v2/orders and its count unless is_deleted=true ({on_with_strict})",
    )
    stingy.add_argument(
        "--reject-encoded-dates",
        action=argparse.BooleanOptionalAction,
        help=f"a percent-encoded date filter on /v3/customers or /v3/channels is a 400 ({on_with_strict})",
    )
    stingy.add_argument(
        "--reject-unknown-params",
        action=argparse.BooleanOptionalAction,
        help=f"a query parameter /v3/content/pages does not support is a 400 ({on_with_strict})",
    )
    stingy.add_argument(
        "--fill-rare-dates",
        action=argparse.BooleanOptionalAction,
        help=f"fill order products' event_date and products' date_last_imported ({on_with_strict})",
    )
    return parser


def _caps_text() -> str:
    caps = ", ".join(f"{name} {cap}" for name, cap in STRICT_PAGE_CAPS.items())
    smaller = [
        f"{name} with include={' or '.join(includes)} {cap}"
        for name in PAGED
        for cap, includes in _by_cap(BY_NAME[name].include_caps).items()
    ]
    return "; ".join([caps, *smaller])


def _by_cap(include_caps: Mapping[str, int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for include, cap in include_caps.items():
        out.setdefault(cap, []).append(include)
    return out


def parse_page_caps(values: Sequence[str]) -> tuple[int | None, dict[str, int]]:
    """``--page-cap`` values: ``N`` for every list (the last one wins) and ``RESOURCE=N`` for one."""
    every: int | None = None
    one: dict[str, int] = {}
    for value in values:
        name, _, number = value.rpartition("=")
        if not number.strip().isdigit():
            raise ValueError(f"--page-cap wants N or RESOURCE=N, such as 40 or products=10, not {value!r}")
        if name:
            one[name.strip()] = int(number)
        else:
            every = int(number)
    return every, one


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
    page_cap, page_caps = parse_page_caps(args.page_cap or ())
    settings = Settings(
        host=args.host,
        port=args.port,
        seed=args.seed,
        size=args.size,
        counts={name: getattr(args, name) for name in TABLES if getattr(args, name) is not None},
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
        strict=args.strict,
        page_cap=page_cap,
        page_caps=page_caps or None,
        shuffle_ties=args.shuffle_ties,
        count_lag=args.count_lag,
        heavy_page_items=args.heavy_page_items,
        hide_archived=args.hide_archived,
        reject_encoded_dates=args.reject_encoded_dates,
        reject_unknown_params=args.reject_unknown_params,
        fill_rare_dates=args.fill_rare_dates,
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
