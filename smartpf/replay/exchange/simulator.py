"""Placing, matching and settling orders on one account, plus the operator's own moves (deposit,
withdraw, halt). Thread-safe: every public method holds one lock, so a trade's balance moves, the
order's progress and the ledger write happen together.

Matching: a market order fills at the book of that instant (buys at the ask, sells at the bid); a
limit order fills when the book crosses its price (``IOC``/``FOK``: at once and whole, or it
expires). With ``partial_fills`` N an order fills in N trades ``fill_interval_ms`` apart (the first
at once). Fees per trade at ``fee_rate``: with
``fee_asset="received"`` (Binance's default without BNB) a buy pays in the base asset it receives
and a sell in the quote asset; with ``"quote"`` both pay in the quote asset.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from pathlib import Path

from smartpf.errors import ReplayError
from smartpf.replay.exchange.accounts import Balances
from smartpf.replay.exchange.amounts import EIGHT, MAX_BALANCE, ZERO, dec, floor_step, round8
from smartpf.replay.exchange.filters import SymbolRules
from smartpf.replay.exchange.ledger import LedgerWriter, read_ledger
from smartpf.replay.exchange.orders import Order, Trade

# Rejection reasons (a protocol front end maps them onto its own codes and texts).
INSUFFICIENT_BALANCE = "insufficient_balance"
FILTER_FAILURE = "filter_failure"        # detail: the filter's name
MARKET_CLOSED = "market_closed"
UNKNOWN_SYMBOL = "unknown_symbol"
UNSUPPORTED_TYPE = "unsupported_order_type"
DUPLICATE_ORDER = "duplicate_order"
ORDER_NOT_FOUND = "order_not_found"      # querying an order that does not exist
CANCEL_REJECTED = "cancel_rejected"      # cancelling an order that does not exist or is closed
INVALID_AMOUNT = "invalid_amount"

FEE_ASSETS = ("received", "quote")

Book = Callable[[str, int], tuple[Decimal, Decimal]]


class Rejected(ReplayError):
    """The exchange refuses a request; ``reason`` is one of the constants above."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail = reason, detail


