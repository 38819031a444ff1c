"""The candles and market rules the tests read, as an explicit list, and ``make data``, which fetches them.

Developers and CI have the real data beside the clone (``../shared`` or ``SMARTPF_SHARED``); then nothing
is fetched. A clone without it gets exactly what is listed here into ``user_data/data`` (where
``smartpf.paths`` then finds it, as ``make demo`` does): candles with ``freqtrade download-data`` through a
config pointed at ``EXCHANGE_API`` (Binance's public API by default, ``only_from_ccxt``), and that API's
``/api/v3/exchangeInfo``. Every window is in the past, so two fetches give the same candles: each file
holds exactly the candles in its span (Freqtrade's habit of dropping the newest candle as maybe
incomplete is switched off, and what a last page brings beyond the span is cut). A file that is
already there is kept (delete it to fetch it again).

    python -m tests.support.datasets [--exchange-api URL] [--datadir DIR] [--markets FILE] [--list]

To add a window: grep the tests for the pair, timeframe and timerange they read and add a line to NEEDED.
Per pair and timeframe one span is downloaded, from the earliest start to the latest end listed
(Freqtrade's downloader appends, so disjoint windows would be filled in between anyway).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import urllib.request
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from smartpf import paths

MAJORS = ("BTC/USDT", "ETH/USDT", "BNB/USDT", "SOL/USDT", "XRP/USDT")
BTC_ETH = ("BTC/USDT", "ETH/USDT")
# The 1m set: 30 days ending 2026-04-22 12:08 (the last candle test_backtest expects), start included.
ONE_MINUTE_SET = "1774267740-1776859740"  # 2026-03-23 12:09 - 2026-04-22 12:09 UTC

# (who reads it, timeframe, pairs, timerange: YYYYMMDD-YYYYMMDD, end day excluded, or epoch seconds)
NEEDED: list[tuple[str, str, tuple[str, ...], str]] = [
    ("test_backtest default portfolio, timerange end; replay tests; dry runs; init prices; benchmarks",
     "1m", MAJORS, ONE_MINUTE_SET),
    ("replay test_market: the 1h candle built from 1m on the replay clock", "1h", BTC_ETH, "20260323-20260423"),
    ("test_backtest missing candles (the Feb 2018 outage)", "1h", BTC_ETH, "20180201-20180402"),
    ("replay test_market: 3000 candles from 2024-01-01 and 10 before", "1h", BTC_ETH, "20231230-20240506"),
    ("test_backtest readable summary; adapter test_refusals", "1h", BTC_ETH, "20240101-20240202"),
    ("test_backtest scheduled mode", "1h", ("BTC/USDT", "ETH/USDT", "SOL/USDT"), "20240101-20240302"),
    ("test_backtest_parity 1h-six-coins", "1h",
     ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "ADA/USDT", "DOGE/USDT"), "20230101-20230302"),
    ("test_backtest_parity 1h-scheduled", "1h", ("BTC/USDT", "ETH/USDT", "LINK/USDT", "LTC/USDT"),
     "20220101-20220302"),
    ("test_backtest_parity 1h-take-profit-sell", "1h", ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT"),
     "20240201-20240402"),
    ("replay test_freqtrade_e2e backtesting (ReplaySmaCross, 30 startup candles)", "1h", MAJORS,
     "20241230-20250202"),
    ("test_backtest hodl", "5m", BTC_ETH, "20250101-20250202"),
    ("test_backtest_parity 5m-majors-1pt", "5m", MAJORS, "20250301-20250402"),
    ("replay test_freqtrade_e2e download-data", "1h", BTC_ETH, "20250301-20250306"),
    ("replay test_freqtrade_e2e download-data", "5m", BTC_ETH, "20250301-20250306"),
    ("test_fastsim 1h-2021-bt-case and crash cases; test_bt_crosscheck; benchmarks/bt_crosscheck.py", "1h",
     ("BTC/USDT", "ETH/USDT", "ADA/USDT", "XRP/USDT"), "20210101-20220102"),
    ("benchmarks/fast_backtest.py A (5m x 8 pairs x 2025)", "5m",
     (*MAJORS, "ADA/USDT", "DOGE/USDT", "LTC/USDT"), "20250101-20260102"),
    ("benchmarks/fast_backtest.py C (the 100-threshold sweep)", "1h",
     ("BTC/USDT", "ETH/USDT", "XRP/USDT", "ADA/USDT", "LTC/USDT"), "20180601-20260502"),
    ("benchmarks/fast_backtest.py D; test_fastsim_blocked (8 coins at 37.5 USDT)", "15m",
     ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "ADA/USDT", "DOGE/USDT", "LTC/USDT", "LINK/USDT"),
     "20230401-20240402"),
    ("benchmarks/fast_backtest.py E, F; test_fastsim_blocked (2 coins at 100 USDT)", "1h", BTC_ETH,
     "20240101-20250102"),
    ("test_stale: BNB's 1h candles end on 2025-12-01", "1h", ("BTC/USDT", "BNB/USDT"), "20251101-20260102"),
    ("test_backtest_parity: BNB goes away among three", "1h", ("BTC/USDT", "ETH/USDT", "BNB/USDT"),
     "20251101-20260102"),
    ("test_backtest_parity 5m-relative", "5m", ("BTC/USDT", "ETH/USDT", "SOL/USDT", "DOGE/USDT"),
     "20250601-20250702"),
    ("test_exchange_rules/test_exchange_e2e: a BTC 40 / XRP 30 / ADA 30 basket on each exchange's rules", "1h",
     ("BTC/USDT", "XRP/USDT", "ADA/USDT"), "20240101-20240202"),
    ("test_protocol_e2e: OKX and XT baskets", "1h", ("BTC/USDT", "ETH/USDT", "XRP/USDT", "SOL/USDT"),
     "20240101-20240202"),
    ("test_money_properties: random baskets over real 1h candles", "1h",
     ("BTC/USDT", "ETH/USDT", "ADA/USDT", "XRP/USDT", "SOL/USDT", "LTC/USDT", "LINK/USDT", "DOGE/USDT"),
     "20210101-20250102"),
    ("test_records_cli", "1h", ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT"), "20240201-20240402"),
    ("test_report, test_report_browser, adapter test_report_parity", "1h",
     ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT"), "20240101-20240402"),
    ("benchmarks/report_bench.py (8 years of 1h x 5 coins)", "1h",
     ("BTC/USDT", "ETH/USDT", "XRP/USDT", "ADA/USDT", "LTC/USDT"), "20180502-20260503"),
    ("test_study: the coins with full data in January 2024 (at least these)", "1h",
     ("BTC/USDT", "ETH/USDT", "XRP/USDT", "ADA/USDT", "SOL/USDT"), "20240101-20240202"),
    ("test_sweep: two baskets, rolling 10-day windows; test_whatif", "1h",
     ("BTC/USDT", "ETH/USDT", "XRP/USDT", "ADA/USDT"), "20240101-20240202"),
    ("test_recommend; benchmarks/sweep_throughput.py", "1h", ("BTC/USDT", "ETH/USDT", "ADA/USDT", "XRP/USDT"),
     "20210101-20220102"),
]


def _seconds(text: str) -> int:
    if len(text) == 8:
        return int(datetime.strptime(text, "%Y%m%d").replace(tzinfo=UTC).timestamp())
    return int(text)


def spans() -> dict[tuple[str, str], tuple[int, int]]:
    """(pair, timeframe) -> (earliest start, latest end) in epoch seconds over NEEDED."""
    out: dict[tuple[str, str], tuple[int, int]] = {}
    for _, timeframe, pairs, timerange in NEEDED:
        start, end = (_seconds(t) for t in timerange.split("-"))
        for pair in pairs:
            old = out.get((pair, timeframe), (start, end))
            out[(pair, timeframe)] = (min(old[0], start), max(old[1], end))
    return out


def candle_path(datadir: Path, pair: str, timeframe: str) -> Path:
    return datadir / f"{pair.replace('/', '_')}-{timeframe}.feather"


def downloads(datadir: Path) -> list[tuple[str, str, list[str]]]:
    """The freqtrade download-data calls still needed: (timeframe, timerange, pairs), missing files only."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for (pair, timeframe), (start, end) in sorted(spans().items()):
        if not candle_path(datadir, pair, timeframe).exists():
            groups[(timeframe, f"{start}-{end}")].append(pair)
    return [(tf, tr, pairs) for (tf, tr), pairs in sorted(groups.items())]


