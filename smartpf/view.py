"""One portfolio view: what a user sees of a running (or stopped) bot, from its trade database alone.

``portfolio_view`` builds it from the saved engine state and the prices the bot used at its last loop
(with their time), so it works with the bot stopped and says how old the prices are. ``smartpf
status`` prints it (``--json``: this exact object); a web page can serve the same object later.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from smartpf_core import Engine
from smartpf_core.dust import with_dust
from smartpf_core.records import RECORD_COLUMNS, OperationRecord, trade_rows
from smartpf_core.triggers import next_proportional_time, next_scheduled_time

from .report import iso, iso_precise


def portfolio_view(engine: Engine, prices: Mapping[str, float], prices_at: float | None, now: float,
                   reasons: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The view's JSON form (percentages in percent). Coins without a price are valued at 0 and say so."""
    spec = engine.spec
    status = "terminated" if engine.status == "terminated" else "rebalancing" if engine.op is not None else "running"
    # a coin without a price (the exchange did not answer) is valued at 0 here, and shown as "no price";
    # the dust fees in the coin left outside the trades (smartpf_core.dust) is the portfolio's too
    owned = with_dust(engine.holdings, engine.dust)
    value = engine.cash + sum(q * (prices.get(p) or 0.0) for p, q in owned.items())
    hodl = engine.hodl.value(prices)
    invested = engine.invested
    coins = []
    for pair in engine._pairs():
        holding = engine.holdings.get(pair, 0.0)
        dust = engine.dust.get(pair, 0.0)
        price = prices.get(pair)
        coin_value = (holding + dust) * price if price else 0.0
        actual = coin_value / value * 100 if value > 0 else 0.0
        target = spec.weights.get(pair, 0.0) * 100
        band = spec.band(pair) * 100
        coins.append({"coin": pair.split("/")[0], "pair": pair, "holding": holding, "dust": dust, "price": price,
                      "value": coin_value, "actual_pct": actual, "target_pct": target,
                      "band_low_pct": max(0.0, target - band), "band_high_pct": target + band,
                      "deviation_pct": actual - target})
    if engine.status == "terminated":
        next_check = None
    elif spec.mode == "scheduled":
        next_check = iso(next_scheduled_time(now, engine.started_at or now, spec.interval))
    else:
        next_check = iso(next_proportional_time(now, spec.check_interval))
    latest = (reasons or [None])[-1]
    return {
        "status": status,
        "value": value,
        "invested": invested,
        "profit": value - invested,
        "profit_pct": (value - invested) / invested * 100 if invested else 0.0,
        "hodl_value": hodl,
        "hodl_profit_pct": (hodl - invested) / invested * 100 if invested else 0.0,
        "cash": engine.cash,  # the bot's idle stake currency: with the coins' weights, 100 %
        "cash_pct": engine.cash / value * 100 if value > 0 else 0.0,
        "mode": spec.mode,
        "threshold": spec.threshold,
        "threshold_type": spec.threshold_type,
        "interval": spec.to_dict()["interval"] if spec.mode == "scheduled" else spec.to_dict()["check_interval"],
        "next_check": next_check,
        "take_profit": spec.take_profit,
        "stop_loss": spec.stop_loss,
        "prices_at": iso(prices_at) if prices_at else None,
        "why_not": None if latest is None else {"code": latest.get("code"), "message": latest.get("message")},
        "coins": coins,
    }


def format_view(view: Mapping[str, Any], currency: str, portfolio_id: str, now: float) -> str:
    """The view for a terminal."""
    age = ""
    if view["prices_at"]:
        seconds = now - datetime.strptime(view["prices_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
        age = f" (prices of {view['prices_at']}, {_age(seconds)} old)"
    rule = (f"threshold {view['threshold']:g} ({view['threshold_type']}), checked every {view['interval']}"
            if view["mode"] == "proportional" else f"every {view['interval']}")
    lines = [
        f"portfolio {portfolio_id}: {view['status']}{age}",
        f"  value {view['value']:.2f} {currency}, invested {view['invested']:.2f}, profit {view['profit']:+.2f} "
        f"({view['profit_pct']:+.2f} %); HODL {view['hodl_value']:.2f} ({view['hodl_profit_pct']:+.2f} %)",
        f"  {view['mode']}, {rule}; next check {view['next_check'] or '-'}; take-profit "
        f"{_opt(view['take_profit'])}, stop-loss {_opt(view['stop_loss'])}",
        f"  {'coin':<6} {'holding':>14} {'price':>12} {'value':>10} {'actual':>8} {'target':>7} {'band':>15}",
    ]
    dusty = [c for c in view["coins"] if c.get("dust")]
    for c in view["coins"]:
        price = f"{c['price']:.6g}" if c["price"] else "no price"
        lines.append(f"  {c['coin']:<6} {c['holding']:>14.8g} {price:>12} {c['value']:>10.2f} "
                     f"{c['actual_pct']:>7.2f}% {c['target_pct']:>6.2f}% "
                     f"{c['band_low_pct']:>6.2f}-{c['band_high_pct']:.2f}%")
    lines.append(f"  {'cash':<6} {'':>14} {'':>12} {view['cash']:>10.2f} {view['cash_pct']:>7.2f}%")
    if dusty:  # counted in the values above, sold with the coin when the exchange takes the amount
        lines.append("  dust (fees taken in the coin, outside the trades; in the values above): "
                     + ", ".join(f"{c['dust']:.8g} {c['coin']}" for c in dusty))
    if view["why_not"]:
        lines.append(f"  why no rebalance: {view['why_not']['message']}")
    return "\n".join(lines)


def _opt(value: float | None) -> str:
    return "none" if value is None else f"{value:g} %"


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def record_rows(records: Iterable[OperationRecord], since: float | None = None) -> list[dict[str, Any]]:
    """One row per filled order, with the backtest's ``--records`` columns and words (``trade_rows``)."""
    return [{**row, "time": iso_precise(row["time"])} for row in trade_rows(records)
            if since is None or row["time"] >= since]


def records_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=RECORD_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
