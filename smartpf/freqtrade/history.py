"""At every start: operation ids never repeat, and live, the exchange's history is the truth.

A trade database restored from an older copy has an older portfolio in it: its operation sequence is behind the
ids it already handed out, and live, the exchange holds orders of this portfolio the database does not know.
Every order the bot sends names its portfolio and operation in its client order id (``client_ids``), so they are
found at start among the pair's orders (since the portfolio started, at most 23 hours back):

- an order of the engine's own outstanding order (a lost answer, a kill before the write) is left to the first
  loop's check, which adopts it exactly (``orphans``);
- any other order of this portfolio that filled and that the database does not know means the database is
  behind: the bot refuses to start, naming the orders and ``smartpf reconcile -c CONFIG --apply``, which adopts
  them exactly. Trading on would repeat them, or book an old fill a second time.

Dry-run has no exchange history: there the readable export (``portfolio-<id>.json`` beside the database,
rewritten whenever the state changed: ``export``) keeps the highest operation number, and only that number is
read back. The core's ``corrections.seen_seq`` then never hands out those numbers again and drops what the older
operation had not yet sent.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from smartpf.errors import SmartpfError
from smartpf.freqtrade import client_ids, door
from smartpf.freqtrade.orphans import WINDOW
from smartpf.freqtrade.statefile import StateFileError, export_path, read_state
from smartpf_core import Engine

RESOLVE = "smartpf reconcile -c CONFIG --apply"


class HistoryUnreadable(SmartpfError):
    """The exchange's orders cannot be read at start, so the database cannot be checked against them."""


def export_seq(user_data_dir: str, portfolio_id: str) -> int:
    """The highest operation number the export of this portfolio recorded (0 when there is none to trust)."""
    try:
        data = read_state(export_path(user_data_dir, portfolio_id))
    except StateFileError:
        return 0
    engine = data.get("engine") if isinstance(data, dict) and data.get("portfolio_id") == portfolio_id else None
    seq = engine.get("seq") if isinstance(engine, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) and seq > 0 else 0


def lost_orders(engine: Engine, orders_by_pair: Mapping[str, list[Mapping[str, Any]]],
                known: set[str]) -> tuple[list[tuple[Mapping[str, Any], client_ids.Tagged]], int]:
    """This portfolio's filled orders the database does not know and the engine is not waiting for, oldest
    first, and the highest operation number among all its orders on the exchange."""
    pending = {o.id for o in engine.pending_orders()}
    lost = []
    highest = 0
    for pair, orders in orders_by_pair.items():
        for order, tagged in client_ids.ours(orders, engine.portfolio_id):
            highest = max(highest, tagged.seq)
            if str(order.get("id")) in known or float(order.get("filled") or 0.0) <= 0:
                continue
            if tagged.order_id(pair) in pending:
                continue  # the engine's own outstanding order: the first loop adopts it
            lost.append((order, tagged))
    lost.sort(key=lambda item: item[0].get("timestamp") or 0)
    return lost, highest


def check(engine: Engine, user_data_dir: str, exchange: Any | None,
          now: float | None = None) -> tuple[list[tuple[Mapping[str, Any], client_ids.Tagged]], list[str]]:
    """The lost orders (live) and the engine's orders dropped because a later operation followed them."""
    floor = export_seq(user_data_dir, engine.portfolio_id)
    lost: list[tuple[Mapping[str, Any], client_ids.Tagged]] = []
    if exchange is not None:
        since = max(engine.started_at or 0.0, (now or time.time()) - WINDOW)
        since_dt = datetime.fromtimestamp(since, UTC) - timedelta(seconds=5)
        orders: dict[str, list[Mapping[str, Any]]] = {}
        for pair in engine.ledger_pairs():
            try:
                orders[pair] = door.orders_on_exchange(exchange, pair, since_dt)
            except Exception as exc:  # noqa: BLE001 - any exchange failure: no start on an unchecked database
                raise HistoryUnreadable(f"cannot read {pair}'s orders on the exchange to check that the trade "
                                        f"database is not behind it ({type(exc).__name__}: {exc})") from exc
        known = {str(o.order_id) for t in door.trades_of() for o in t.orders if o.order_id}
        lost, highest = lost_orders(engine, orders, known)
        floor = max(floor, highest)
    return lost, engine.corrections.seen_seq(floor)


def describe(order: Mapping[str, Any], tagged: client_ids.Tagged) -> str:
    return (f"order {order.get('id')} ({order.get('side')} {order.get('filled')} {order.get('symbol')}, "
            f"{order.get('status')}, {order.get('datetime')}) of operation {tagged.op_id}")


def refusal(engine: Engine, lost: list[tuple[Mapping[str, Any], client_ids.Tagged]], db_url: str) -> str:
    lines = [f"smartpf: the bot will not start: the trade database ({db_url}) is behind the exchange: portfolio "
             f"{engine.portfolio_id} placed orders that it does not know (was it restored from an older copy?):"]
    lines += [f"  {describe(order, tagged)}" for order, tagged in lost]
    lines += ["  Trading on would repeat them or book their fills twice. With the bot stopped, "
              f"`{RESOLVE}` adopts them into the trade database exactly (and takes the account's amounts as the "
              "truth); `smartpf reconcile -c CONFIG` shows every difference first."]
    return "\n".join(lines)
