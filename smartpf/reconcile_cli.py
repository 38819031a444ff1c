"""``smartpf reconcile``: the exchange's balances, the trade database and the bot's memory side by side.

Three records of the same coins can drift apart: the exchange's account (the truth about money), the
trade database (Freqtrade's open trades) and the portfolio saved in that database (the engine's
holdings). This command reads all three, with the config's own exchange keys (through ccxt, as
Freqtrade would, the replay exchange's address included), and prints every difference, plus every
orphan: an order the exchange filled since the portfolio started (at most 23 hours back: Binance
answers allOrders for 24 hours from its start) that the trade database does not know.

Exit code 0 when the three agree (within one lot step per coin) and there is no orphan, 1 when they
differ, 2 on bad input or an exchange that cannot be read.

``--apply`` (the bot stopped) takes the account's amounts as the truth for every coin the account holds less
of than the portfolio (the rule is the core's, ``smartpf_core.account``): the open trade gets a closed sell of
the missing amount (so Freqtrade's amount is the account's), the portfolio books it as moved outside the bot
(``Engine.moved_outside``), and a bot that stopped trading as ``diverged`` resumes on its next start.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping
from typing import Any

from .adapter.reconcile import unknown_fills
from .portfolio_cli import PortfolioCommandError, _open


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


def compare(exchange: Mapping[str, float], database: Mapping[str, float], state: Mapping[str, float],
            steps: Mapping[str, float], coins: list[str]) -> list[dict]:
    """One row per coin: the three amounts and ``difference`` = exchange - database; ``agree`` when all
    three are within one lot step of each other."""
    rows = []
    for coin in coins:
        e, d, s = exchange.get(coin, 0.0), database.get(coin, 0.0), state.get(coin, 0.0)
        step = steps.get(coin, 0.0) or 1e-8
        agree = max(e, d, s) - min(e, d, s) <= step * (1 + 1e-9)
        rows.append({"coin": coin, "exchange": e, "database": d, "state": s, "difference": e - d, "agree": agree})
    return rows


def cmd_reconcile(args: argparse.Namespace) -> int:
    from freqtrade.persistence import Trade

    config, url, store = _open(args)
    row = store.active()
    engine = store.load(row) if row is not None else None
    pairs = list(engine.spec.pairs) if engine is not None else list((config.get("exchange") or {})
                                                                        .get("pair_whitelist") or [])
    coins = [p.split("/")[0] for p in pairs]
    state = {p.split("/")[0]: float(a) for p, a in engine.holdings.items()} if engine is not None else {}
    database: dict[str, float] = {}
    for trade in Trade.get_trades_proxy(is_open=True):
        coin = trade.pair.split("/")[0]
        database[coin] = database.get(coin, 0.0) + float(trade.amount)
    known = {str(o.order_id) for t in Trade.get_trades_proxy() for o in t.orders if o.order_id}
    client = exchange_client(config)
    # the portfolio's start, at most 23 hours back (Binance answers allOrders for 24 hours from startTime)
    since = max((engine.started_at or 0.0) if engine is not None else 0.0, time.time() - 23 * 3600)
    try:
        client.load_markets()
        balance = client.fetch_balance()
        orders = [o for p in pairs for o in client.fetch_orders(p, since=int(since * 1000) - 5000)]
    except Exception as exc:  # noqa: BLE001 - any ccxt failure is one line, exit 2
        raise PortfolioCommandError(f"cannot read the exchange {config['exchange'].get('name')} with the config's "
                                    f"keys: {type(exc).__name__}: {exc}") from None
    totals = {c: float(v or 0.0) for c, v in (balance.get("total") or {}).items()}
    steps = {p.split("/")[0]: float((client.markets.get(p) or {}).get("precision", {}).get("amount") or 0.0)
             for p in pairs}
    rows = compare(totals, database, state, steps, coins)
    orphans = [{"id": str(o["id"]), "pair": o["symbol"], "side": o["side"], "filled": o.get("filled"),
                "status": o.get("status"), "time": o.get("datetime")}
               for o in unknown_fills(orders, known, since)]
    if getattr(args, "apply", False):
        return apply(args, store, row, engine, totals, client, url, orders, known, since)
    stake = str(config.get("stake_currency") or (engine.spec.stake_currency if engine else "USDT"))
    cash = {"coin": stake, "exchange": totals.get(stake, 0.0), "state": engine.cash if engine else None}
    if args.json:
        print(json.dumps({"database_url": url, "portfolio": row.id if row else None, "coins": rows,
                          "cash": cash, "orphans": orphans}, indent=2))
    else:
        print(f"reconcile {url} (portfolio {row.id if row else 'none'}) with {config['exchange'].get('name')}:")
        print(f"  {'coin':8} {'exchange':>16} {'database':>16} {'portfolio':>16} {'difference':>16}")
        for r in rows:
            mark = "" if r["agree"] else "   <- differs"
            print(f"  {r['coin']:8} {r['exchange']:16.8f} {r['database']:16.8f} {r['state']:16.8f} "
                  f"{r['difference']:+16.8f}{mark}")
        held = f"{cash['state']:.2f}" if cash["state"] is not None else "-"
        print(f"  {stake}: the account holds {cash['exchange']:.2f}, the portfolio's idle cash is {held} "
              "(the account may hold more than the portfolio's)")
        for o in orphans:
            print(f"  orphan: order {o['id']} {o['side']} {o['filled']} {o['pair']} ({o['status']}, {o['time']}) "
                  "filled on the exchange, not in the trade database")
        if all(r["agree"] for r in rows) and not orphans:
            print("  the exchange, the trade database and the portfolio agree")
        else:
            print("  a running bot adopts a fill of its own outstanding order by itself; any other difference is "
                  "outside the portfolio (moved or traded by hand): keep it, or sell/move it on the exchange")
    return 0 if all(r["agree"] for r in rows) and not orphans else 1


def adopt_lost(engine: Any, client: Any, orders: list[dict], known: set[str], since: float, now: float) -> list[str]:
    """Adopt this portfolio's orders the database lost (a restored copy) exactly: into the open trade of their
    pair with the engine's tag, and into the portfolio as the operations they carried out. Nothing is changed
    when one of them has no open trade to go into."""
    from freqtrade.persistence import Trade

    from smartpf_core import Fill, Order

    from .adapter import ftdoor, history

    by_pair: dict[str, list[dict]] = {}
    for o in orders:
        by_pair.setdefault(o["symbol"], []).append(o)
    lost, highest = history.lost_orders(engine, by_pair, known)
    homeless = [history.describe(o, t) for o, t in lost if not Trade.get_trades_proxy(pair=o["symbol"], is_open=True)]
    if homeless:
        raise PortfolioCommandError("cannot adopt " + "; ".join(homeless) + ": the trade database has no open trade "
                                    "on its pair; nothing was changed")
    lines = []
    done: dict[str, list[tuple[Order, Fill]]] = {}
    for order, tagged in lost:
        pair, side = order["symbol"], order["side"]
        base = pair.split("/")[0]
        price = float(order.get("average") or order.get("price") or 0.0)
        fills = [t for t in client.fetch_my_trades(pair, since=int(since * 1000) - 5000)
                 if str(t.get("order")) == str(order["id"])]
        fees = [(t.get("fee") or {}) for t in fills]
        fee_base = sum(float(f.get("cost") or 0.0) for f in fees if f.get("currency") == base)
        fee_quote = sum(float(f.get("cost") or 0.0) for f in fees if f.get("currency") != base) + fee_base * price
        tag = tagged.order_id(pair)
        (trade,) = Trade.get_trades_proxy(pair=pair, is_open=True)[:1]
        ftdoor.adopt_order(trade, dict(order), tag, fee_base if side == "buy" else 0.0)
        amount = float(order.get("filled") or 0.0) - (fee_base if side == "buy" else 0.0)
        when = (order.get("timestamp") or now * 1000) / 1000.0
        done.setdefault(tagged.op_id, []).append((Order(tag, tagged.op_id, pair, side, amount, price),
                                                  Fill(tag, amount, price, fee_quote, when)))
        lines.append(f"  {history.describe(order, tagged)}: adopted into the trade database as {tag}")
    for op_id, trades in done.items():
        engine.recovered(op_id, trades, now)
    dropped = engine.seen_seq(highest)
    lines += [f"  {order_id}: a later operation followed it; not sent again" for order_id in dropped]
    return lines


def apply(args: argparse.Namespace, store: Any, row: Any, engine: Any, totals: Mapping[str, float], client: Any,
          url: str, orders: list[dict], known: set[str], since: float) -> int:
    """Adopt the orders the database lost, then take the account's amounts as the truth where it holds less than
    the portfolio (see the module doc)."""
    from datetime import UTC

    from freqtrade.persistence import Trade

    from smartpf_core import floor_to_step
    from smartpf_core.account import shortfalls

    from .adapter import ftdoor
    from .adapter.memory import open_amounts
    from .portfolio_cli import RUNNING_WITHIN

    if engine is None:
        raise PortfolioCommandError(f"{url} holds no active portfolio: nothing to apply")
    age = time.time() - row.updated_at.replace(tzinfo=UTC).timestamp()
    if age < RUNNING_WITHIN and not args.force:
        raise PortfolioCommandError(f"portfolio {row.id} was saved {age:.0f} s ago: its bot seems to be running; "
                                    "stop it first (or pass --force)")
    # first what the database already holds of the operation under way (as the bot's first loop would book it)
    from .adapter.reconcile import reconcile as book_from_database

    settled = book_from_database(engine, {p: Trade.get_trades_proxy(pair=p) for p in engine.ledger_pairs()},
                                 time.time(), engine.op_started_at())
    for line in settled:
        print(f"  {line}")
    adopted = adopt_lost(engine, client, orders, known, since, time.time())
    if adopted:
        print(f"portfolio {row.id}: orders of this portfolio the trade database had lost, adopted exactly:")
        print("\n".join(adopted))
    # the holdings are the database's open trades (net of fees taken in the coin), as at every loop of the bot
    engine._reconcile(open_amounts(Trade.get_trades_proxy(is_open=True)))
    account = {p: totals.get(p.split("/")[0], 0.0) for p in engine.holdings}
    short = shortfalls(engine.holdings, account, engine.rules, engine.spec.fee)
    if not short:
        engine.diverged = None
        store.save(row, engine)
        print(f"portfolio {row.id}: the account holds at least what the portfolio holds of every coin; nothing "
              "more to apply")
        return 0
    try:
        prices = {p: float(client.fetch_ticker(p)["last"]) for p in engine.ledger_pairs()}
    except Exception as exc:  # noqa: BLE001 - any ccxt failure is one line, exit 2
        raise PortfolioCommandError(f"cannot read the exchange's prices: {type(exc).__name__}: {exc}") from None
    now = time.time()
    # what stays is the account's amount down to the lot step (Freqtrade keeps a trade's amount on the step)
    kept = {s.pair: floor_to_step(s.account, engine.rules[s.pair].amount_step) if s.pair in engine.rules
            else s.account for s in short}
    record = engine.moved_outside({s.pair: s.held - kept[s.pair] for s in short}, prices, now)
    for s in short:
        for trade in Trade.get_trades_proxy(pair=s.pair, is_open=True)[:1]:
            gone = float(trade.amount) - kept[s.pair]
            if gone <= 0:
                continue
            order = {"id": f"smartpf-{record.id}-{s.pair.split('/')[0]}", "symbol": s.pair, "side": trade.exit_side,
                     "type": "market", "status": "closed", "amount": gone, "filled": gone, "remaining": 0.0,
                     "price": prices[s.pair], "average": prices[s.pair], "cost": gone * prices[s.pair],
                     "timestamp": int(now * 1000)}
            ftdoor.adopt_order(trade, order, f"{record.id}:sell:{s.pair}@{engine.portfolio_id}", 0.0)
    store.save(row, engine)
    print(f"portfolio {row.id}: the account's amounts taken as the truth ({record.id}):")
    for s in short:
        print(f"  {s.describe()}: booked as moved outside the bot")
    print(f"  principal now {engine.invested:.2f} {engine.spec.stake_currency} (the settings' investment is "
          "unchanged: nothing is bought back); the bot trades again on its next start")
    return 0
