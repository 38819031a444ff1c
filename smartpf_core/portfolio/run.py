"""The mutable state of one portfolio while it runs, and the life of its operations.

Only the core changes it: the engine and the rule modules (``progress``, ``rebalance``, ``funding``,
``exits``) take a ``Run``; a host reads it through the engine's read-only properties.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..allocation import portfolio_value
from ..dust import fold_into_sell
from ..events import Notice, Order, Reason, Snapshot
from ..flows import fill_targets
from ..guard import PriceGuard
from ..market import MarketRules, Reserves
from ..planner import Plan, plan_buys
from ..records import OperationRecord
from ..spec import PortfolioSpec
from ..volatility import DAY, day_index, inverse_volatility_weights
from . import messages as say
from .ledger import Ledger
from .operation import Operation, TrackedOrder
from .states import OP_PREFIX, PORTFOLIO, OpKind, Phase, PhaseEvent, PortfolioEvent, PortfolioStatus


@dataclass
class Run:
    spec: PortfolioSpec
    ledger: Ledger
    # Part of every order id (``rb3:sell:ETH/USDT@<portfolio_id>``), so that an order of another
    # portfolio in the same trade database is never taken for one of this portfolio's.
    portfolio_id: str = ""
    rules: dict[str, MarketRules] = field(default_factory=dict)
    reserves: Reserves = field(default_factory=Reserves)
    status: PortfolioStatus = PortfolioStatus.NEW
    started_at: float | None = None
    guard: PriceGuard = field(default_factory=PriceGuard)
    op: Operation | None = None
    seq: int = 0
    last_check: int | None = None
    last_schedule: int | None = None
    targets_dirty: bool = False
    records: list[OperationRecord] = field(default_factory=list)
    termination: dict[str, Any] | None = None
    last_reason: Reason | None = None
    # when each pair last had a valid price (not saved), and the basket's pairs without one for more than
    # a check interval: pair -> the time of its last price (saved while any is stale)
    price_seen: dict[str, float] = field(default_factory=dict)
    stale: dict[str, float] = field(default_factory=dict)
    watch_from: float | None = None
    # live: what the account was found short of, and since when (see outside.py); saved while it lasts
    diverged: dict[str, Any] | None = None
    deposits: int = 0  # recurring deposits made (or skipped) since the start (flows.py); saved when any
    frozen: tuple[str, ...] = ()  # basket pairs frozen out of the weights for want of a price (stale_after)
    waiting: frozenset[str] = frozenset()  # dropped coins (set --drop --sell) without a price at this tick
    # weights: inverse_volatility (volatility.py): a price per pair per day, the day last sampled, and the
    # weights computed at the last rebalance; saved while the option is on
    samples: dict[str, list[float]] = field(default_factory=dict)
    sample_day: int | None = None
    computed: dict[str, float] | None = None

    def move(self, event: PortfolioEvent) -> None:
        self.status = PORTFOLIO.transition(self.status, event)

    def pairs(self) -> tuple[str, ...]:
        return self.ledger.held_pairs(self.spec.weights)

    # ------------------------------------------------------------------ operations
    def new_op(self, kind: OpKind, phase: Phase, trigger: str, reason: str, now: float,
               targets: dict[str, float] | None = None) -> Operation:
        self.seq += 1
        op = Operation(f"{OP_PREFIX[kind]}{self.seq}", kind, phase, targets=targets)
        self.op = op
        self.records.append(OperationRecord(op.id, kind, trigger, reason, now))
        if kind == OpKind.REBALANCE:
            self.ledger.rebalances += 1
        return op

    def find_record(self, op_id: str) -> OperationRecord | None:
        """The latest record of operation ``op_id`` (the last one, but for a state saved without it)."""
        for record in reversed(self.records):
            if record.id == op_id:
                return record
        return None

    def record_of(self, op: Operation, now: float) -> OperationRecord:
        """The record of the operation under way. A state saved or imported without it (a version-1 file whose
        records were dropped) gets it back, started with the portfolio: the core never fails on its own state."""
        record = self.find_record(op.id)
        if record is None:
            started = self.started_at if self.started_at is not None else now
            record = OperationRecord(op.id, op.kind, "resumed", f"{op.kind} {op.id} resumed from a saved state "
                                     "(its record was not saved)", started)
            self.records.append(record)
        return record

    def add_finished(self, record: OperationRecord) -> None:
        """A finished record, before the record of the operation under way (which stays the last)."""
        if self.op is None or not self.records or self.records[-1].id != self.op.id:
            self.records.append(record)
        else:
            self.records.insert(len(self.records) - 1, record)

    def issue(self, op: Operation, plan: Plan, now: float) -> tuple[Order, ...]:
        self.record_of(op, now).skipped.extend(plan.skipped)
        issued = []
        suffix = f"@{self.portfolio_id}" if self.portfolio_id else ""
        for p in plan.orders:
            amount = self.fold_dust(p.pair, p.amount) if p.side == "sell" else p.amount
            order = Order(f"{op.id}:{p.side}:{p.pair}{suffix}", op.id, p.pair, p.side, amount, p.price, p.full)
            op.orders[order.id] = TrackedOrder(order)
            issued.append(order)
        return tuple(issued)

    def fold_dust(self, pair: str, amount: float) -> float:
        """A sell of ``amount`` of ``pair`` with the coin's dust folded in as far as the lot step allows
        (``dust.fold_into_sell``; the account holds the holding and its dust). The part folded moves from the
        dust into the holding, so the books show what the order sells (the value is unchanged)."""
        ledger = self.ledger
        dust = ledger.dust.get(pair, 0.0)
        if dust <= 0:
            return amount
        rule = self.rules.get(pair)
        step = rule.amount_step if rule is not None else 0.0
        held = ledger.holdings.get(pair, 0.0)
        total = fold_into_sell(amount, dust, step, held + dust)
        ledger.fold_dust(pair, total - amount)
        return total

    def finish_op(self, now: float, status: str = "done") -> OperationRecord:
        op = self.op
        assert op is not None
        op.move(PhaseEvent.FINISHED)
        record = self.record_of(op, now)
        record.finished_at = now
        record.status = status
        self.op = None
        return record

    # ------------------------------------------------------------------ what a tick offers
    def watch_prices(self, snap: Snapshot) -> tuple[Notice, ...]:
        """Note which pairs have a valid price; a pair of the basket without one for more than a check interval
        is stale: say so once when it becomes stale and once when it has a price again."""
        now = snap.time
        if self.watch_from is None:
            self.watch_from = now
        seen = self.price_seen
        times = snap.price_times
        prices = snap.prices
        if times is None:  # (a backtest's tick: every valid price is of this instant)
            priced = True
            for pair in self.spec.weights:
                price = prices.get(pair)
                if price is not None and price > 0 and price != math.inf:
                    seen[pair] = now
                else:
                    priced = False
            if priced and not self.stale:
                return ()
        notices: list[Notice] = []
        limit = self.spec.check_interval
        for pair in self.spec.weights:
            price = prices.get(pair)
            if times is not None and price is not None and price > 0 and price != math.inf:
                when = times.get(pair, now)
                if when >= seen.get(pair, -math.inf):
                    seen[pair] = when
            last = seen.get(pair, self.watch_from)
            if now - last > limit:
                if pair not in self.stale:
                    self.stale[pair] = last
                    notices.append(say.stale_started(pair, last))
            elif pair in self.stale:
                notices.append(say.stale_ended(pair, self.stale.pop(pair), now))
        return (*notices, *self.update_frozen(now))

    # ------------------------------------------------------------------ coins frozen out of the weights
    def frozen_out(self) -> frozenset[str]:
        """The pairs the portfolio neither values for its weights nor trades: those ``set --drop`` kept out
        (``spec.frozen``) and those without a price for longer than ``spec.stale_after``."""
        if not self.frozen and not self.spec.frozen and not self.waiting:
            return frozenset()
        return frozenset((*self.frozen, *self.waiting, *(self.spec.pair(c) for c in self.spec.frozen)))

    def wait_for_dropped(self, snap: Snapshot) -> None:
        """A dropped coin still held, without a valid price now but with a last accepted one, waits (frozen for
        this tick) while the others trade: it is sold when its market has a price again."""
        if not self.spec.dropped:
            return
        waiting = []
        for coin in self.spec.dropped:
            pair = self.spec.pair(coin)
            price = snap.prices.get(pair)
            unpriced = price is None or not price > 0 or math.isinf(price) or pair in snap.stale
            if unpriced and self.ledger.holdings.get(pair, 0.0) > 0 and pair in self.guard.accepted:
                waiting.append(pair)
        self.waiting = frozenset(waiting)

    def targets(self) -> Mapping[str, float]:
        """The target weights the rules trade towards: the computed ones (inverse volatility) or the settings';
        a frozen coin's weight goes to the others pro rata."""
        frozen = self.frozen_out()
        computed = self.computed
        base = computed if computed is not None and computed.keys() == self.spec.weights.keys() else \
            self.spec.weights
        if not frozen:
            return base
        rest = {p: w for p, w in base.items() if p not in frozen}
        total = sum(rest.values())
        return {p: w / total for p, w in rest.items()} if total > 0 else {}

    def tradable(self) -> Mapping[str, float]:
        """The holdings the rules value and trade: all but the frozen coins."""
        frozen = self.frozen_out()
        holdings = self.ledger.holdings
        return holdings if not frozen else {p: q for p, q in holdings.items() if p not in frozen}

    def update_frozen(self, now: float) -> tuple[Notice, ...]:
        """Freeze a basket pair stale for longer than ``stale_after`` (and with a last price to value it at),
        thaw it when it has a price again: one notice each way."""
        after = self.spec.stale_after
        frozen = () if after is None else tuple(
            p for p, since in self.stale.items()
            if p in self.spec.weights and now - since > after and p in self.guard.accepted)
        if frozen == self.frozen:
            return ()
        notices = [say.frozen_out(p, self.stale[p], self.spec.weights[p]) for p in frozen if p not in self.frozen]
        notices += [say.thawed(p) for p in self.frozen if p not in frozen]
        self.frozen = frozen
        return tuple(notices)

    # ------------------------------------------------------------------ weights from data
    def sample_prices(self, snap: Snapshot) -> None:
        """Inverse volatility: keep the first valid prices of each UTC day, over the volatility window."""
        if self.spec.weighting != "inverse_volatility":
            return
        day = day_index(snap.time)
        if self.sample_day is not None and day <= self.sample_day:
            return
        self.sample_day = day
        keep = self.spec.volatility_window // DAY + 1
        for pair in self.spec.weights:
            series = self.samples.setdefault(pair, [])
            series.append(snap.prices[pair])
            del series[:-keep]

    def recompute_weights(self) -> str:
        """Inverse volatility: the weights for the rebalance starting now, and how to say them ("" if off)."""
        fresh = self.fresh_weights()
        if fresh is None:
            return ""
        self.computed = fresh
        return say.computed_weights(fresh)

    def fresh_weights(self) -> dict[str, float] | None:
        """Inverse volatility: the weights a rebalance starting now would trade towards (None if off)."""
        if self.spec.weighting != "inverse_volatility":
            return None
        return inverse_volatility_weights(tuple(self.spec.weights), self.samples)

    def spendable(self, snap: Snapshot) -> float:
        cash = self.ledger.cash
        return cash if snap.spendable is None else min(cash, snap.spendable)

    def plan_buys(self, snap: Snapshot, exclude: set[str] | frozenset[str] = frozenset(),
                  underweight: bool = False, targets: dict[str, float] | None = None) -> Plan:
        """The buys towards ``targets``, else the operation's own (a partial rebalance), else the weights in
        force; ``underweight``: an inflow that only fills the coins under target, the furthest under first
        (``flows.fill_targets``)."""
        spec, ledger = self.spec, self.ledger
        if targets is None and self.op is not None:
            targets = self.op.targets
        weights = targets or self.targets()
        holdings = self.tradable()
        goal = underweight_targets(weights, holdings, ledger, snap, spec.fee) if underweight else weights
        return plan_buys(goal, holdings, snap.prices, ledger.cash, self.rules, spec.min_trade,
                         self.reserves, spec.fee, reserved=ledger.pending_withdrawal,
                         spendable=snap.spendable, exclude=exclude)

    def bad_prices(self, snap: Snapshot, pairs: tuple[str, ...]) -> Reason | None:
        missing: list[str] = []
        stale: list[str] = []
        limit = 2 * self.spec.check_interval
        prices, marked, times = snap.prices, snap.stale, snap.price_times
        for pair in pairs:
            price = prices.get(pair)
            if price is None or not price > 0 or math.isinf(price):
                missing.append(pair)
            elif (marked and pair in marked) or (
                times is not None and snap.time - times.get(pair, -math.inf) > limit
            ):
                stale.append(pair)
        if missing:
            return say.missing_price(missing, self.stale)
        if stale:
            return say.stale_price(stale, self.stale)
        return None


def underweight_targets(weights: Mapping[str, float], holdings: Mapping[str, float], ledger: Ledger,
                        snap: Snapshot, fee: float) -> dict[str, float]:
    """Weights that make ``plan_buys`` spend the cash underweight-only: each coin's weight is the value
    ``fill_targets`` lets it reach, over the value the planner shares out."""
    prices = snap.prices
    investable = portfolio_value(holdings, prices, ledger.cash) - ledger.pending_withdrawal
    if investable <= 0:
        return dict(weights)
    budget = ledger.cash - ledger.pending_withdrawal
    if snap.spendable is not None:
        budget = min(budget, snap.spendable)
    held = {p: holdings.get(p, 0.0) * prices[p] for p in weights}
    reach = fill_targets({p: w * investable for p, w in weights.items()}, held, budget / (1 + fee))
    return {p: v / investable for p, v in reach.items()}