class ExchangeSimulator:
    def __init__(self, rules: dict[str, SymbolRules], book: Book, *, fee_rate: Decimal = Decimal("0.001"),
                 fee_asset: str = "received", partial_fills: int = 1, fill_interval_ms: int = 1000,
                 balances: dict[str, Decimal] | None = None, ledger_path: Path | None = None) -> None:
        if fee_asset not in FEE_ASSETS:
            raise ValueError(f"fee_asset must be one of {FEE_ASSETS}")
        self.rules = rules
        self.book = book
        self.fee_rate = fee_rate
        self.fee_asset = fee_asset
        self.partial_fills = max(1, int(partial_fills))
        self.fill_interval_ms = fill_interval_ms
        self.ledger_path = ledger_path
        self.expire_after_partial = False  # a fault: market orders fill about half, the rest expires
        self._lock = threading.RLock()
        self.balances = Balances()
        self.orders: dict[int, Order] = {}
        self.trades: list[Trade] = []
        self.rejections: list[dict] = []
        self.halted: set[str] = set()
        self.next_order_id = 1
        self.next_trade_id = 1
        self._touched: dict[int, Order] = {}  # orders changed since the last ledger entry
        self._saved_trades = 0
        self._saved_rejections = 0
        stored = read_ledger(ledger_path) if ledger_path is not None else None
        if stored is not None:  # an existing ledger wins over the starting balances
            self._load(stored)
        else:
            for asset, amount in (balances or {}).items():
                self.balances.credit(asset, amount)
        self._writer = LedgerWriter(ledger_path) if ledger_path is not None else None
        if stored is None:
            self._save()

    # ------------------------------------------------------------------ persistence
    def _load(self, data: dict) -> None:
        self.balances = Balances.from_dict(data.get("balances", {}))
        self.orders = {int(o["order_id"]): Order.from_dict(o) for o in data.get("orders", [])}
        self.trades = [Trade.from_dict(t) for t in data.get("trades", [])]
        self.rejections = list(data.get("rejections", []))
        self.halted = set(data.get("halted", []))
        self.next_order_id = int(data.get("next_order_id", max(self.orders, default=0) + 1))
        self.next_trade_id = int(data.get("next_trade_id", len(self.trades) + 1))
        self._saved_trades, self._saved_rejections = len(self.trades), len(self.rejections)

    def _save(self) -> None:
        """Append what changed since the last entry to the ledger (nothing without ``--ledger``)."""
        if self._writer is None:
            self._touched.clear()
            return
        self._writer.append({
            "balances": self.balances.to_dict(), "orders": [o.to_dict() for o in self._touched.values()],
            "trades": [t.to_dict() for t in self.trades[self._saved_trades:]],
            "rejections": self.rejections[self._saved_rejections:], "halted": sorted(self.halted),
            "next_order_id": self.next_order_id, "next_trade_id": self.next_trade_id,
        })
        self._touched.clear()
        self._saved_trades, self._saved_rejections = len(self.trades), len(self.rejections)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()

    # ------------------------------------------------------------------ orders
    def place(self, symbol: str, side: str, order_type: str, now: int, *, qty: Decimal | None = None,
              quote_qty: Decimal | None = None, price: Decimal | None = None, client_id: str = "",
              time_in_force: str = "GTC") -> tuple[Order, list[Trade]]:
        """Place an order; returns a copy of it and the trades it made at once. Raises Rejected."""
        with self._lock:
            self._catch_up(now)
            rules = self.rules.get(symbol)
            if rules is None:
                raise Rejected(UNKNOWN_SYMBOL, symbol)
            if symbol in self.halted:
                raise Rejected(MARKET_CLOSED, symbol)
            if order_type not in ("MARKET", "LIMIT") or order_type not in rules.order_types:
                raise Rejected(UNSUPPORTED_TYPE, order_type)
            if client_id and any(o.client_order_id == client_id and o.is_open for o in self.orders.values()):
                raise Rejected(DUPLICATE_ORDER, client_id)
            bid, ask = self.book(symbol, now)
            if bid <= 0 or ask <= 0:
                raise Rejected(MARKET_CLOSED, f"{symbol} has no price")
            buy = side == "BUY"
            ref = ask if buy else bid
            quote_fee = self.fee_rate if self.fee_asset == "quote" else ZERO
            if qty is None:
                if quote_qty is None or quote_qty <= 0:
                    raise Rejected(INVALID_AMOUNT, "quantity")
                qty = floor_step(quote_qty / (ref * (1 + (quote_fee if buy else ZERO))), rules.step)
            if qty <= 0:
                raise Rejected(FILTER_FAILURE, "LOT_SIZE")
            failure = rules.failure(order_type, qty, price if order_type == "LIMIT" else None, ref)
            if failure:
                raise Rejected(FILTER_FAILURE, failure)
            if buy:
                unit = price if order_type == "LIMIT" and price is not None else ref
                need = (qty * unit * (1 + quote_fee)).quantize(EIGHT, rounding=ROUND_UP)
                asset = rules.quote
            else:
                need, asset = qty, rules.base
            if self.balances.get_free(asset) < need:
                raise Rejected(INSUFFICIENT_BALANCE, f"{asset} free {self.balances.get_free(asset)} < {need}")
            self.balances.lock(asset, need)
            order = Order(order_id=self.next_order_id, client_order_id=client_id or f"smartpf-{self.next_order_id}",
                          symbol=symbol, side=side, type=order_type,
                          time_in_force=time_in_force if order_type == "LIMIT" else "",
                          orig_qty=qty, price=price if order_type == "LIMIT" and price is not None else ZERO,
                          time=now, update_time=now, locked=need, locked_asset=asset,
                          orig_quote_qty=quote_qty if quote_qty is not None and order_type == "MARKET" else ZERO)
            self.next_order_id += 1
            self.orders[order.order_id] = order
            self._touched[order.order_id] = order
            immediate = order_type == "LIMIT" and time_in_force in ("IOC", "FOK")
            if immediate:  # now or never; the book is deep enough to fill it whole
                order.schedule = [[now, qty]] if self._crosses(order, bid, ask) else []
            elif order_type == "MARKET" or self._crosses(order, bid, ask):
                order.schedule = self._split(qty, rules.step, now)
            cut = order_type == "MARKET" and self.expire_after_partial
            if cut:  # one part at once, then the rest expires (as on a thin book)
                half = floor_step(qty / 2, rules.step) if rules.step > 0 else round8(qty / 2)
                order.schedule = [[now, half]] if half > 0 else []
            first_trade = len(self.trades)
            self._run(order, now)
            if (immediate or cut) and order.is_open:
                self._close(order, "EXPIRED", now)
            self._save()
            return self._copy(order), list(self.trades[first_trade:])

    def _split(self, qty: Decimal, step: Decimal, now: int) -> list[list]:
        """``qty`` in ``partial_fills`` parts on the lot step (fewer when it is too small), due one
        ``fill_interval_ms`` apart from ``now``."""
        n = self.partial_fills
        part = floor_step(qty / n, step) if step > 0 else round8(qty / n)
        if n == 1 or part <= 0:
            return [[now, qty]]
        parts = [part] * (n - 1) + [qty - part * (n - 1)]
        return [[now + i * self.fill_interval_ms, q] for i, q in enumerate(parts)]

    @staticmethod
    def _crosses(order: Order, bid: Decimal, ask: Decimal) -> bool:
        return ask <= order.price if order.side == "BUY" else bid >= order.price

    def _run(self, order: Order, now: int) -> None:
        """Execute the fills of ``order`` that are due at ``now``."""
        self._touched[order.order_id] = order
        while order.is_open and order.schedule and order.schedule[0][0] <= now:
            bid, ask = self.book(order.symbol, now)
            if order.type == "LIMIT" and not self._crosses(order, bid, ask):
                order.schedule = []  # the book moved away: rest until it crosses again
                return
            _, qty = order.schedule.pop(0)
            if order.type == "MARKET":
                price = ask if order.side == "BUY" else bid
            else:
                price = min(order.price, ask) if order.side == "BUY" else max(order.price, bid)
            self._fill(order, qty, price, now)

    def _fill(self, order: Order, qty: Decimal, price: Decimal, now: int) -> None:
        self._touched[order.order_id] = order
        rules = self.rules[order.symbol]
        notional = round8(qty * price)
        b = self.balances
        if order.side == "BUY":
            fee_in_quote = self.fee_asset == "quote"
            commission = round8(notional * self.fee_rate) if fee_in_quote else round8(qty * self.fee_rate)
            cost = notional + (commission if fee_in_quote else ZERO)
            from_locked = min(order.locked, cost)
            if b.get_free(rules.quote) < cost - from_locked:  # the price rose beyond what was reserved
                self._close(order, "EXPIRED", now)
                return
            b.take_locked(rules.quote, from_locked)
            b.debit(rules.quote, cost - from_locked)
            order.locked -= from_locked
            b.credit(rules.base, qty - (ZERO if fee_in_quote else commission))
            fee_asset = rules.quote if fee_in_quote else rules.base
        else:
            commission = round8(notional * self.fee_rate)
            b.take_locked(rules.base, qty)
            order.locked -= qty
            b.credit(rules.quote, notional - commission)
            fee_asset = rules.quote
        self.trades.append(Trade(id=self.next_trade_id, order_id=order.order_id, symbol=order.symbol,
                                 side=order.side, price=price, qty=qty, quote_qty=notional, commission=commission,
                                 commission_asset=fee_asset, time=now, maker=order.type == "LIMIT" and
                                 order.time != now))
        self.next_trade_id += 1
        order.executed_qty += qty
        order.cum_quote += notional
        order.update_time = now
        if order.remaining <= 0:
            self._close(order, "FILLED", now)
        else:
            order.status = "PARTIALLY_FILLED"

    def _close(self, order: Order, status: str, now: int) -> None:
        self._touched[order.order_id] = order
        order.status = status
        order.update_time = now
        order.schedule = []
        if order.locked > 0:
            self.balances.unlock(order.locked_asset, order.locked)
        order.locked = ZERO

    def _advance(self, now: int) -> bool:
        changed = False
        for order in self.orders.values():
            if not order.is_open:
                continue
            if order.type == "LIMIT" and not order.schedule:
                bid, ask = self.book(order.symbol, now)
                if bid > 0 and self._crosses(order, bid, ask):
                    order.schedule = self._split(order.remaining, self.rules[order.symbol].step, now)
                    self._touched[order.order_id] = order
            if order.schedule and order.schedule[0][0] <= now:
                self._run(order, now)
                changed = True
        return changed

    def _catch_up(self, now: int) -> None:
        if self._advance(now) or self._touched:
            self._save()

    def step(self, now: int) -> None:
        """Let time pass: due partial fills execute and crossed limit orders fill."""
        with self._lock:
            if self._advance(now) or self._touched:
                self._save()

    def has_open_orders(self) -> bool:
        with self._lock:
            return any(o.is_open for o in self.orders.values())

    def cancel(self, symbol: str, now: int, order_id: int | None = None, client_id: str | None = None) -> Order:
        with self._lock:
            self._catch_up(now)
            order = self._find(symbol, order_id, client_id)
            if order is None or not order.is_open:
                raise Rejected(CANCEL_REJECTED, str(order_id or client_id))
            self._close(order, "CANCELED", now)
            self._save()
            return self._copy(order)

    def get_order(self, symbol: str, now: int, order_id: int | None = None, client_id: str | None = None) -> Order:
        with self._lock:
            self._catch_up(now)
            order = self._find(symbol, order_id, client_id)
            if order is None:
                raise Rejected(ORDER_NOT_FOUND, str(order_id or client_id))
            return self._copy(order)

    def _find(self, symbol: str, order_id: int | None, client_id: str | None) -> Order | None:
        if order_id is not None:
            o = self.orders.get(order_id)
            return o if o is not None and o.symbol == symbol else None
        matches = [o for o in self.orders.values() if o.symbol == symbol and o.client_order_id == client_id]
        return matches[-1] if matches else None

    def list_orders(self, now: int, symbol: str | None = None, open_only: bool = False) -> list[Order]:
        with self._lock:
            self._catch_up(now)
            return [self._copy(o) for o in self.orders.values()
                    if (symbol is None or o.symbol == symbol) and (o.is_open or not open_only)]

    def list_trades(self, now: int, symbol: str | None = None) -> list[Trade]:
        with self._lock:
            self._catch_up(now)
            return [t for t in self.trades if symbol is None or t.symbol == symbol]

    def account(self, now: int) -> Balances:
        with self._lock:
            self._catch_up(now)
            return copy.deepcopy(self.balances)

    @staticmethod
    def _copy(order: Order) -> Order:
        c = copy.copy(order)
        c.schedule = [list(x) for x in order.schedule]
        return c

    # ------------------------------------------------------------------ the operator's moves
    def deposit(self, asset: str, amount: Decimal) -> None:
        _check_move(amount)
        with self._lock:
            held = self.balances.get_free(asset) + self.balances.get_locked(asset)
            if held + amount > MAX_BALANCE:
                raise Rejected(INVALID_AMOUNT, f"{asset} would hold {held + amount:E}, more than the most one "
                                               f"balance may hold ({MAX_BALANCE:E})")
            self.balances.credit(asset, amount)
            self._save()

    def withdraw(self, asset: str, amount: Decimal) -> None:
        _check_move(amount)
        with self._lock:
            if self.balances.get_free(asset) < amount:
                raise Rejected(INSUFFICIENT_BALANCE, f"{asset} free {self.balances.get_free(asset)} < {amount}")
            self.balances.debit(asset, amount)
            self._save()

    def halt(self, symbol: str, halted: bool) -> None:
        with self._lock:
            if symbol not in self.rules:
                raise Rejected(UNKNOWN_SYMBOL, symbol)
            (self.halted.add if halted else self.halted.discard)(symbol)
            self._save()

    def record_rejection(self, entry: dict) -> None:
        """Keep a refused order request with the exchange's answer (the bot's side of a rejection)."""
        with self._lock:
            self.rejections.append(entry)
            self._save()

    def snapshot(self, now: int) -> tuple[Balances, list[Order], list[Trade], list[dict], list[str]]:
        with self._lock:
            self._catch_up(now)
            return (copy.deepcopy(self.balances), [self._copy(o) for o in self.orders.values()],
                    list(self.trades), list(self.rejections), sorted(self.halted))


