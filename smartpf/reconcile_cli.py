"""``smartpf reconcile``: the exchange's balances, the trade database and the bot's memory side by side.

Three records of the same coins can drift apart: the exchange's account (the truth about money), the
trade database (Freqtrade's open trades) and the portfolio saved in that database (the engine's
holdings). This command reads all three, with the config's own exchange keys (through ccxt, as
Freqtrade would, the replay exchange's address included), and prints every difference, plus every
orphan: an order the exchange filled since the portfolio started (at most 23 hours back: Binance
answers allOrders for 24 hours from its start) that the trade database does not know. In dry-run there is
no account: the balances are Freqtrade's dry-run wallet (``dry_run_wallet`` plus closed profit, less the
stake in open trades), so no exchange key is needed. Every difference comes with the command that
resolves it.

Exit code 0 when the three agree (within one lot step per coin) and there is no orphan, 3 when they
differ (DIFFER), 2 on bad input or an exchange or database that cannot be read, 1 on an unexpected error.
It only reads: the database is opened read-only.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping
from typing import Any

from smartpf_core.dust import coin_dust

from .adapter.dustfeed import ordered_amount
from .adapter.reconcile import unknown_fills
from .portfolio_cli import PortfolioCommandError, _open
from .report import tidy

DIFFER = 3  # the exchange, the database and the portfolio differ (1 is an unexpected error, 2 bad input)


def exchange_client(config: Mapping[str, Any]) -> Any:
    """A ccxt client with the config's keys and ccxt settings, built as Freqtrade builds its own."""
    import ccxt

    ex = config.get("exchange") or {}
    name = str(ex.get("name") or "")
    if not hasattr(ccxt, name):
        raise PortfolioCommandError(f"exchange.name {name!r}: not an exchange ccxt knows")
    settings = {"apiKey": ex.get("key", ""), "secret": ex.get("secret", ""), "enableRateLimit": True}
    for key in ("password", "uid"):
        if ex.get(key):
            settings[key] = ex[key]
    settings.update(ex.get("ccxt_config") or {})
    settings.update(ex.get("ccxt_sync_config") or {})
    return getattr(ccxt, name)(settings)


def orders_since(client: Any, pair: str, since_ms: int) -> list[dict]:
    """The pair's orders since ``since_ms``: ``fetch_orders``, or (OKX has none) the closed and the open ones,
    as Freqtrade reads them."""
    if client.has.get("fetchOrders"):
        return list(client.fetch_orders(pair, since=since_ms))
    return [*client.fetch_closed_orders(pair, since=since_ms), *client.fetch_open_orders(pair, since=since_ms)]


def compare(exchange: Mapping[str, float], database: Mapping[str, float], state: Mapping[str, float],
            steps: Mapping[str, float], coins: list[str], ordered: Mapping[str, float] | None = None) -> list[dict]:
    """One row per coin: the three amounts, the ``dust`` (smartpf_core.dust: what fees taken in the coin left
    outside the trades, bounded by what the portfolio's orders brought in; ``ordered``: bought minus sold
    before fees) and ``difference`` = exchange - dust - database; ``agree`` when the exchange less its dust,
    the database and the portfolio are within one lot step of each other."""
    rows = []
    for coin in coins:
        e, d, s = exchange.get(coin, 0.0), database.get(coin, 0.0), state.get(coin, 0.0)
        dust = coin_dust(e, d, (ordered or {}).get(coin, 0.0))
        step = steps.get(coin, 0.0) or 1e-8
        agree = max(e - dust, d, s) - min(e - dust, d, s) <= step * (1 + 1e-9)
        rows.append({"coin": coin, "exchange": e, "database": d, "state": s, "dust": dust,
                     "difference": e - dust - d, "agree": agree})
    return rows


