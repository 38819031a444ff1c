"""Both engines on every real-data case of the fast-vs-step tests (tests/unit/test_fastsim.py REAL and
tests/unit/test_fastsim_blocked.py CASES, next-candle): the fast engine is never slower. Best of 3 runs each.

Run: .venv/bin/python benchmarks/fast_cases.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from smartpf import paths  # noqa: E402
from smartpf.backtest.candles import Timerange, load_candles  # noqa: E402
from smartpf.backtest.fastsim import run_backtest  # noqa: E402
from smartpf.markets import load_rules  # noqa: E402
from tests.unit.test_fastsim import REAL, spec_of  # noqa: E402
from tests.unit.test_fastsim_blocked import CASES  # noqa: E402


def main() -> None:
    rules = load_rules(paths.DEFAULT_MARKETS)
    rows = [*REAL, *((name, tf, pairs, tr, section, "next-candle") for name, tf, pairs, tr, section in CASES)]
    for name, timeframe, pairs, timerange, section, execution in rows:
        candles = load_candles(paths.DEFAULT_DATADIR, list(pairs), timeframe, Timerange.parse(timerange))
        spec = spec_of(pairs, **section)
        best: dict[str, float] = {}
        for engine in ("step", "fast") * 3:
            _, seconds = run_backtest(engine, spec, candles.times, candles.opens, candles.closes,
                                      rules={p: rules[p] for p in pairs}, execution=execution)
            best[engine] = min(best.get(engine, float("inf")), seconds)
        print(f"{name:36s} {execution:12s} step {best['step']:.4f} s  fast {best['fast']:.4f} s  "
              f"{best['step'] / best['fast']:6.1f}x")


if __name__ == "__main__":
    main()
