"""Inflows, weights from data and a coin that goes away, against plain behaviour (docs/options-flows.md).

Four baskets with written (unequal) weights x five one-year windows (2021..2025) of 1h candles, on the fast
engine with the exchange's real rules, 10,000 USDT, fee 0.1 %, the default threshold (1 point) otherwise:

  plain               the settings as written (XT's behaviour)
  equal               weights: equal
  inverse_volatility  weights: inverse_volatility, volatility_window 30d
  recurring           recurring 200 USDT every 7d (bought underweight-only; the HODL shadow buys it too)
  stale_after 6h      a coin without a price for 6 h is frozen out of the weights

Per variant: premium over HODL (final value - HODL value, % of the money put in; each variant against the
HODL of its own initial basket, which buys the deposits too), in how many of the 20 runs it beats plain's, the
final value against plain's (same money in), fees and turnover (% of the money put in). BNB's candles end on
2025-12-01: the last basket's 2025 window is the one where a coin goes away.

Run: .venv/bin/python benchmarks/options_flows.py   (about 2 minutes on one core)
"""

from __future__ import annotations

import argparse
import statistics

from smartpf import paths
from smartpf.backtest.candles import Timerange, load_candles
from smartpf.backtest.fastsim import simulate_fast
from smartpf.markets import load_rules
from smartpf_core import parse_settings

BASKETS = {
    "BTC40 ETH30 XRP15 ADA15": {"BTC": 40, "ETH": 30, "XRP": 15, "ADA": 15},
    "BTC30 ETH25 LTC15 LINK15 TRX15": {"BTC": 30, "ETH": 25, "LTC": 15, "LINK": 15, "TRX": 15},
    "BTC35 ETH25 SOL20 DOGE20": {"BTC": 35, "ETH": 25, "SOL": 20, "DOGE": 20},
    "ETH30 BNB25 DOT25 AVAX20": {"ETH": 30, "BNB": 25, "DOT": 25, "AVAX": 20},
}
WINDOWS = ["20210101-20220101", "20220101-20230101", "20230101-20240101", "20240101-20250101",
           "20250101-20260101"]
VARIANTS: dict[str, dict] = {
    "plain": {},
    "equal": {"weights": "equal"},
    "inverse_volatility": {"weights": "inverse_volatility"},
    "recurring": {"recurring": {"amount": 200, "every": "7d"}},
    "stale_after 6h": {"stale_after": "6h"},
}


def run_one(assets: dict, window: str, extra: dict, rules: dict) -> dict:
    spec = parse_settings({"stake_currency": "USDT", "fee": 0.001, "smart_portfolio": {
        "assets": assets, "investment": 10000, **extra}}).spec
    assert spec is not None
    pairs = list(spec.pairs)
    candles = load_candles(paths.DEFAULT_DATADIR, pairs, "1h", Timerange.parse(window))
    result = simulate_fast(spec, candles.times, candles.opens, candles.closes,
                           rules={p: rules[p] for p in pairs if p in rules})
    put_in = result.invested
    return {"premium": (result.final_value - result.hodl_value) / put_in * 100, "final": result.final_value,
            "fees": result.fees / put_in * 100, "turnover": result.turnover / put_in * 100,
            "rebalances": result.rebalances, "frozen": result.engine.to_dict().get("frozen", [])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()  # (no options: --help says what it does; it prints Markdown tables)
    rules = load_rules(paths.DEFAULT_MARKETS)
    runs = {name: {(b, w): run_one(a, w, extra, rules) for b, a in BASKETS.items() for w in WINDOWS}
            for name, extra in VARIANTS.items()}
    plain = runs["plain"]
    print("| variant | median premium over its HODL | premium beats plain's | median final value vs plain | "
          "mean fees | mean turnover |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, cases in runs.items():
        premiums = [c["premium"] for c in cases.values()]
        beats = sum(c["premium"] > plain[k]["premium"] + 1e-9 for k, c in cases.items())
        # (a recurring portfolio has more money in: its final value is not comparable with plain's)
        versus = "n/a" if name in ("plain", "recurring") else \
            f"{statistics.median(c['final'] / plain[k]['final'] * 100 - 100 for k, c in cases.items()):+.2f} %"
        print(f"| {name} | {statistics.median(premiums):+.2f} % | "
              f"{beats if name != 'plain' else '-'} / {len(cases)} | {versus} | "
              f"{statistics.mean(c['fees'] for c in cases.values()):.2f} % | "
              f"{statistics.mean(c['turnover'] for c in cases.values()):.0f} % |")
    print()
    print("| basket, window | " + " | ".join(VARIANTS) + " |")
    print("|---|" + "---:|" * len(VARIANTS))
    for key in plain:
        cells = [f"{runs[n][key]['premium']:+.2f} %" + (" (frozen)" if runs[n][key]["frozen"] else "")
                 for n in VARIANTS]
        print(f"| {key[0]}, {key[1][:4]} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