def dry_run_balances(config: Mapping[str, Any], stake: str) -> dict[str, float]:
    """The dry-run wallet, as Freqtrade computes it (freqtrade/wallets.py ``_update_dry``): the configured
    ``dry_run_wallet`` plus closed profit, less the stake in open trades, and each open trade's coins."""
    from freqtrade.persistence import Trade

    start = config.get("dry_run_wallet", 1000)
    start_cap = {str(k): float(v) for k, v in start.items()} if isinstance(start, Mapping) else {stake: float(start)}
    open_trades = Trade.get_trades_proxy(is_open=True)
    profit = Trade.get_total_closed_profit() + sum(float(t.realized_profit or 0.0) for t in open_trades)
    totals = dict(start_cap)
    totals[stake] = start_cap.get(stake, 0.0) + profit - sum(float(t.stake_amount) for t in open_trades)
    for trade in open_trades:
        coin = trade.pair.split("/")[0]
        totals[coin] = totals.get(coin, start_cap.get(coin, 0.0)) + float(trade.amount)
    return totals


def _dry_run_steps(config: Mapping[str, Any], pairs: list[str]) -> dict[str, float]:
    from . import paths
    from .markets import MarketsError, read_markets

    found = paths.markets_file(str((config.get("exchange") or {}).get("name") or ""))
    try:
        rules = read_markets(found).rules if found else {}
    except MarketsError:
        rules = {}
    return {p.split("/")[0]: rules[p].amount_step for p in pairs if p in rules}


def advice(rows: list[dict], cash: Mapping[str, Any], orphans: list[dict], dry_run: bool) -> list[str]:
    """For each kind of difference, the command that resolves it."""
    out = []
    for r in rows:
        if r["agree"]:
            continue
        coin = r["coin"]
        before = len(out)
        if abs(r["database"] - r["state"]) > 1e-9 * max(1.0, r["database"], r["state"]):
            out.append(f"{coin}: the trade database and the portfolio differ: with the bot stopped, "
                       "`smartpf reset -c CONFIG` then `smartpf adopt -c CONFIG` takes the open trades as the "
                       "portfolio")
        held = r["exchange"] - r.get("dust", 0.0)  # the dust is the portfolio's, not a difference
        if held > r["database"] and not dry_run:
            out.append(f"{coin}: the account holds {held - r['database']:g} more than the open trades and their "
                       "dust: coins outside the portfolio (bought or deposited by hand); the bot leaves them alone; "
                       "sell or move them on the exchange if they should go")
        elif held < r["database"]:
            out.append(f"{coin}: the account holds {r['database'] - r['exchange']:g} less than the open trades "
                       "(moved out by hand): delete the trade (Freqtrade /delete), then `smartpf reset` and "
                       "`smartpf adopt` with the bot stopped")
        if len(out) == before:
            out.append(f"{coin}: the three records differ (see the table): run `smartpf reconcile` again after the "
                       "bot's next loop; if it stays, with the bot stopped `smartpf reset` then `smartpf adopt`")
    if cash.get("state") is not None and cash["exchange"] + 0.005 < cash["state"]:
        short = cash["state"] - cash["exchange"]
        setting = "raise dry_run_wallet in the config" if dry_run else f"deposit {short:.2f} {cash['coin']}"
        out.append(f"{cash['coin']}: the account holds {cash['exchange']:.2f}, less than the portfolio's idle cash "
                   f"{cash['state']:.2f} (short by {short:.2f}): {setting}, or `smartpf withdraw {short:.2f}` "
                   "lowers the portfolio's investment by the difference")
    if orphans:
        out.append("orphans: a running bot adopts a fill of its own outstanding order by itself; another order was "
                   "placed by hand: keep the coins (outside the portfolio) or undo it on the exchange")
    return out


