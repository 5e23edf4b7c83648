"""How fast the sandbox serves: records per second for 250-record pages, with no latency and no quota.

The sandbox runs as a user would run it (``bigcommerce-sandbox serve`` in a subprocess); this process
fetches every page of customers, products and orders concurrently with aiohttp (``--parse`` also parses
each body with orjson, which on a two-core machine becomes the limit: about 2 ms per page of orders).
The first pass over a resource is "cold" (records are generated on first touch); later passes are
"warm" (served from the byte cache). The figures are reported, never asserted: the target is at least
100,000 records/s so the sandbox is never the bottleneck of a connector benchmark.

Two figures per pass: wall-clock records/s as this one client sees them (on a small machine the client's
own parsing is usually the limit), and the sandbox's capacity, records per CPU-second the server process
spent (read from /proc on Linux), which is what it could serve to faster clients.

    python -m bench.sandbox_throughput [--size medium] [--concurrency 8] [--seconds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson

RESULTS = Path(__file__).resolve().parent / "results" / "sandbox_throughput.json"
ROUTES = {
    "customers": ("/v3/customers", "v3"),
    "products": ("/v3/catalog/products", "v3"),
    "orders": ("/v2/orders", "v2"),
    "orders+line_items": ("/v2/orders?include=consignments.line_items&consignment_structure=object", "v2"),
}


async def _pages(
    session: aiohttp.ClientSession, base: str, token: str, path: str, version: str
) -> tuple[list[str], int]:
    """Every page URL of a resource and its record count."""
    sep = "&" if "?" in path else "?"
    if version == "v3":
        async with session.get(f"{base}{path}{sep}limit=250", headers={"X-Auth-Token": token}) as response:
            total = orjson.loads(await response.read())["meta"]["pagination"]["total"]
    else:
        async with session.get(f"{base}/v2/orders/count", headers={"X-Auth-Token": token}) as response:
            total = orjson.loads(await response.read())["count"]
    pages = -(-total // 250)
    return [f"{base}{path}{sep}limit=250&page={page}" for page in range(1, pages + 1)], total


def _server_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used, or NaN where /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _pass(
    session: aiohttp.ClientSession, urls: list[str], token: str, version: str, concurrency: int, parse: bool
) -> tuple[int, float]:
    """Fetch every URL once; returns (bytes, seconds). With ``parse`` each page's records are counted."""
    queue = list(reversed(urls))
    nbytes = 0

    async def worker() -> None:
        nonlocal nbytes
        while queue:
            url = queue.pop()
            async with session.get(url, headers={"X-Auth-Token": token}) as response:
                body = await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{url} answered {response.status}")
            nbytes += len(body)
            if parse:
                parsed = orjson.loads(body)
                count = len(parsed) if version == "v2" else len(parsed["data"])
                if count != 250 and url != urls[-1]:
                    raise RuntimeError(f"{url} held {count} records, not 250")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return nbytes, time.perf_counter() - started


async def measure(
    base: str, token: str, concurrency: int, seconds: float, pid: int, parse: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=300)
    ) as session:
        for name, (path, version) in ROUTES.items():
            urls, total = await _pages(session, base, token, path, version)
            _cold_bytes, cold_s = await _pass(session, urls, token, version, concurrency, parse)
            cold_records = total
            warm_records = warm_bytes = 0
            warm_s = 0.0
            cpu_before = _server_cpu(pid)
            while warm_s < seconds:
                b, s = await _pass(session, urls, token, version, concurrency, parse)
                warm_records, warm_bytes, warm_s = warm_records + total, warm_bytes + b, warm_s + s
            server_cpu = _server_cpu(pid) - cpu_before
            out[name] = {
                "pages": len(urls),
                "cold_records_per_s": round(cold_records / cold_s),
                "warm_records_per_s": round(warm_records / warm_s),
                "warm_records_per_server_cpu_s": round(warm_records / server_cpu) if server_cpu > 0 else None,
                "warm_mb_per_s": round(warm_bytes / warm_s / 1e6, 1),
                "bytes_per_record": round(warm_bytes / max(warm_records, 1)),
            }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="medium")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--seconds", type=float, default=3.0, help="minimum time spent on warm passes per resource"
    )
    parser.add_argument("--warm", action="store_true", help="start the sandbox with --warm (no cold pass)")
    parser.add_argument("--parse", action="store_true", help="also parse every body in the measuring process")

    args = parser.parse_args()
    cmd = [sys.executable, "-m", "bigcommerce_sandbox.cli", "serve", "--size", args.size, "--seed", "1"]
    if args.warm:
        cmd.append("--warm")
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        config = orjson.loads(proc.stdout.readline())
        startup_s = time.perf_counter() - started
        base = f"{config['api_url']}/stores/{config['store_hash']}"
        results = asyncio.run(
            measure(base, config["access_token"], args.concurrency, args.seconds, proc.pid, args.parse)
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    report = {
        "size": args.size,
        "concurrency": args.concurrency,
        "client_parses_bodies": args.parse,
        "warm_start": args.warm,
        "startup_s": round(startup_s, 2),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "resources": results,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
    parsed = ", bodies parsed by the client" if args.parse else ""
    print(
        f"sandbox throughput, --size {args.size}, {args.concurrency} concurrent requests, 250-record pages{parsed}"
    )
    print(
        f"{'resource':<20}{'pages':>7}{'cold rec/s':>13}{'warm rec/s':>13}{'rec/server-cpu-s':>18}"
        f"{'warm MB/s':>11}{'B/record':>10}"
    )
    for name, row in results.items():
        capacity = row["warm_records_per_server_cpu_s"]
        print(
            f"{name:<20}{row['pages']:>7}{row['cold_records_per_s']:>13,}{row['warm_records_per_s']:>13,}"
            f"{capacity if capacity is None else format(capacity, ','):>18}"
            f"{row['warm_mb_per_s']:>11}{row['bytes_per_record']:>10}"
        )
    print(f"(server start-up {startup_s:.2f} s; written to {RESULTS})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
