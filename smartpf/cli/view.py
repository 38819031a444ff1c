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

from smartpf.backtest.report import iso, iso_precise, tidy
from smartpf_core import Engine
from smartpf_core.records import RECORD_COLUMNS, OperationRecord, trade_rows
from smartpf_core.triggers import next_proportional_time, next_scheduled_time

FEE_WINDOW = 30 * 86400.0  # "fees paid in the last 30 days"


def portfolio_view(engine: Engine, prices: Mapping[str, float], prices_at: float | None, now: float,
                   reasons: list[dict[str, Any]] | None = None,
                   last_known: Mapping[str, tuple[float, float | None]] | None = None,
                   running: bool = True, last_seen: float | None = None) -> dict[str, Any]:
    """The view's JSON form (percentages in percent): the core's ``PortfolioView`` over the freshest price of
    each coin, with the prices' time, the next check, the fees paid and the latest reason. A coin without a
    fresh price (the bot is stopped, or the exchange did not answer) is valued at its last known price
    (``last_known``: pair -> price, time) and marked ``stale``. Without any price for a coin held (none saved
    yet, never traded) the portfolio's value, profit, HODL and weights are None (shown "n/a"), never a value
    that counts a coin at 0; such a coin shows price None ("no price")."""
    spec = engine.spec
    known = dict(last_known or {})
    priced: dict[str, float] = {}
    stale: dict[str, float | None] = {}
    for pair in {*engine.pairs, *engine.hodl.holdings}:
        if prices.get(pair):
            priced[pair] = float(prices[pair])
        elif pair in known:
            priced[pair], stale[pair] = known[pair]
    view = engine.view(priced)
    held_unpriced = any(engine.holdings.get(p, 0.0) > 0 for p in view.unpriced)
    status = ("terminated" if view.status == "terminated" else "diverged" if view.status == "diverged"
              else "stopped" if not running else
              "rebalancing" if view.rebalancing else "running")
    fees = [(t.time, t.fee) for r in engine.records for t in r.trades]
    # a coin's value counts its dust (smartpf_core.dust: what fees taken in the coin left outside the trades)
    coins = [{"coin": c.coin, "pair": c.pair, "holding": c.amount, "dust": c.dust, "price": c.price,
              "value": c.value, "actual_pct": None if held_unpriced else c.actual_pct, "target_pct": c.target_pct,
              "band_low_pct": c.band_low_pct, "band_high_pct": c.band_high_pct,
              "deviation_pct": None if held_unpriced else c.deviation_pct, "stale": c.pair in stale,
              "price_at": iso(stale[c.pair]) if stale.get(c.pair) else None} for c in view.coins]
    if view.status == "terminated":
        next_check = None
    elif spec.mode == "scheduled":
        next_check = iso(next_scheduled_time(now, engine.started_at or now, spec.interval))
    else:
        next_check = iso(next_proportional_time(now, spec.check_interval))
    latest = (reasons or [None])[-1]
    return {
        "status": status,
        "bot": "running" if running else "stopped",
        "last_seen": iso(last_seen) if last_seen else None,  # the bot's last save of this portfolio
        "value": None if held_unpriced else view.value,
        "invested": view.invested,
        "profit": None if held_unpriced else view.profit,
        "profit_pct": None if held_unpriced else view.profit_pct,
        "hodl_value": view.hodl_value,  # None when a coin of the HODL basket has no price
        "hodl_profit_pct": view.hodl_profit_pct,
        "cash": view.cash,  # the bot's idle stake currency: with the coins' weights, 100 %
        "cash_pct": None if held_unpriced else view.cash_pct,
        "mode": spec.mode,
        "threshold": spec.threshold,
        "threshold_type": spec.threshold_type,
        "interval": spec.to_dict()["interval"] if spec.mode == "scheduled" else spec.to_dict()["check_interval"],
        "next_check": next_check,
        "take_profit": spec.take_profit,
        "stop_loss": spec.stop_loss,
        "prices_at": iso(prices_at) if prices_at else None,
        "fees_paid": sum(f for _, f in fees),
        "fees_paid_30d": sum(f for t, f in fees if t >= now - FEE_WINDOW),
        "why_not": None if latest is None else {"code": latest.get("code"), "message": latest.get("message")},
        "coins": coins,
        # the basket's coins without a price for over a check interval at the bot's last loop
        "stale": [{"pair": pair, "since": iso(since)} for pair, since in engine.stale.items()],
    }


