"""Benchmark of the replay exchange's signed API: the order round trip through the real ccxt.

A ccxt ``binance`` client (what Freqtrade uses live) places market orders on the replay exchange
with ``--accounts`` at a fixed rate (default 50 orders/s, alternating buy and sell on BTC/USDT), and
the time of each ``create_order`` call is measured: signing, HTTP, the server's signature check,
matching, fees, the answer with its fills, and ccxt's parsing. Then ``fetch_order`` and
``fetch_balance`` the same way. Target: p99 of the order round trip under 20 ms at 50 orders/s.

    .venv/bin/python benchmarks/live_order_bench.py                 # starts its own server
    .venv/bin/python benchmarks/live_order_bench.py --rate 50 --seconds 10 --ledger /tmp/ledger.json
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ccxt  # noqa: E402

from smartpf.replay.runner import REPLAY_LIVE_CONFIG, running_replay  # noqa: E402

BASELINE_P99_MS = 20.0


def paced(call, rate: float, seconds: float) -> tuple[list[float], int]:
    """Call ``call(i)`` ``rate`` times a second for ``seconds``; returns the durations and errors."""
    interval = 1.0 / rate
    times: list[float] = []
    errors = 0
    next_at = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = next_at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        next_at += interval
        t = time.perf_counter()
        try:
            call(i)
        except ccxt.BaseError as e:
            errors += 1
            if errors <= 3:
                print(f"  error: {e}", file=sys.stderr)
        times.append(time.perf_counter() - t)
    return times, errors


def summary(name: str, times: list[float], errors: int, seconds: float) -> float:
    ms = sorted(t * 1000 for t in times)
    p = statistics.quantiles(ms, n=100, method="inclusive")
    print(f"{name:<34} n={len(ms):>4} in {seconds:.0f}s  p50 {p[49]:6.2f} ms  p95 {p[94]:6.2f} ms  "
          f"p99 {p[98]:6.2f} ms  max {ms[-1]:6.2f} ms  errors {errors}")
    return p[98]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=50.0, help="orders per second (default 50)")
    ap.add_argument("--seconds", type=float, default=10.0, help="seconds per phase (default 10)")
    ap.add_argument("--ledger", default=None, help="also write the ledger file after every order (slower)")
    ap.add_argument("--partial-fills", type=int, default=1)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, running_replay(
            clock="replay", pairs=["BTC/USDT", "ETH/USDT"], timeframes=["1m"], accounts=True,
            balances={"USDT": 10_000_000, "BTC": 100}, ledger=args.ledger, partial_fills=args.partial_fills) as ex:
        del tmp
        exchange = ex.config_for(REPLAY_LIVE_CONFIG)["exchange"]
        client = ccxt.binance({"apiKey": exchange["key"], "secret": exchange["secret"], **exchange["ccxt_config"]})
        client.load_markets()
        client.fetch_balance()  # warm the connection
        ids: list[str] = []

        def order(i: int) -> None:
            ids.append(client.create_order("BTC/USDT", "market", "buy" if i % 2 == 0 else "sell", 0.001)["id"])

        print(f"replay exchange with accounts ({ex.url}), ccxt {ccxt.__version__}, "
              f"{args.rate:g}/s for {args.seconds:g} s, ledger {'on' if args.ledger else 'off'}")
        p99 = summary("create_order (market, FULL)", *paced(order, args.rate, args.seconds), args.seconds)
        summary("fetch_order", *paced(lambda i: client.fetch_order(ids[i % len(ids)], "BTC/USDT"), args.rate,
                                      args.seconds), args.seconds)
        summary("fetch_balance", *paced(lambda i: client.fetch_balance(), args.rate, args.seconds), args.seconds)
        placed = len(ex.account()["orders"])
    verdict = "ok" if p99 < BASELINE_P99_MS else "SLOWER THAN THE TARGET"
    print(f"orders on the exchange: {placed}; create_order p99 {p99:.2f} ms vs target {BASELINE_P99_MS:.0f} ms: "
          f"{verdict}")
    return 0 if p99 < BASELINE_P99_MS else 1


if __name__ == "__main__":
    sys.exit(main())
