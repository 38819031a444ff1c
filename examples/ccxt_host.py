"""A second host for smartpf_core: trade a Smart Portfolio with ccxt alone (no Freqtrade).

    python examples/ccxt_host.py -c config.json [-c more.json] [--seconds N] [--state FILE]

It reads the ``exchange`` and ``smart_portfolio`` sections of a Freqtrade-style config. Every tick it
books what the exchange did with the orders it placed, feeds the engine a snapshot (ccxt tickers and the
free stake balance), and places the orders the engine returns as market orders whose client order id is
the engine's order id (which starts with the operation id). The engine state is saved to a file
atomically after every change, and read back at start.

Why nothing is bought twice: the engine re-emits an order until it is told the order was placed, and its
ids are deterministic. An order the engine still lists as not placed (this process may have died between
sending it and saving) is first looked up on the exchange by its client order id, and only sent if it is
not there. Copy this file to drive the core from another bot; docs/core-api.md explains the API.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import ccxt

from smartpf_core import Engine, Fill, MarketRules, Order, PortfolioSpec, Reason, Snapshot, parse_settings


def fail(message: str) -> None:
    """Bad input: one line, exit code 2, nothing started."""
    print(f"ccxt_host: {message}", file=sys.stderr)
    sys.exit(2)


def read_config(paths: list[Path]) -> tuple[dict[str, Any], PortfolioSpec]:
    """The configs merged like Freqtrade's ``-c a -c b`` (a later file's top-level keys win), validated."""
    config: dict[str, Any] = {}
    for path in paths:
        try:
            loaded = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            fail(f"-c {path}: cannot read the config ({exc})")
        if not isinstance(loaded, dict):
            fail(f"-c {path}: must hold a JSON object, not {type(loaded).__name__}")
        config.update(loaded)
    validation = parse_settings(config)  # the smart_portfolio section, stake_currency and fee
    if validation.spec is None:
        fail("; ".join(validation.lines()))
    if not isinstance(config.get("exchange"), dict) or config["exchange"].get("name") not in ccxt.exchanges:
        fail(f"exchange.name = {(config.get('exchange') or {}).get('name')!r}: must be an exchange ccxt knows")
    return config, validation.spec


def connect(config: dict[str, Any]) -> ccxt.Exchange:
    """The exchange as Freqtrade builds it: key, secret, and the config's ccxt_config options."""
    section = config["exchange"]
    options = {"apiKey": section.get("key"), "secret": section.get("secret"), **section.get("ccxt_config", {})}
    exchange = getattr(ccxt, section["name"])(options)
    exchange.load_markets()
    return exchange


def market_rules(exchange: ccxt.Exchange, pairs: tuple[str, ...]) -> dict[str, MarketRules]:
    """Each pair's minimums and steps as the exchange states them (ccxt's TICK_SIZE precision)."""
    def step(value: Any) -> float:
        if value is None:
            return 0.0
        return 10.0 ** -value if exchange.precisionMode == ccxt.DECIMAL_PLACES else float(value)

    rules = {}
    for pair in pairs:
        if pair not in exchange.markets:
            fail(f"smart_portfolio.assets: {pair} is not a market of {exchange.id}")
        market = exchange.markets[pair]
        limits = market["limits"]
        rules[pair] = MarketRules(min_notional=float(limits["cost"]["min"] or 0),
                                  min_amount=float(limits["amount"]["min"] or 0),
                                  amount_step=step(market["precision"]["amount"]),
                                  price_tick=step(market["precision"]["price"]),
                                  max_amount=float(limits["amount"]["max"] or 0))
    return rules


