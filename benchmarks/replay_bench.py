"""Benchmark of the replay exchange: requests/second and p50/p99 latency for klines and ticker/24hr.

Bounded in time and count, 127.0.0.1 only. Two phases per endpoint:
  * paced: a fixed rate (default 100 requests/s) spread over a few keep-alive connections, the
    way Freqtrade's ccxt client talks to it; p99 must stay under 20 ms so the server is never
    the bottleneck;
  * burst: as fast as possible over the same connections (a bounded number of requests), for the
    ceiling.

    .venv/bin/python benchmarks/replay_bench.py                 # starts its own server (history clock)
    .venv/bin/python benchmarks/replay_bench.py --url http://127.0.0.1:8765 --rate 100 --seconds 10
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import threading
import time
import urllib.parse
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from smartpf.replay.runner import running_replay  # noqa: E402

ENDPOINTS = {
    "klines 1m x500": "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=500",
    "klines 1h x1000 (paged)": "/api/v3/klines?symbol=ETHUSDT&interval=1h&limit=1000&startTime=1700000000000",
    "ticker/24hr 1 symbol": "/api/v3/ticker/24hr?symbol=BTCUSDT",
    "ticker/24hr all symbols": "/api/v3/ticker/24hr",
}


def _worker(host: str, port: int, path: str, times: list[float], interval: float | None, until: float,
            max_count: int, errors: list[str]) -> None:
    conn = http.client.HTTPConnection(host, port, timeout=10)
    next_at = time.perf_counter()
    try:
        while len(times) < max_count and time.perf_counter() < until:
            if interval is not None:
                delay = next_at - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                next_at += interval
            t = time.perf_counter()
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            times.append(time.perf_counter() - t)
            if resp.status != 200:
                errors.append(str(resp.status))
    finally:
        conn.close()


def measure(host: str, port: int, path: str, rate: float | None, seconds: float, max_count: int,
            connections: int) -> dict:
    times: list[float] = []
    errors: list[str] = []
    interval = connections / rate if rate else None
    until = time.perf_counter() + seconds
    threads = [threading.Thread(target=_worker, args=(host, port, path, times, interval, until,
                                                      max_count, errors)) for _ in range(connections)]
    start = time.perf_counter()
    for i, th in enumerate(threads):
        th.start()
        if interval:
            time.sleep(interval / connections * (i < connections - 1))
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - start
    ms = sorted(x * 1000 for x in times)
    return {
        "n": len(ms),
        "rps": len(ms) / elapsed if elapsed else 0.0,
        "p50": statistics.median(ms) if ms else float("nan"),
        "p99": ms[min(len(ms) - 1, int(len(ms) * 0.99))] if ms else float("nan"),
        "max": ms[-1] if ms else float("nan"),
        "errors": len(errors),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", help="a running replay server on 127.0.0.1 (default: start one)")
    p.add_argument("--rate", type=float, default=100.0, help="paced phase: requests/s (default 100)")
    p.add_argument("--seconds", type=float, default=8.0, help="paced phase: duration per endpoint (default 8)")
    p.add_argument("--burst", type=int, default=1000, help="burst phase: requests per endpoint (default 1000)")
    p.add_argument("--connections", type=int, default=4, help="keep-alive connections (default 4)")
    args = p.parse_args(argv)
    if not 0 < args.rate <= 2000 or not 0 < args.seconds <= 60 or not 0 < args.burst <= 20000 \
            or not 1 <= args.connections <= 32:
        print("replay_bench: --rate 1..2000, --seconds 1..60, --burst 1..20000, --connections 1..32", file=sys.stderr)
        return 2
    with ExitStack() as stack:
        url = args.url
        if url is None:
            url = stack.enter_context(running_replay(clock="history")).url
        parts = urllib.parse.urlsplit(url)
        if parts.hostname not in ("127.0.0.1", "localhost"):
            print(f"replay_bench: --url {url}: only 127.0.0.1 is allowed", file=sys.stderr)
            return 2
        host, port = parts.hostname, parts.port or 80
        print(f"replay_bench: {url}  paced {args.rate:g} req/s x {args.seconds:g}s, burst {args.burst} requests, "
              f"{args.connections} keep-alive connections")
        print(f"{'endpoint':28} {'phase':6} {'n':>6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'err':>4}")
        worst_p99 = 0.0
        for name, path in ENDPOINTS.items():
            measure(host, port, path, None, 2, 20, 1)  # warm-up (lazy caches, connections)
            for phase, rate, secs, count in (("paced", args.rate, args.seconds, 10**9),
                                             ("burst", None, 60.0, args.burst)):
                r = measure(host, port, path, rate, secs, count, args.connections)
                if phase == "paced":
                    worst_p99 = max(worst_p99, r["p99"])
                print(f"{name:28} {phase:6} {r['n']:6d} {r['rps']:8.1f} {r['p50']:8.2f} {r['p99']:8.2f} "
                      f"{r['max']:8.2f} {r['errors']:4d}")
        verdict = "OK" if worst_p99 < 20 else "SLOW"
        print(f"replay_bench: worst paced p99 {worst_p99:.2f} ms at {args.rate:g} req/s (target < 20 ms): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