def format_view(view: Mapping[str, Any], currency: str, portfolio_id: str, now: float) -> str:
    """The view for a terminal."""
    age = ""
    if view["prices_at"]:
        seconds = now - datetime.strptime(view["prices_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
        age = f" (prices of {view['prices_at']}, {_age(seconds)} old)"
    if view.get("bot") == "stopped" and view.get("last_seen"):
        seen = now - datetime.strptime(view["last_seen"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
        said = "stopped" if view["status"] == "stopped" else f"{view['status']}, the bot stopped"
        age = f"{said} (last seen {view['last_seen']}, {_age(seen)} ago)" + age
    else:
        age = view["status"] + age
    rule = (f"threshold {view['threshold']:g} ({view['threshold_type']}), checked every {view['interval']}"
            if view["mode"] == "proportional" else f"every {view['interval']}")
    lines = [
        f"portfolio {portfolio_id}: {age}",
        f"  value {_num(view['value'], '.2f')} {currency}, invested {view['invested']:.2f}, profit "
        f"{_num(view['profit'], '+.2f')} ({_num(view['profit_pct'], '+.2f', ' %')}); HODL {_hodl(view)}"
        + ("" if view["value"] is not None else " (no saved price for every coin yet)"),
        f"  {view['mode']}, {rule}; next check {view['next_check'] or '-'}; take-profit "
        f"{_opt(view['take_profit'])}, stop-loss {_opt(view['stop_loss'])}",
        f"  fees paid {view['fees_paid']:.2f} {currency} (last 30 days {view['fees_paid_30d']:.2f})",
        f"  {'coin':<6} {'holding':>14} {'price':>12} {'value':>10} {'actual':>8} {'target':>7} {'band':>15}",
    ]
    for c in view["coins"]:
        price = f"{c['price']:.6g}" if c["price"] else "no price"
        coin_value = f"{c['value']:.2f}" if c["price"] else "n/a"
        mark = f"  stale: last known price{' of ' + c['price_at'] if c.get('price_at') else ''}" if c.get(
            "stale") else ""
        lines.append(f"  {c['coin']:<6} {c['holding']:>14.8g} {price:>12} {coin_value:>10} "
                     f"{_num(c['actual_pct'], '.2f', '%'):>8} {c['target_pct']:>6.2f}% "
                     f"{c['band_low_pct']:>6.2f}-{c['band_high_pct']:.2f}%{mark}")
    lines.append(f"  {'cash':<6} {'':>14} {'':>12} {view['cash']:>10.2f} {_num(view['cash_pct'], '.2f', '%'):>8}")
    dusty = [c for c in view["coins"] if c.get("dust")]
    if dusty:  # counted in the values above, sold with the coin when the exchange takes the amount
        lines.append("  dust (fees taken in the coin, outside the trades; in the values above): "
                     + ", ".join(f"{c['dust']:.8g} {c['coin']}" for c in dusty))
    for coin in view.get("stale", []):
        lines.append(f"  stale: {coin['pair']} has had no price since {coin['since']}: no trade until it has one")
    if view["why_not"]:
        lines.append(f"  why no rebalance: {view['why_not']['message']}")
    return "\n".join(lines)


def _num(value: float | None, spec: str, unit: str = "") -> str:
    return "n/a" if value is None else f"{value:{spec}}{unit}"


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
    return [{**row, "time": iso_precise(row["time"]), "fee": tidy(row["fee"])} for row in trade_rows(records)
            if since is None or row["time"] >= since]


def records_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=RECORD_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _hodl(view: Mapping[str, Any]) -> str:
    if view["hodl_value"] is None:
        return "n/a (a coin of its basket has no price)"
    return f"{view['hodl_value']:.2f} ({view['hodl_profit_pct']:+.2f} %)"
