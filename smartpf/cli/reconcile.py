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

``--apply`` (the bot stopped; live only) adopts this portfolio's orders the trade database lost (a restored
backup) exactly, then takes the account's amounts as the truth for every coin the account holds less of than
the portfolio (the rule is the core's, ``smartpf_core.account``): the open trade gets a closed sell of the
missing amount (so Freqtrade's amount is the account's), the portfolio books it as moved outside the bot
(``engine.corrections.moved_outside``), and a bot that stopped trading as ``diverged`` resumes on its next start.
It opens the database read-write, as the bot does.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping
from typing import Any

from smartpf.backtest.report import tidy
from smartpf.cli.portfolio import PortfolioCommandError, open_store
from smartpf.freqtrade.dustfeed import ordered_amount
from smartpf.freqtrade.reconcile import unknown_fills
from smartpf_core.dust import bought_net_of_coin_fee, coin_dust

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
    from smartpf import paths
    from smartpf.markets import MarketsError, read_markets

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


def _exchange_side(config: Mapping[str, Any], engine: Any, pairs: list[str]) -> tuple[dict, dict, list, tuple]:
    """The account's balances, the amount steps and the orphan fills, through ccxt with the config's keys (and
    the client, the orders read, the order ids the database knows and since when: what ``--apply`` adopts from)."""
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
    return totals, steps, orphans, (client, orders, known, since)


def cmd_reconcile(args: argparse.Namespace) -> int:
    from freqtrade.persistence import Trade

    applying = bool(getattr(args, "apply", False))
    config, url, store = open_store(args, read_only=not applying)
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
        totals, steps, orphans, (client, orders, known, since) = _exchange_side(config, engine, pairs)
        if applying:
            return apply(args, config, store, row, engine, totals, client, url, orders, known, since)
    if applying:
        raise PortfolioCommandError("--apply takes the exchange account's amounts as the truth: a dry-run bot has "
                                    "no account (its wallet follows the trade database)")
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


def order_fees(client: Any, order: Mapping[str, Any], since: float) -> tuple[float, float]:
    """An exchange order's fees from its fills (ccxt ``fetch_my_trades``): (in the coin it trades, in others)."""
    pair = str(order["symbol"])
    base = pair.split("/")[0]
    fills = [t for t in client.fetch_my_trades(pair, since=int(since * 1000) - 5000)
             if str(t.get("order")) == str(order["id"])]
    fees = [(t.get("fee") or {}) for t in fills]
    return (sum(float(f.get("cost") or 0.0) for f in fees if f.get("currency") == base),
            sum(float(f.get("cost") or 0.0) for f in fees if f.get("currency") != base))


def adopt_lost(engine: Any, client: Any, orders: list[dict], known: set[str], since: float, now: float) -> list[str]:
    """Adopt this portfolio's orders the database lost (a restored copy) exactly: into the open trade of their
    pair with the engine's tag, and into the portfolio as the operations they carried out. Nothing is changed
    when one of them has no open trade to go into."""
    from freqtrade.persistence import Trade

    from smartpf.freqtrade import door as ftdoor
    from smartpf.freqtrade import history
    from smartpf_core import Fill, Order

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
        price = float(order.get("average") or order.get("price") or 0.0)
        fee_base, fee_quote = order_fees(client, order, since)
        if side != "buy":  # a sell's fee in the coin would be part of the coins sold: its value, in quote
            fee_base, fee_quote = 0.0, fee_quote + fee_base * price
        tag = tagged.order_id(pair)
        (trade,) = Trade.get_trades_proxy(pair=pair, is_open=True)[:1]
        ftdoor.adopt_order(trade, dict(order), tag, fee_base)
        when = (order.get("timestamp") or now * 1000) / 1000.0
        fill = bought_net_of_coin_fee(tag, float(order.get("filled") or 0.0), price, fee_base, fee_quote, when)
        done.setdefault(tagged.op_id, []).append((Order(tag, tagged.op_id, pair, side, fill.amount, price), fill))
        lines.append(f"  {history.describe(order, tagged)}: adopted into the trade database as {tag}")
    for op_id, trades in done.items():
        engine.corrections.recovered(op_id, trades, now)
    dropped = engine.corrections.seen_seq(highest)
    lines += [f"  {order_id}: a later operation followed it; not sent again" for order_id in dropped]
    return lines


def apply(args: argparse.Namespace, config: dict[str, Any], store: Any, row: Any, engine: Any,
          totals: Mapping[str, float], client: Any, url: str, orders: list[dict], known: set[str], since: float) -> int:
    """Adopt the orders the database lost, then take the account's amounts as the truth where it holds less than
    the portfolio (see the module doc)."""
    from datetime import UTC

    from freqtrade.persistence import Trade

    from smartpf.cli.portfolio import bot_running, check_bot
    from smartpf.freqtrade import door as ftdoor
    from smartpf.freqtrade.memory import open_amounts
    from smartpf_core import floor_to_step
    from smartpf_core.account import shortfalls

    if engine is None:
        raise PortfolioCommandError(f"{url} holds no active portfolio: nothing to apply")
    check_bot(config, url, row, "reconcile --apply")  # even with --force: never another bot's portfolio
    saved_at = row.updated_at.replace(tzinfo=UTC).timestamp()
    now = time.time()
    if not args.force and not store.stopped_cleanly(row.id) and bot_running(config, saved_at, now, cautious=True):
        raise PortfolioCommandError(f"portfolio {row.id} was saved {now - saved_at:.0f} s ago: its bot seems to be "
                                    "running; stop it first (or pass --force)")
    # first what the database already holds of the operation under way (as the bot's first loop would book it)
    from smartpf.freqtrade.reconcile import reconcile as book_from_database

    def coin_fee(ft_order: Any, pair: str) -> float:  # a buy's fee taken in the coin Freqtrade has not booked yet
        try:
            return order_fees(client, {"id": ft_order.order_id, "symbol": pair}, since)[0]
        except Exception:  # noqa: BLE001 - unreadable: the fee Freqtrade booked, as the bot would
            return 0.0

    settled = book_from_database(engine, {p: Trade.get_trades_proxy(pair=p) for p in engine.ledger_pairs()},
                                 time.time(), engine.operation_started_at() or 0.0, coin_fee)
    for line in settled:
        print(f"  {line}")
    adopted = adopt_lost(engine, client, orders, known, since, time.time())
    if adopted:
        print(f"portfolio {row.id}: orders of this portfolio the trade database had lost, adopted exactly:")
        print("\n".join(adopted))
    # the holdings are the database's open trades (net of fees taken in the coin), as at every loop of the bot
    engine.corrections.take_holdings(open_amounts(Trade.get_trades_proxy(is_open=True)))
    account = {p: totals.get(p.split("/")[0], 0.0) for p in engine.holdings}
    short = shortfalls(engine.holdings, account, engine.rules, engine.spec.fee)
    if not short:
        engine.corrections.clear_divergence()
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
    record = engine.corrections.moved_outside({s.pair: s.held - kept[s.pair] for s in short}, prices, now)
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