def parse_balances(items: list[str]) -> dict[str, Decimal]:
    """``["USDT=10000", "BTC=0.5"]`` -> {asset: amount}; ValueError names the bad item."""
    out: dict[str, Decimal] = {}
    for item in items:
        asset, sep, amount = item.partition("=")
        asset = asset.strip().upper()
        try:
            value = dec(amount.strip()) if sep else None
        except ValueError:
            value = None
        if not asset.isalnum() or value is None or value < 0:
            raise ValueError(f"--balance {item!r}: must be ASSET=AMOUNT with an amount >= 0, e.g. USDT=10000")
        out[asset] = out.get(asset, ZERO) + value
    return out


def _check_move(amount: Decimal) -> None:
    """An operator's deposit or withdrawal: a finite amount above 0, at most the most a balance holds, in
    whole units of 0.00000001 (what the account prints). Anything else is refused before any balance moves."""
    if not amount.is_finite() or amount <= 0:
        raise Rejected(INVALID_AMOUNT, "amount must be more than 0")
    if amount > MAX_BALANCE:
        raise Rejected(INVALID_AMOUNT, f"amount {amount:E} is more than the most one balance may hold "
                                       f"({MAX_BALANCE:E})")
    if amount != amount.quantize(EIGHT, rounding=ROUND_DOWN):
        raise Rejected(INVALID_AMOUNT, f"amount {amount} has more than 8 decimals")