def _exchange_side(config: Mapping[str, Any], engine: Any, pairs: list[str]) -> tuple[dict, dict, list]:
    """The account's balances, the amount steps and the orphan fills, through ccxt with the config's keys."""
    from freqtrade.persistence import Trade

    known = {str(o.order_id) for t in Trade.get_trades_proxy() for o in t.orders if o.order_id}
    client = exchange_client(config)
    # the portfolio's start, at most 23 hours back (Binance answers allOrders for 24 hours from startTime)
    since = max((engine.started_at or 0.0) if engine is not None else 0.0, time.time() - 23 * 3600)
    try:
        client.load_markets()
        balance = client.fetch_balance()
        orders = [o for p in pairs for o in orders_since(client, p, int(since * 1000) - 5000)]
    except Exception as exc:  # noqa: BLE001 - any ccxt failure is one line, exit 2
        raise PortfolioCommandError(f"cannot read the exchange {config['exchange'].get('name')} with the config's "
                                    f"keys: {type(exc).__name__}: {exc}") from None
    totals = {c: float(v or 0.0) for c, v in (balance.get("total") or {}).items()}
    steps = {p.split("/")[0]: float((client.markets.get(p) or {}).get("precision", {}).get("amount") or 0.0)
             for p in pairs}
    orphans = [{"id": str(o["id"]), "pair": o["symbol"], "side": o["side"], "filled": o.get("filled"),
                "status": o.get("status"), "time": o.get("datetime")}
               for o in unknown_fills(orders, known, since)]
    return totals, steps, orphans


def cmd_reconcile(args: argparse.Namespace) -> int:
    from freqtrade.persistence import Trade

    config, url, store = _open(args, read_only=True)
    row = store.active()
    engine = store.load(row) if row is not None else None
    pairs = list(engine.spec.pairs) if engine is not None else list((config.get("exchange") or {})
                                                                        .get("pair_whitelist") or [])
    coins = [p.split("/")[0] for p in pairs]
    state = {p.split("/")[0]: float(a) for p, a in engine.holdings.items()} if engine is not None else {}
    database: dict[str, float] = {}
    ordered: dict[str, float] = {}
    for trade in Trade.get_trades_proxy(is_open=True):
        coin = trade.pair.split("/")[0]
        database[coin] = database.get(coin, 0.0) + float(trade.amount)
        ordered[coin] = ordered.get(coin, 0.0) + ordered_amount(trade)
    stake = str(config.get("stake_currency") or (engine.spec.stake_currency if engine else "USDT"))
    dry_run = bool(config.get("dry_run", True))
    if dry_run:  # no exchange account: Freqtrade's dry-run wallet is the balance the bot trades with
        totals = dry_run_balances(config, stake)
        steps = _dry_run_steps(config, pairs)
        orphans: list[dict] = []
    else:
        totals, steps, orphans = _exchange_side(config, engine, pairs)
    rows = compare(totals, database, state, steps, coins, ordered)
    cash = {"coin": stake, "exchange": totals.get(stake, 0.0), "state": engine.cash if engine else None}
    fixes = advice(rows, cash, orphans, dry_run)
    if args.json:
        print(json.dumps(tidy({"database_url": url, "portfolio": row.id if row else None, "coins": rows,
                               "cash": cash, "orphans": orphans, "advice": fixes}), indent=2))
    else:
        where = "its dry-run wallet" if dry_run else config["exchange"].get("name")
        print(f"reconcile {url} (portfolio {row.id if row else 'none'}) with {where}:")
        print(f"  {'coin':8} {'exchange':>16} {'dust':>12} {'database':>16} {'portfolio':>16} {'difference':>16}")
        for r in rows:
            mark = "" if r["agree"] else "   <- differs"
            print(f"  {r['coin']:8} {r['exchange']:16.8f} {r['dust']:12.8f} {r['database']:16.8f} "
                  f"{r['state']:16.8f} {r['difference']:+16.8f}{mark}")
        if any(r["dust"] > 0 for r in rows):
            print("  dust: what fees taken in the coin left outside the trades; the portfolio's own (counted in its "
                  "value), not a difference")
        held = f"{cash['state']:.2f}" if cash["state"] is not None else "-"
        print(f"  {stake}: the account holds {cash['exchange']:.2f}, the portfolio's idle cash is {held} "
              "(the account may hold more than the portfolio's)")
        for o in orphans:
            print(f"  orphan: order {o['id']} {o['side']} {o['filled']} {o['pair']} ({o['status']}, {o['time']}) "
                  "filled on the exchange, not in the trade database")
        if not fixes:
            print("  the exchange, the trade database and the portfolio agree")
        for line in fixes:
            print(f"  to resolve: {line}")
    return 0 if not fixes else DIFFER
