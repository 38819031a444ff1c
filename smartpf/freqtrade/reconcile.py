"""Freqtrade's trade database is the truth: match the engine's orders to what was really ordered.

Every adjustment order carries the engine order id as its Freqtrade order tag (which names the
portfolio: ``rb3:sell:ETH/USDT@<portfolio id>``); an initial entry (opened from the entry signal, whose
tag cannot be set per order) carries ``entry_tag(portfolio id)`` and is matched by pair, side and
time. Only an order placed after its operation started counts, so an older order that happens to
carry the same tag is never booked. Used on every loop, so that a fill missed by a crash or a restart is
booked exactly once, and an order Freqtrade refused to place is closed instead of awaited forever.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from smartpf_core import Engine, Fill, Order
from smartpf_core.dust import bought_net_of_coin_fee

from . import client_ids

ENTRY_TAG = "smartpf-entry"
SLACK = 2.0  # seconds: an order's date may be a little before the operation's start (clock rounding)


def entry_tag(portfolio_id: str = "") -> str:
    """The entry signal's tag: ``smartpf-entry@<portfolio id>`` (plain ``smartpf-entry`` in backtests)."""
    return f"{ENTRY_TAG}@{portfolio_id}" if portfolio_id else ENTRY_TAG


def order_entry_tag(order: Order) -> str:
    """The entry tag of the portfolio that issued ``order`` (its id ends in ``@<portfolio id>``): an order of a
    state imported under a new portfolio id, or of smartpf 0.1 (no id: the plain tag), keeps its own."""
    return entry_tag(order.id.partition("@")[2])


CLOSED = ("closed",)
ENDED = ("canceled", "cancelled", "expired", "rejected")


