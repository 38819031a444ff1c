# %% [markdown]
# # Research: a basket over a DataFrame of prices, against HODL
#
# A notebook in the percent format (run it whole with `python examples/research.py`, or cell by cell in
# VS Code, Spyder or Jupyter with jupytext). It backtests a Smart Portfolio over a pandas DataFrame of
# candles with nothing but the public API of `smartpf_core`, and plots its value against holding the
# first basket (HODL). The loop below is the whole host: step the engine at each candle's open, fill its
# orders there with the fee, value the portfolio at the close; it follows the same conventions as
# `smartpf_core.simulate`, which the last cell checks.
#
#     python examples/research.py [--datadir DIR] [--timerange 20210101-20220101] [--out value-vs-hodl.png]

# %%
from __future__ import annotations

import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no window
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from smartpf_core import Engine, Fill, Snapshot, ValueTracker, parse_settings, simulate  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SMARTPF_SHARED", ROOT.parent / "shared")) / "data" / "binance"
parser = argparse.ArgumentParser(description="Backtest a basket over a DataFrame of prices and plot it against HODL.")
parser.add_argument("--datadir", default=str(SHARED if SHARED.is_dir() else ROOT / "user_data/data/binance"),
                    help="a Freqtrade datadir with <COIN>_USDT-1h.feather candles")
parser.add_argument("--timerange", default="20210101-20220101", help="YYYYMMDD-YYYYMMDD, the end day excluded")
parser.add_argument("--out", default="value-vs-hodl.png", help="the PNG written (default: %(default)s)")
args, _ = parser.parse_known_args()  # (a notebook kernel passes arguments of its own)

# %% [markdown]
# ## The portfolio: the `smart_portfolio` section of a config, validated by the core

# %%
config = {"stake_currency": "USDT", "fee": 0.001,
          "smart_portfolio": {"assets": {"BTC": 40, "ETH": 30, "ADA": 15, "XRP": 15}, "investment": 10_000,
                              "threshold": 5, "check_interval": "1h"}}
validation = parse_settings(config)
if not validation.ok:
    raise SystemExit("\n".join(validation.lines()))
spec = validation.spec
assert spec is not None

# %% [markdown]
# ## The prices: one DataFrame of opens and one of closes, a column per pair, a row per hour

# %%
start, end = (pd.Timestamp(day, tz="UTC") for day in args.timerange.split("-"))
candles = {pair: pd.read_feather(Path(args.datadir) / f"{pair.replace('/', '_')}-1h.feather").set_index("date")
           for pair in spec.pairs}
opens = pd.DataFrame({pair: c["open"] for pair, c in candles.items()}).loc[start:end - pd.Timedelta("1s")]
closes = pd.DataFrame({pair: c["close"] for pair, c in candles.items()}).loc[opens.index]
print(f"{len(opens)} hourly candles of {', '.join(spec.pairs)}, {opens.index[0]} to {opens.index[-1]}")

# %% [markdown]
# ## The backtest: the engine decides at each candle's open, its orders fill there

# %%
engine = Engine(spec)  # no exchange minimums in this study (pass MarketRules per pair for them)
tracker = ValueTracker()
times = [ts.timestamp() for ts in opens.index]
value, hodl = [], []
for i, (now, open_row, close_row) in enumerate(zip(times, opens.to_dict("records"), closes.to_dict("records"),
                                                   strict=True)):
    if i >= 1:  # the first purchase at the second candle, as Freqtrade's backtester and simulate() do
        prices = {pair: price for pair, price in open_row.items() if price == price}  # a missing candle is NaN
        for order in engine.step(Snapshot(now, prices)).orders:
            price = prices[order.pair]
            engine.order_placed(order.id)
            engine.on_fill(Fill(order.id, order.amount, price, order.amount * price * spec.fee, now))
    value.append(tracker.observe(engine, close_row))
    hodl.append(tracker.hodl_value(engine))
curve = pd.DataFrame({"HODL": hodl, "Smart Portfolio": value}, index=opens.index)
metrics = engine.metrics()
summary = (f"value {value[-1]:,.0f} vs HODL {hodl[-1]:,.0f} USDT (invested {spec.investment:,.0f}); "
           f"{metrics.rebalances} rebalances, {metrics.orders} orders, fees {metrics.fees:,.0f} USDT; "
           f"max drawdown {tracker.max_drawdown * 100:.1f} %")
print(summary)

# %% [markdown]
# ## The plot

# %%
fig, ax = plt.subplots(figsize=(10, 5))
curve.plot(ax=ax, color=["tab:gray", "tab:blue"], linewidth=1.0)
ax.axhline(spec.investment, color="black", linewidth=0.6, linestyle=":")
ax.set_title(f"{' / '.join(f'{c} {p:g} %' for c, p in spec.allocations)}, threshold "
             f"{spec.describe_threshold()}, {args.timerange}", fontsize=10)
ax.set_ylabel("USDT")
ax.set_xlabel("")
ax.text(0.01, 0.97, summary, transform=ax.transAxes, fontsize=8, va="top")
fig.tight_layout()
fig.savefig(args.out, dpi=80)
print(f"wrote {args.out}")

# %% [markdown]
# ## The same run through `smartpf_core.simulate`: the figures agree

# %%
result = simulate(spec, times, {p: opens[p].tolist() for p in spec.pairs}, {p: closes[p].tolist() for p in spec.pairs})
assert (result.final_value, result.hodl_value, result.rebalances) == (value[-1], hodl[-1], metrics.rebalances)
print(f"simulate agrees: {result.final_value:,.2f} USDT, {result.rebalances} rebalances")