def exchange_config(api: str) -> dict:
    """user_data/config.replay.json (ccxt on Binance's public endpoints, only_from_ccxt) pointed at ``api``."""
    config = json.loads(paths.USER_DATA.joinpath("config.replay.json").read_text())
    config = json.loads(json.dumps(config).replace("http://127.0.0.1:8765", api.rstrip("/")))
    # every window is in the past: its newest candle is complete, keep it
    config["exchange"]["_ft_has_params"] = {"ohlcv_partial_candle": False}
    return config


def cut_to_span(path: Path, start: int, end: int) -> None:
    """Keep the candles that open in [start, end) (a last page may run past the span)."""
    import pandas as pd

    frame = pd.read_feather(path)
    keep = (frame["date"] >= pd.Timestamp(start, unit="s", tz="UTC")) & \
        (frame["date"] < pd.Timestamp(end, unit="s", tz="UTC"))
    if not keep.all():
        frame[keep].reset_index(drop=True).to_feather(path)


def fetch(api: str, datadir: Path, markets: Path) -> int:
    datadir.mkdir(parents=True, exist_ok=True)
    if not markets.exists():
        url = f"{api.rstrip('/')}/api/v3/exchangeInfo"
        print(f"make data: {url} -> {markets}", flush=True)
        markets.parent.mkdir(parents=True, exist_ok=True)
        try:
            with urllib.request.urlopen(url, timeout=120) as response:
                body = response.read()
            json.loads(body)  # a JSON body, or fail before writing
        except (OSError, ValueError) as exc:  # (unreachable, refused, an HTTP error, not JSON: said, no traceback)
            print(f"make data: EXCHANGE_API={api} did not serve the exchange rules at {url} ({exc}). Without "
                  "../shared beside the clone the data is fetched from there: check the network, or set "
                  "EXCHANGE_API to a reachable Binance-compatible API (e.g. a running `smartpf replay`)",
                  file=sys.stderr)
            return 2
        markets.write_bytes(body)
    todo = downloads(datadir)
    if not todo:
        print(f"make data: every candle file the tests read is in {datadir}", flush=True)
        return 0
    with tempfile.TemporaryDirectory(prefix="smartpf-data-") as tmp:
        config = Path(tmp) / "config.json"
        config.write_text(json.dumps(exchange_config(api)))
        (Path(tmp) / "user_data").mkdir()
        for timeframe, timerange, pairs in todo:
            cmd = [sys.executable, "-m", "freqtrade", "download-data", "-c", str(config), "--userdir",
                   str(Path(tmp) / "user_data"), "--datadir", str(datadir), "--data-format-ohlcv", "feather",
                   "-t", timeframe, "--timerange", timerange, "--pairs", *pairs]
            print("make data:", " ".join(cmd[3:]), flush=True)
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                print(proc.stdout[-2000:], proc.stderr[-4000:], sep="\n", file=sys.stderr)
                return proc.returncode
    missing = [str(candle_path(datadir, p, tf)) for tf, _, pairs in todo for p in pairs
               if not candle_path(datadir, p, tf).exists()]
    for timeframe, timerange, pairs in todo:
        start, end = (int(t) for t in timerange.split("-"))
        for pair in pairs:
            if candle_path(datadir, pair, timeframe).exists():
                cut_to_span(candle_path(datadir, pair, timeframe), start, end)
    if missing:
        print(f"make data: {api} served no candles for {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.datasets", description=__doc__.split("\n\n")[0])
    parser.add_argument("--exchange-api", default="https://api.binance.com")
    parser.add_argument("--datadir", type=Path, default=paths.FETCHED_DATADIR)
    parser.add_argument("--markets", type=Path, default=paths.FETCHED_MARKETS)
    parser.add_argument("--list", action="store_true", help="print the download-data calls still needed")
    args = parser.parse_args(argv)
    if args.list:
        for timeframe, timerange, pairs in downloads(args.datadir):
            print(timeframe, timerange, " ".join(pairs))
        return 0
    return fetch(args.exchange_api, args.datadir, args.markets)


if __name__ == "__main__":
    sys.exit(main())