def _ts(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        # Freqtrade stores naive UTC dates
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    return float(value)


def fill_from(order: Order, ft_order: Any, trade: Any, when: float, fee_base: float = 0.0) -> Fill:
    """A core Fill from a Freqtrade order: the amount received, average price, and the fee's value in quote.

    ``fee_base``: the fee the order paid in the coin it bought (Binance without BNB, OKX's buys). The
    fill is then the coins that reached the account (filled - fee_base) and the fee is their value, so
    the cash moves by what was really paid (no fee charged twice) and the HODL comparison starts from
    the coins the portfolio really got. Without it the fee is the trade's rate on the quote value."""
    filled = float(ft_order.safe_filled or 0.0)
    price = float(ft_order.safe_price or order.price)
    done = _ts(getattr(ft_order, "order_filled_date", None)) or when
    if 0.0 < fee_base < filled:
        return bought_net_of_coin_fee(order.id, filled, price, fee_base, 0.0, done)
    is_entry = ft_order.ft_order_side == getattr(trade, "entry_side", "buy")
    rate = (trade.fee_open if is_entry else trade.fee_close) or 0.0
    return Fill(order.id, filled, price, filled * price * float(rate), done)


def coin_fee_booked(ft_order: Any) -> float:
    """The fee Freqtrade booked as taken in the coin an order bought (``ft_fee_base``; 0 when none)."""
    try:
        value = float(getattr(ft_order, "ft_fee_base", None) or 0.0)
    except (TypeError, ValueError):
        return 0.0
    return value if value > 0 else 0.0


def find_ft_order(order: Order, trades: Iterable[Any], since: float,
                  entry: str | Iterable[str] = ENTRY_TAG) -> tuple[Any, Any] | None:
    """The Freqtrade order (and its trade) that carries out ``order``: the latest one with its tag (or, for
    an initial buy, the entry tag) placed at or after ``since``, the start of the order's operation."""
    entries = {entry} if isinstance(entry, str) else set(entry)
    best = None
    best_time = -1.0
    for trade in trades:
        for ft_order in trade.orders:
            if ft_order.ft_order_side != order.side:
                continue
            tag = ft_order.ft_order_tag
            if tag != order.id and not (order.side == "buy" and tag in entries):
                continue
            placed = _ts(ft_order.order_date) or 0.0
            if placed < since - SLACK:
                continue  # an older order with the same tag (a restored state): never this one
            rank = placed + (1e12 if tag == order.id else 0.0)  # its own tag before the entry tag
            if rank > best_time:
                best, best_time = (ft_order, trade), rank
    return best


def reconcile(engine: Engine, trades_by_pair: Mapping[str, list[Any]], now: float, op_started: float,
              fee_base: Callable[[Any, str], float] | None = None) -> list[str]:
    """Bring the engine's outstanding orders in line with the database. Returns log lines. ``fee_base``
    asks for a buy's fee paid in the coin (see ``fill_from``) when Freqtrade has not booked one (``ft_fee_base``);
    None: the fees Freqtrade booked in the coin, the rest in quote (dry-run and backtests book none in the coin)."""

    def fill(order: Order, ft_order: Any, trade: Any) -> Fill:
        # Freqtrade's own record of a fee taken in the coin (``ft_fee_base``) first, whoever calls: a fill booked
        # without it would charge that fee twice (the coins the exchange kept, and again from the cash)
        base = coin_fee_booked(ft_order) if order.side == "buy" else 0.0
        if base <= 0 and fee_base is not None and order.side == "buy":
            base = fee_base(ft_order, order.pair)
        return fill_from(order, ft_order, trade, now, base)

    lines: list[str] = []
    for order in engine.pending_orders():
        status = engine.order_status(order.id)
        entries = {entry_tag(engine.portfolio_id), order_entry_tag(order)}  # the order's and the portfolio's
        found = find_ft_order(order, trades_by_pair.get(order.pair, []), op_started, entries)
        if found is None:
            if status == "open":
                engine.order_closed(order.id)
                lines.append(f"{order.id}: Freqtrade did not place this order; the operation moves on without it")
            continue
        ft_order, trade = found
        state = (ft_order.status or "").lower()
        if state in CLOSED and (ft_order.safe_filled or 0) > 0:
            engine.on_fill(fill(order, ft_order, trade))
            lines.append(f"{order.id}: booked fill of {ft_order.safe_filled} {order.pair} from the trade database")
        elif state in ENDED or (state in CLOSED and not ft_order.safe_filled):
            partial = fill(order, ft_order, trade) if (ft_order.safe_filled or 0) > 0 else None
            engine.order_closed(order.id, partial)
            lines.append(f"{order.id}: order {state} on the exchange")
        elif status == "planned":
            engine.order_placed(order.id)
    return lines


# ------------------------------------------------------------------ what the exchange did without telling
DONE_ON_EXCHANGE = ("closed", "canceled", "cancelled", "expired", "rejected")


def unknown_fills(exchange_orders: Iterable[Mapping[str, Any]], known_ids: set[str],
                  since: float) -> list[Mapping[str, Any]]:
    """Orders that filled (wholly or in part) on the exchange, were placed at or after ``since`` (the
    portfolio's start) and are not in the trade database: an answer lost, or a kill between the fill
    and Freqtrade's write. Open orders are left to Freqtrade (it tracks the ones it knows)."""
    out = []
    for o in exchange_orders:
        placed = (o.get("timestamp") or 0) / 1000.0
        if str(o.get("id")) in known_ids or placed < since - SLACK:
            continue
        if (o.get("status") or "").lower() in DONE_ON_EXCHANGE and float(o.get("filled") or 0.0) > 0:
            out.append(o)
    return sorted(out, key=lambda o: o.get("timestamp") or 0)


def owner_of(engine: Engine, orphan: Mapping[str, Any], op_started: float) -> Order | None:
    """The engine's outstanding order that an unknown fill carries out: same pair and side, not yet booked,
    and the fill placed after its operation started. None when the portfolio ordered nothing like it."""
    placed = (orphan.get("timestamp") or 0) / 1000.0
    if placed < op_started - SLACK:
        return None
    # an order that names its sender (client_ids) is only ever the very order it names
    tagged = client_ids.parse(client_ids.client_id_of(orphan))
    if tagged is not None and not tagged.names(str(orphan.get("symbol"))):
        return None  # its id names another pair: not an order this portfolio sent on this one
    named = tagged.order_id(str(orphan.get("symbol"))) if tagged is not None else None
    for order in engine.pending_orders():
        if order.pair == orphan.get("symbol") and order.side == orphan.get("side") and \
                engine.order_status(order.id) in ("planned", "open") and named in (None, order.id):
            return order
    return None
