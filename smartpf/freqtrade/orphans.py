"""Before the bot places an order again, it asks the exchange what it already did.

Freqtrade turns a lost ``create_order`` answer into a temporary error, does not retry it and writes
nothing to its database; a kill between the exchange's fill and Freqtrade's write does the same. The
engine would then see its order as "not placed" and the next loop would place it again: the coin
bought twice. So, on the first loop after a start and on every loop while the engine has an order
outstanding, the pair's orders are read from the exchange (Freqtrade's own exchange object,
``fetch_orders`` since the portfolio started) and compared with the trade database by order id. A
fill the database does not know is an orphan:

- if it carries out one of the engine's outstanding orders (same pair and side, placed after the
  operation started), it is adopted into the pair's trade (or a new trade, for an initial buy) with
  that order's tag, through ``door``; ``reconcile`` then books the fill exactly once;
- otherwise it is reported (log and message, once per order) with the command that shows it, and
  left out of the portfolio: the bot never counts coins it did not order.

An exchange that cannot be read this loop means no new order this loop (the engine is told a pair
has an order open), so nothing is sent blind.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from smartpf.freqtrade import door
from smartpf.freqtrade.reconcile import owner_of, unknown_fills
from smartpf_core import Engine

logger = logging.getLogger(__name__)

RESOLVE = "smartpf reconcile -c CONFIG"
WINDOW = 23 * 3600.0  # seconds looked back on the first check (Binance's allOrders spans 24 hours at most)


class OrphanWatch:
    """One per strategy: remembers whether the first check ran and which orphans were reported."""

    def __init__(self, strategy: Any) -> None:
        self.strategy = strategy
        self.checked_once = False
        self.reported: set[str] = set()

    def check(self, engine: Engine, now: float, op_started: float) -> tuple[list[str], set[str]]:
        """Adopt or report what the exchange filled without the database knowing. Returns log lines and
        the pairs that could not be checked (no order is placed on them this loop)."""
        pending = {o.pair for o in engine.pending_orders()}
        pairs = set(engine.pairs) if not self.checked_once else pending
        if not pairs:
            return [], set()
        # Binance answers allOrders for at most 24 hours from startTime: look back within that window
        since = max(engine.started_at or 0.0, now - WINDOW)
        if self.checked_once:
            since = max(since, op_started - 60.0)
        since_dt = datetime.fromtimestamp(since, UTC) - timedelta(seconds=5)
        exchange = door.exchange_of(self.strategy.dp)
        lines: list[str] = []
        blind: set[str] = set()
        for pair in sorted(pairs):
            try:
                on_exchange = door.orders_on_exchange(exchange, pair, since_dt)
            except Exception as exc:  # noqa: BLE001 - an unreadable exchange: send nothing blind
                blind.add(pair)
                lines.append(f"{pair}: cannot read the exchange's orders ({exc}); no order on it this loop")
                continue
            trades = door.trades_of(pair)
            known = {str(o.order_id) for t in trades for o in t.orders if o.order_id}
            for orphan in unknown_fills(on_exchange, known, since):
                lines.append(self._settle(engine, orphan, trades, op_started, since_dt))
        self.checked_once = True
        return [line for line in lines if line], blind

    def _settle(self, engine: Engine, orphan: dict, trades: list, op_started: float, since: datetime) -> str:
        oid, pair, side = str(orphan["id"]), orphan["symbol"], orphan["side"]
        what = f"order {oid} ({side} {orphan.get('filled')} {pair}, {orphan.get('status')})"
        owner = owner_of(engine, orphan, op_started)
        if owner is not None and door.can_adopt():
            exchange = door.exchange_of(self.strategy.dp)
            fee = door.fee_in_base(exchange, orphan, pair, since) if side == "buy" else 0.0
            trade = next((t for t in trades if t.is_open), None)
            if trade is not None:
                door.adopt_order(trade, orphan, owner.id, fee)
            elif side == "buy":
                door.open_trade_for(self.strategy, orphan, owner.id, fee)
            else:
                owner = None
            if owner is not None:
                return (f"{what} filled on the exchange without an answer: adopted into the trade database as "
                        f"{owner.id}, not sent again")
        if oid in self.reported:
            return ""
        self.reported.add(oid)
        text = (f"{what} filled on the exchange but is not in the trade database and matches no order of the "
                f"portfolio: it is not counted (the coins stay in the account, outside the portfolio). "
                f"`{RESOLVE}` shows every difference between the exchange, the database and the portfolio.")
        logger.warning("smartpf: %s", text)
        self.strategy.dp.send_msg(f"smartpf: {text}", always_send=True)
        return ""