def save(engine: Engine, path: Path) -> None:
    """Write the whole engine state atomically: a temp file, fsync, then rename over the old one."""
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w") as handle:
        json.dump(engine.to_dict(), handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def load(path: Path, spec: PortfolioSpec, rules: dict[str, MarketRules]) -> Engine:
    """Resume from the state file (applying edited settings), or start a new portfolio."""
    if not path.exists():
        log(f"no state in {path}: a new portfolio")
        return Engine(spec, rules)
    try:
        engine = Engine.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        fail(f"--state {path}: not a readable engine state ({exc})")
    log(f"resumed from {path}: {engine.status}, holdings {engine.holdings}")
    if engine.spec != spec:
        accepted, notices = engine.update_spec(spec)
        for notice in notices:
            log(notice.message)
        if not accepted:
            fail(f"-c: the settings cannot change this way while the portfolio runs ({notices[0].message})")
    return engine


def client_id(order: Order) -> str:
    """The engine's order id (``init1:buy:BTC/USDT``) in Binance's client-id alphabet, at most 36 characters."""
    cid = re.sub(r"[^.A-Za-z0-9:/_-]", "_", order.id)
    return cid if len(cid) <= 36 else cid[:27] + "-" + hashlib.sha1(cid.encode()).hexdigest()[:8]


def find(exchange: ccxt.Exchange, order: Order) -> dict[str, Any] | None:
    try:
        return exchange.fetch_order(None, order.pair, {"clientOrderId": client_id(order)})
    except ccxt.OrderNotFound:
        return None


def book(engine: Engine, exchange: ccxt.Exchange, order: Order, placed: dict[str, Any]) -> bool:
    """Tell the engine what became of a placed order once it is closed; False while it is still open."""
    if placed.get("status") in (None, "open"):
        return False
    base, quote = order.pair.split("/")
    gross = cost = fee = 0.0
    trades = exchange.fetch_order_trades(placed["id"], order.pair) if placed.get("filled") else []
    for trade in trades:
        gross += trade["amount"]
        cost += trade["cost"]
        paid = trade.get("fee") or {}
        if paid.get("currency") == base:  # a buy's fee taken from the coin received: the engine holds less
            gross -= paid["cost"]
            cost -= paid["cost"] * trade["price"]
            fee += paid["cost"] * trade["price"]
        elif paid.get("currency") == quote:
            fee += paid["cost"]
        else:  # paid in another coin (BNB): counted at the configured rate
            fee += trade["cost"] * engine.spec.fee
    fill = Fill(order.id, gross, cost / gross, fee, time.time()) if gross > 0 else None
    if placed["status"] == "closed" and fill is not None:
        engine.on_fill(fill)
    else:  # cancelled, expired or rejected, maybe after a partial fill
        engine.order_closed(order.id, fill)
    log(f"{order.side} {order.pair}: {placed['status']}, {fill.amount if fill else 0:g} at "
        f"{fill.price if fill else 0:g}, fee {fee:.4f} {quote}")
    return True


def tick(engine: Engine, exchange: ccxt.Exchange, state: Path) -> Reason | None:
    """One round: book closed orders, step the engine, place its orders. Returns why nothing else happened."""
    # 1. what happened to the orders placed earlier
    for order in engine.pending_orders():
        if engine.order_status(order.id) == "open":
            placed = find(exchange, order)
            if placed is not None and book(engine, exchange, order, placed):
                save(engine, state)
    # 2. the world now, and the engine's decision
    pairs = engine.ledger_pairs()
    tickers = exchange.fetch_tickers(list(pairs))
    prices = {p: float(tickers[p]["last"]) for p in pairs if tickers.get(p, {}).get("last")}
    spendable = exchange.fetch_balance()["free"].get(engine.spec.stake_currency) or 0.0
    decision = engine.step(Snapshot(time.time(), prices, spendable=spendable))
    save(engine, state)
    for notice in decision.notices:
        log(notice.message)
    # 3. its orders: look each one up first (it may have been sent before a crash), place it if absent
    for order in decision.orders:
        placed = find(exchange, order)
        if placed is None:
            try:
                placed = exchange.create_order(order.pair, "market", order.side, order.amount, None,
                                               {"clientOrderId": client_id(order)})
            except ccxt.NetworkError:
                raise  # no answer, sent or not: the next tick looks it up
            except ccxt.ExchangeError as exc:
                placed = find(exchange, order)  # an error does not always mean the exchange did nothing
                if placed is None:  # refused: the engine moves on without it
                    log(f"{order.side} {order.amount:g} {order.pair} refused: {exc}")
                    engine.order_closed(order.id)
                    save(engine, state)
                    continue
            log(f"placed {order.side} {order.amount:g} {order.pair} as {client_id(order)}")
        else:
            log(f"{client_id(order)} is already on the exchange (sent before a restart?): not sent again")
        engine.order_placed(order.id)
        save(engine, state)
        placed = find(exchange, order) or placed  # its status now (a market order is usually done)
        if book(engine, exchange, order, placed):
            save(engine, state)
    return decision.reason


def log(message: str) -> None:
    print(time.strftime("%H:%M:%S"), message, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description="Trade a Smart Portfolio with smartpf_core and ccxt.")
    parser.add_argument("-c", "--config", required=True, action="append",
                        help="a Freqtrade-style config (exchange, smart_portfolio); repeat it to merge several")
    parser.add_argument("--seconds", type=float, default=None, help="stop after this many seconds (default: never)")
    parser.add_argument("--state", default=None, help="the engine state file (default: <first config>.state.json)")
    args = parser.parse_args()
    config, spec = read_config([Path(c) for c in args.config])
    state = Path(args.state) if args.state else Path(args.config[0]).with_suffix(".state.json")
    state.parent.mkdir(parents=True, exist_ok=True)
    period = float((config.get("internals") or {}).get("process_throttle_secs", 5))
    try:
        exchange = connect(config)
    except ccxt.BaseError as exc:
        print(f"ccxt_host: cannot load the markets of {config['exchange']['name']}: {exc}", file=sys.stderr)
        return 1
    engine = load(state, spec, market_rules(exchange, spec.pairs))
    save(engine, state)
    end = None if args.seconds is None else time.monotonic() + args.seconds
    said = None
    try:
        while end is None or time.monotonic() < end:
            started = time.monotonic()
            try:
                why = tick(engine, exchange, state)
                if why is not None and why.code != said:  # why nothing happens, once each time it changes
                    log(f"{why.code}: {why.message}")
                said = why and why.code
            except ccxt.NetworkError as exc:  # the exchange did not answer: the next tick tries again
                log(f"exchange not answering ({type(exc).__name__}); trying again")
            time.sleep(max(0.0, period - (time.monotonic() - started)))
    except KeyboardInterrupt:
        pass
    log(f"stopped: {engine.status}, holdings {engine.holdings}, cash {engine.cash:.2f}, state in {state}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
