"""The bot's state machine: start, monitor, rebalance (sell phase, then buy phase), change, terminate.

Sans-I/O, like h11: the host feeds ``step(snapshot)`` once per tick and reports what happened to the
orders (``order_placed``, ``on_fill``, ``order_closed``); the engine returns ``Decision`` values.
It never reads a clock, a file or the network. Its whole state round-trips through ``to_dict`` /
``from_dict`` so that a host can persist it and resume after a restart.

An operation (the initial purchase, a rebalance, a deposit, a withdrawal, the exit) has an id that
is part of every order id; an operation is never started twice and its orders are re-emitted, with
the same ids, until the host says they were placed, so a host that restarts can tell what it
already sent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import events as ev
from .allocation import actual_weights, largest_drift, portfolio_value
from .dust import with_dust
from .events import Decision, Fill, Notice, Order, Reason, Snapshot
from .guard import Jump, PriceGuard
from .intervals import format_interval
from .market import EPS, MarketRules, Reserves
from .planner import Plan, SkippedOrder, plan_buys, plan_initial, plan_sells
from .records import Hodl, OperationRecord, TradeRecord
from .spec import PortfolioSpec
from .triggers import next_proportional_time, next_scheduled_time, proportional_index, scheduled_index

STATE_VERSION = 2  # 2: portfolio_id (order ids carry it); see _MIGRATIONS
PLANNED, OPEN, FILLED, FAILED = "planned", "open", "filled", "failed"


@dataclass
class _OrderState:
    order: Order
    status: str = PLANNED

    def to_dict(self) -> dict[str, Any]:
        o = self.order
        return {
            "id": o.id, "op_id": o.op_id, "pair": o.pair, "side": o.side, "amount": o.amount,
            "price": o.price, "full": o.full, "status": self.status,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> _OrderState:
        order = Order(d["id"], d["op_id"], d["pair"], d["side"], d["amount"], d["price"], d["full"])
        return cls(order, d["status"])


@dataclass
class _Operation:
    id: str
    kind: str
    phase: str  # "sell" or "buy"
    orders: dict[str, _OrderState] = field(default_factory=dict)

    def outstanding(self) -> list[_OrderState]:
        return [o for o in self.orders.values() if o.status in (PLANNED, OPEN)]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "phase": self.phase,
                "orders": [o.to_dict() for o in self.orders.values()]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> _Operation:
        orders = [_OrderState.from_dict(o) for o in d["orders"]]
        return cls(d["id"], d["kind"], d["phase"], {o.order.id: o for o in orders})


@dataclass(frozen=True)
class Metrics:
    orders: int
    fees: float
    turnover: float
    rebalances: int


class Engine:
    """One Smart Portfolio. Create it with a validated spec and the exchange rules per pair."""

    def __init__(
        self,
        spec: PortfolioSpec,
        rules: Mapping[str, MarketRules] | None = None,
        reserves: Reserves | None = None,
        portfolio_id: str = "",
    ) -> None:
        self.spec = spec
        # Part of every order id (``rb3:sell:ETH/USDT@<portfolio_id>``), so that an order of another
        # portfolio in the same trade database is never taken for one of this portfolio's.
        self.portfolio_id = portfolio_id
        self.rules: dict[str, MarketRules] = dict(rules or {})
        self.reserves = reserves or Reserves()
        self.status = "new"  # new -> running -> terminated
        self.started_at: float | None = None
        self.holdings: dict[str, float] = {}
        self.dust: dict[str, float] = {}  # per pair: coins outside the host's trades, left by fees in the coin
        self.cash = spec.investment
        self.invested = spec.investment  # net principal the ledger has accounted for
        self.pending_withdrawal = 0.0
        self.withdrawn = 0.0
        self.withdrawal_asked = 0.0  # the withdrawal under way, as asked (the HODL follows what was really taken)
        self.withdrawal_kept = 0.0  # asked to withdraw but could not be: it stays in the principal
        self.guard = PriceGuard()
        self.op: _Operation | None = None
        self.seq = 0
        self.last_check: int | None = None
        self.last_schedule: int | None = None
        self.targets_dirty = False
        self.hodl = Hodl(cash=spec.investment)
        self.records: list[OperationRecord] = []
        self.termination: dict[str, Any] | None = None
        self.orders_filled = 0
        self.fees_paid = 0.0
        self.turnover = 0.0
        self.rebalances = 0
        self.last_reason: Reason | None = None

    # ------------------------------------------------------------------ the tick
    def step(self, snap: Snapshot) -> Decision:
        """Advance to ``snap.time``: continue the operation under way, or decide whether to start one."""
        if snap.holdings is not None:
            self._reconcile(snap.holdings)
        if snap.dust is not None:
            self.dust = {p: float(q) for p, q in snap.dust.items() if q > 0}
        decision = self._step(snap)
        self.last_reason = decision.reason
        return decision

    def _step(self, snap: Snapshot) -> Decision:
        now = snap.time
        if self.status == "terminated":
            return Decision(now, reason=self._terminated_reason())
        bad = self._bad_prices(snap, self._pairs())
        if bad is not None:
            return Decision(now, reason=bad)
        jumps = self.guard.check(snap.prices, self._pairs(), now, self.spec.price_guard, self.spec.check_interval)
        if jumps:
            return Decision(now, reason=self._unconfirmed(jumps))
        if self.op is not None:
            done = self._continue(snap)
            if self.op is not None or done.orders or self.status != "running":
                return done
            # the operation completed: the rules are evaluated on this same tick, no tick passes unchecked
            after = self._decide(snap)
            return Decision(now, after.orders, after.reason, (*done.notices, *after.notices))
        if self.status == "new":
            return self._start_initial(snap)
        return self._decide(snap)

    def _decide(self, snap: Snapshot) -> Decision:
        """No operation under way: start one (exit, investment change, rebalance) or say why not."""
        now = snap.time
        prices = snap.prices
        foreign = sorted(p for p in snap.open_orders if p in self._pairs())
        if foreign:
            return Decision(now, reason=Reason(ev.ORDER_OPEN, f"an order is still open for {', '.join(foreign)}",
                                               {"pairs": foreign}))
        exit_decision = self._check_exit(snap)
        if exit_decision is not None:
            return exit_decision
        change = self._apply_investment_change(snap)
        if change is not None:
            return change
        return self._check_rebalance(snap, prices)

    # ------------------------------------------------------------------ operations
    def _new_op(self, kind: str, phase: str, trigger: str, reason: str, now: float) -> _Operation:
        self.seq += 1
        prefix = {"initial": "init", "rebalance": "rb", "deposit": "dep", "withdraw": "wd", "exit": "exit"}[kind]
        op = _Operation(f"{prefix}{self.seq}", kind, phase)
        self.op = op
        self.records.append(OperationRecord(op.id, kind, trigger, reason, now))
        if kind == "rebalance":
            self.rebalances += 1
        return op

    def _issue(self, op: _Operation, plan: Plan) -> tuple[Order, ...]:
        record = self.records[-1]
        record.skipped.extend(plan.skipped)
        issued = []
        suffix = f"@{self.portfolio_id}" if self.portfolio_id else ""
        for p in plan.orders:
            order = Order(f"{op.id}:{p.side}:{p.pair}{suffix}", op.id, p.pair, p.side, p.amount, p.price, p.full)
            op.orders[order.id] = _OrderState(order)
            issued.append(order)
        return tuple(issued)

    def _finish_op(self, now: float, status: str = "done") -> OperationRecord:
        record = self.records[-1]
        record.finished_at = now
        record.status = status
        self.op = None
        return record

    def _continue(self, snap: Snapshot) -> Decision:
        """Carry the operation under way one step further (new work waits for the next tick)."""
        op = self.op
        assert op is not None
        now = snap.time
        outstanding = op.outstanding()
        if outstanding:
            planned = tuple(o.order for o in outstanding if o.status == PLANNED)
            pairs = sorted({o.order.pair for o in outstanding})
            reason = Reason(ev.IN_PROGRESS if planned else ev.ORDER_OPEN,
                            f"{op.kind} {op.id} ({op.phase} phase) waiting for orders on {', '.join(pairs)}",
                            {"op": op.id, "phase": op.phase, "pairs": pairs})
            return Decision(now, orders=planned, reason=reason)
        if op.kind == "initial":
            self.status = "running"
            record = self._finish_op(now)
            return Decision(now, notices=(self._finished_notice(record),))
        if op.kind == "exit":
            return self._terminate(now, self.termination["trigger"] if self.termination else "terminate", "sell")
        if op.phase == "sell" and op.kind in ("rebalance", "deposit"):
            op.phase = "buy"
            # never buy back a coin this operation sold: only the other coins' shortfalls get the cash
            sold = {o.order.pair for o in op.orders.values() if o.order.side == "sell"}
            plan = self._plan_buys(snap, exclude=sold)
            orders = self._issue(op, plan)
            if orders:
                return Decision(now, orders=orders,
                                reason=Reason(ev.IN_PROGRESS, f"{op.kind} {op.id}: buy phase", {"op": op.id}))
        if op.kind == "withdraw":
            bad = self._bad_prices(snap, self._hodl_pairs())
            if bad is not None:  # the HODL shadow follows the withdrawal at these prices
                return Decision(now, reason=bad)
            self._take_withdrawal()
        record = self._finish_op(now)
        notices = [self._finished_notice(record)]
        if op.kind == "withdraw":
            notices.extend(self._settle_withdrawal(record, snap.prices))
        return Decision(now, notices=tuple(notices))

    def _settle_withdrawal(self, record: OperationRecord, prices: Mapping[str, float]) -> list[Notice]:
        """The principal and the HODL shadow change by what was really withdrawn; say why if less."""
        short = self.pending_withdrawal if self.pending_withdrawal > EPS else 0.0
        taken = self.withdrawal_asked - short
        if taken > 0:  # (a state saved before this rule had no ask on record: its HODL withdrew at the start)
            self.hodl.withdraw(taken, prices, self.spec.fee)
        self.withdrawal_asked = 0.0
        self.pending_withdrawal = 0.0
        if not short:
            return []
        self.invested += short
        self.withdrawal_kept += short
        currency = self.spec.stake_currency
        return [Notice("withdrawal_short",
                       f"could not withdraw {short:.2f} {currency}: {_short_reason(record)}; it stays invested "
                       f"(principal {self.invested:.2f} {currency})",
                       {"amount": short, "invested": self.invested})]

    def _start_initial(self, snap: Snapshot) -> Decision:
        now = snap.time
        self.started_at = now
        op = self._new_op("initial", "buy", "start", "initial purchase of the basket", now)
        plan = plan_initial(self.spec.weights, self.spec.investment, snap.prices, self.rules,
                            self.spec.min_trade, self.reserves, self.spec.fee, self._spendable(snap))
        orders = self._issue(op, plan)
        notice = Notice("started", f"buying the basket for {self.spec.investment:g} {self.spec.stake_currency}",
                        {"op": op.id, "skipped": [s.describe(self.spec.stake_currency) for s in plan.skipped]})
        return Decision(now, orders=orders, notices=(notice,))

    def _check_exit(self, snap: Snapshot) -> Decision | None:
        spec = self.spec
        if spec.terminate is not None:
            return self._begin_exit(snap, "terminate", spec.terminate, "terminated by the user")
        if spec.take_profit is None and spec.stop_loss is None:
            return None
        rate = self.profit_rate(snap.prices) * 100.0
        if spec.take_profit is not None and rate >= spec.take_profit - 1e-9:
            return self._begin_exit(snap, "take_profit", spec.on_exit,
                                    f"take-profit: portfolio profit {rate:.2f} % reached +{spec.take_profit:g} %")
        if spec.stop_loss is not None and rate <= -spec.stop_loss + 1e-9:
            return self._begin_exit(snap, "stop_loss", spec.on_exit,
                                    f"stop-loss: portfolio profit {rate:.2f} % reached -{spec.stop_loss:g} %")
        return None

    def _begin_exit(self, snap: Snapshot, trigger: str, how: str, why: str) -> Decision:
        now = snap.time
        self.termination = {"trigger": trigger, "how": how, "why": why, "requested_at": now}
        if how == "keep":
            return self._terminate(now, trigger, "keep")
        op = self._new_op("exit", "sell", trigger, why, now)
        plan = plan_sells({}, self.holdings, snap.prices, self.cash, self.rules, 0.0, self.reserves, sell_all=True)
        orders = self._issue(op, plan)
        notice = Notice("terminating", f"{why}; selling every coin to {self.spec.stake_currency}", {"op": op.id})
        if not orders:
            return self._terminate(now, trigger, "sell")
        return Decision(now, orders=orders, notices=(notice,))

    def _terminate(self, now: float, trigger: str, how: str) -> Decision:
        if self.op is not None:
            self._finish_op(now)
        self.status = "terminated"
        info = self.termination or {"trigger": trigger, "why": trigger}
        info.update({"how": how, "at": now})
        self.termination = info
        kept = "the coins stay in the account" if how == "keep" else f"every coin sold to {self.spec.stake_currency}"
        return Decision(now, reason=self._terminated_reason(),
                        notices=(Notice("terminated", f"{info['why']}: bot terminated, {kept}", dict(info)),))

    def _terminated_reason(self) -> Reason:
        info = self.termination or {}
        return Reason(ev.TERMINATED, f"the bot is terminated ({info.get('why', 'terminated')}); it trades no more",
                      dict(info))

    def _apply_investment_change(self, snap: Snapshot) -> Decision | None:
        delta = self.spec.investment - (self.invested - self.withdrawal_kept)
        now = snap.time
        currency = self.spec.stake_currency
        if delta > EPS:
            self.invested += delta
            self.cash += delta
            self.hodl.deposit(delta, self.spec.weights, snap.prices, self.spec.fee)
            op = self._new_op("deposit", "buy", "investment", f"investment raised by {delta:g} {currency}", now)
            orders = self._issue(op, self._plan_buys(snap))
            notice = Notice("investment_added", f"investment raised by {delta:g} {currency}; buying towards targets",
                            {"amount": delta, "op": op.id})
            if not orders:
                record = self._finish_op(now)
                return Decision(now, notices=(notice, self._finished_notice(record)))
            return Decision(now, orders=orders, notices=(notice,))
        if delta < -EPS:
            bad = self._bad_prices(snap, self._hodl_pairs())
            if bad is not None:  # every coin any ledger holds must be priced (the HODL shadow withdraws too)
                return Decision(now, reason=bad)
            amount = -delta
            self.invested -= amount
            self.pending_withdrawal += amount
            self._take_withdrawal()
            notice = Notice("investment_withdrawn", f"investment lowered by {amount:g} {currency}",
                            {"amount": amount})
            if self.pending_withdrawal <= EPS:
                self.hodl.withdraw(amount, snap.prices, self.spec.fee)
                return Decision(now, notices=(notice,))
            self.withdrawal_asked = amount
            op = self._new_op("withdraw", "sell", "investment",
                              f"investment lowered by {amount:g} {currency}", now)
            # the sells must produce the withdrawal net of their fee; rounded up to the step, not down
            gross = self.pending_withdrawal / (1 - self.spec.fee)
            plan = plan_sells(self.spec.weights, self.holdings, snap.prices, self.cash, self.rules,
                              self.spec.min_trade, self.reserves, reserved=gross, round_up=True)
            orders = self._issue(op, plan)
            if not orders:
                done = self._continue(snap)
                return Decision(now, reason=done.reason, notices=(notice, *done.notices))
            return Decision(now, orders=orders, notices=(notice,))
        return None

    def _take_withdrawal(self) -> None:
        take = min(self.cash, self.pending_withdrawal)
        if take > 0:
            self.cash -= take
            self.pending_withdrawal -= take
            self.withdrawn += take

    def _check_rebalance(self, snap: Snapshot, prices: Mapping[str, float]) -> Decision:
        now = snap.time
        spec = self.spec
        due, trigger, idle = self._due(now)
        if not due:
            return Decision(now, reason=idle)
        weights = actual_weights(self.holdings, prices, self.cash, self._pairs())
        drift = largest_drift(weights, spec.weights, spec.threshold_type)
        if trigger == "threshold" and (drift is None or drift.size <= spec.threshold + 1e-9):
            return Decision(now, reason=self._below_threshold(drift), checked=True)
        if trigger == "threshold" and drift is not None:  # (drift is None returned above; for mypy)
            why = (f"{drift.pair} at {drift.actual * 100:.2f} % vs target {drift.target * 100:.2f} %: deviation "
                   f"{drift.deviation:+.2f} beyond the threshold of {spec.describe_threshold()}")
        elif trigger == "schedule":
            why = f"scheduled rebalance (every {format_interval(spec.interval)})"
        else:
            why = "target allocations changed"
        self.targets_dirty = False
        sells = plan_sells(spec.weights, self.holdings, prices, self.cash, self.rules, spec.min_trade, self.reserves)
        if sells.orders:
            op = self._new_op("rebalance", "sell", trigger, why, now)
            orders = self._issue(op, sells)
            return Decision(now, orders=orders, notices=(self._started_notice(op.id, trigger, why, orders),),
                            checked=True)
        buys = self._plan_buys(snap)
        if buys.orders:
            op = self._new_op("rebalance", "buy", trigger, why, now)
            self.records[-1].skipped.extend(sells.skipped)
            orders = self._issue(op, buys)
            return Decision(now, orders=orders, notices=(self._started_notice(op.id, trigger, why, orders),),
                            checked=True)
        skipped = (*sells.skipped, *buys.skipped)
        if skipped:
            lines = [s.describe(spec.stake_currency) for s in skipped]
            reason = Reason(ev.ORDERS_TOO_SMALL, f"{why}, but every order is too small: " + "; ".join(lines),
                            {"trigger": trigger, "skipped": [_skipped_dict(s) for s in skipped]})
        else:
            reason = Reason(ev.BALANCED, f"{why}: nothing to trade, the portfolio is at target", {"trigger": trigger})
        return Decision(now, reason=reason, checked=True)

    def _due(self, now: float) -> tuple[bool, str, Reason | None]:
        """Is a check due now, and of which kind; otherwise the reason why not."""
        spec = self.spec
        idx = proportional_index(now, spec.check_interval)
        check_boundary = self.last_check is None or idx > self.last_check
        if check_boundary:
            self.last_check = idx
        if self.targets_dirty and check_boundary:
            return True, "targets_changed", None
        if spec.mode == "scheduled":
            start = self.started_at if self.started_at is not None else now
            sidx = scheduled_index(now, start, spec.interval)
            if self.last_schedule is None:
                self.last_schedule = sidx
            if sidx > self.last_schedule:
                self.last_schedule = sidx
                return True, "schedule", None
            wait = next_scheduled_time(now, start, spec.interval) - now
            return False, "schedule", Reason(
                ev.NOT_SCHEDULED, f"next scheduled rebalance in {_duration(wait)}",
                {"seconds_to_next": wait, "next_time": now + wait})
        if check_boundary:
            return True, "threshold", None
        wait = next_proportional_time(now, spec.check_interval) - now
        last = self.last_reason
        if last is not None and last.code in (ev.BELOW_THRESHOLD, ev.ORDERS_TOO_SMALL, ev.BALANCED):
            details = {**last.details, "seconds_to_next_check": wait}
            return False, "threshold", Reason(last.code, last.message, details)
        return False, "threshold", Reason(ev.WAITING_FOR_CHECK, f"next check in {_duration(wait)}",
                                          {"seconds_to_next_check": wait})

    def _below_threshold(self, drift: Any) -> Reason:
        spec = self.spec
        if drift is None:
            return Reason(ev.BELOW_THRESHOLD, "nothing held yet", {})
        return Reason(
            ev.BELOW_THRESHOLD,
            f"largest deviation {drift.pair} {drift.deviation:+.2f} is within the threshold of "
            f"{spec.describe_threshold()} (actual {drift.actual * 100:.2f} % vs target {drift.target * 100:.2f} %)",
            {"pair": drift.pair, "deviation": drift.deviation, "threshold": spec.threshold,
             "threshold_type": spec.threshold_type, "actual": drift.actual, "target": drift.target},
        )

    def _plan_buys(self, snap: Snapshot, exclude: set[str] | frozenset[str] = frozenset()) -> Plan:
        return plan_buys(self.spec.weights, self.holdings, snap.prices, self.cash, self.rules, self.spec.min_trade,
                         self.reserves, self.spec.fee, reserved=self.pending_withdrawal,
                         spendable=snap.spendable, exclude=exclude)

    def _unconfirmed(self, jumps: list[Jump]) -> Reason:
        limit = self.spec.price_guard
        moves = ", ".join(f"{j.pair} {j.change_pct:+.1f} % ({j.accepted:g} -> {j.price:g})" for j in jumps)
        return Reason(ev.PRICE_UNCONFIRMED,
                      f"price moved more than the price guard of {limit:g} % since the last check: {moves}; "
                      "nothing acts on it until the next check confirms it",
                      {"pairs": [j.pair for j in jumps], "price_guard": limit,
                       "moves": [{"pair": j.pair, "accepted": j.accepted, "price": j.price, "since": j.since}
                                 for j in jumps]})

    # ------------------------------------------------------------------ skipping quiet ticks
    def at_rest(self, prices: Mapping[str, float]) -> bool:
        """True when only the prices can start anything: running, no operation, no pending change or
        unconfirmed jump, and the guard's accepted prices are ``prices`` (the tick just stepped).

        From such a state a host may skip ticks it has proven quiet (see ``skip_quiet``): every rule that
        could act on them (take-profit, stop-loss, the guard's jump, a due check) is a function of the
        prices and of holdings that cannot change until the engine acts.
        """
        spec = self.spec
        if self.status != "running" or self.op is not None or self.targets_dirty or spec.terminate is not None:
            return False
        if abs(spec.investment - (self.invested - self.withdrawal_kept)) > EPS or self.pending_withdrawal > EPS:
            return False
        if self.last_check is None or (spec.mode == "scheduled" and self.last_schedule is None):
            return False
        if self.guard.pending:
            return False
        accepted = self.guard.accepted
        return all(accepted.get(pair) == prices.get(pair) for pair in self._pairs())

    def skip_quiet(self, now: float, prices: Mapping[str, float]) -> None:
        """Book-keep ticks a host skipped, ending with the tick at ``now`` with ``prices``, as stepping them
        would have: the guard accepts these prices and the check index advances to ``now``.

        Only valid from ``at_rest`` and when the host has proven that on every skipped tick every price was
        valid and within the guard of the previous one, no exit rule fired, and no due check found a drift
        beyond the threshold or a schedule boundary (the fast simulator, ``smartpf.fastsim``, proves it with
        margins and steps the engine on every tick it cannot rule out). The skipped ticks' reasons are not
        produced (``last_reason`` keeps the last stepped one).
        """
        if self.status != "running" or self.op is not None:
            raise ValueError("skip_quiet: only a running portfolio with no operation under way has quiet ticks")
        for pair in self._pairs():
            self.guard.accept(pair, prices[pair])
        idx = proportional_index(now, self.spec.check_interval)
        if self.last_check is None or idx > self.last_check:
            self.last_check = idx

    # ------------------------------------------------------------------ host reports
    def order_placed(self, order_id: str) -> bool:
        """The host sent the order: stop re-emitting it. False if the engine does not know the id."""
        state = self._order(order_id)
        if state is None:
            return False
        if state.status == PLANNED:
            state.status = OPEN
        return True

    def on_fill(self, fill: Fill) -> bool:
        """Book a closed (filled) order into holdings, cash, records and the HODL shadow."""
        state = self._order(fill.order_id)
        if state is None or state.status in (FILLED, FAILED):
            return False
        order = state.order
        state.status = FILLED
        if fill.amount > 0:
            self._book(order, fill)
        return True

    def order_closed(self, order_id: str, filled: Fill | None = None) -> bool:
        """The order ended without a (full) fill: cancelled, expired or rejected. Book any partial fill."""
        state = self._order(order_id)
        if state is None or state.status in (FILLED, FAILED):
            return False
        state.status = FAILED
        if filled is not None and filled.amount > 0:
            self._book(state.order, filled)
        return True

    def _book(self, order: Order, fill: Fill) -> None:
        notional = fill.amount * fill.price
        held = self.holdings.get(order.pair, 0.0)
        if order.side == "buy":
            self.holdings[order.pair] = held + fill.amount
            self.cash -= notional + fill.fee
        else:
            remaining = held - fill.amount
            self.holdings[order.pair] = 0.0 if order.full or remaining <= held * 1e-9 else remaining
            self.cash += notional - fill.fee
        if self.op is not None and self.op.kind == "initial":
            self.hodl.holdings[order.pair] = self.hodl.holdings.get(order.pair, 0.0) + fill.amount
            self.hodl.cash -= notional + fill.fee
        self.orders_filled += 1
        self.fees_paid += fill.fee
        self.turnover += notional
        if self.records and self.records[-1].id == order.op_id:
            self.records[-1].trades.append(
                TradeRecord(fill.time, order.pair, order.side, fill.amount, fill.price, fill.fee, order.id))

    def _order(self, order_id: str) -> _OrderState | None:
        if self.op is None:
            return None
        return self.op.orders.get(order_id)

    def pending_orders(self) -> list[Order]:
        """Orders of the operation under way that are not closed yet (planned or open)."""
        return [] if self.op is None else [o.order for o in self.op.outstanding()]

    def order_status(self, order_id: str) -> str | None:
        state = self._order(order_id)
        return None if state is None else state.status

    # ------------------------------------------------------------------ runtime changes
    def update_spec(self, new: PortfolioSpec) -> tuple[bool, list[Notice]]:
        """Apply edited settings. Investment changes and new targets take effect at the next step."""
        old = self.spec
        if new.stake_currency != old.stake_currency:
            return False, [Notice("rejected", f"stake currency cannot change from {old.stake_currency} to "
                                              f"{new.stake_currency} while the bot runs", {})]
        notices: list[Notice] = []
        if dict(new.weights) != dict(old.weights):
            self.targets_dirty = True
            notices.append(Notice("targets_changed", "new target allocations: "
                                  + ", ".join(f"{c} {p:g} %" for c, p in new.allocations), {}))
        if new.investment != old.investment:
            notices.append(Notice("investment_changed",
                                  f"investment {old.investment:g} -> {new.investment:g} {new.stake_currency}", {}))
        if (new.take_profit, new.stop_loss, new.on_exit) != (old.take_profit, old.stop_loss, old.on_exit):
            text = f"take-profit {new.take_profit}, stop-loss {new.stop_loss}, on exit {new.on_exit}"
            notices.append(Notice("exit_rules_changed", text, {}))
        if new.mode != old.mode or new.interval != old.interval:
            self.last_schedule = None
        self.spec = new
        return True, notices

    # ------------------------------------------------------------------ views
    def _pairs(self) -> tuple[str, ...]:
        extra = tuple(p for p, q in self.holdings.items() if q > 0 and p not in self.spec.weights)
        return (*self.spec.pairs, *extra)

    def _hodl_pairs(self) -> tuple[str, ...]:
        return tuple(p for p, q in self.hodl.holdings.items() if q > 0)

    def ledger_pairs(self) -> tuple[str, ...]:
        """Every pair a ledger holds or targets (the portfolio's and the HODL shadow's): the host prices them all."""
        pairs = self._pairs()
        return (*pairs, *(p for p in self._hodl_pairs() if p not in pairs))

    def _spendable(self, snap: Snapshot) -> float:
        return self.cash if snap.spendable is None else min(self.cash, snap.spendable)

    def _bad_prices(self, snap: Snapshot, pairs: tuple[str, ...]) -> Reason | None:
        missing: list[str] = []
        stale: list[str] = []
        limit = 2 * self.spec.check_interval
        for pair in pairs:
            price = snap.prices.get(pair)
            if price is None or not price > 0 or math.isinf(price):
                missing.append(pair)
            elif pair in snap.stale or (
                snap.price_times is not None and snap.time - snap.price_times.get(pair, -math.inf) > limit
            ):
                stale.append(pair)
        if missing:
            return Reason(ev.MISSING_PRICE, f"no valid price for {', '.join(missing)}; not trading", {"pairs": missing})
        if stale:
            return Reason(ev.STALE_PRICE, f"stale price for {', '.join(stale)}; not trading", {"pairs": stale})
        return None

    def _reconcile(self, holdings: Mapping[str, float]) -> None:
        # in a fixed order (the ledger's, then the host's), never a set's: the orders follow this order
        for pair in [*self.holdings, *(p for p in holdings if p not in self.holdings)]:
            self.holdings[pair] = float(holdings.get(pair, 0.0))

    def value(self, prices: Mapping[str, float]) -> float:
        """The portfolio's value: its holdings and their dust (smartpf_core.dust) at ``prices``, plus its cash."""
        dust = {p: d for p, d in self.dust.items() if p in prices}
        return portfolio_value(with_dust(self.holdings, dust), prices, self.cash)

    def profit_rate(self, prices: Mapping[str, float]) -> float:
        """(V - net invested) / net invested."""
        return (self.value(prices) - self.invested) / self.invested if self.invested > 0 else 0.0

    def metrics(self) -> Metrics:
        return Metrics(self.orders_filled, self.fees_paid, self.turnover, self.rebalances)

    def details(self, prices: Mapping[str, float]) -> dict[str, Any]:
        """Portfolio details: value, profit, HODL comparison, actual vs target per coin."""
        spec = self.spec
        value = self.value(prices)
        priced = all(p in prices for p in self._hodl_pairs())
        hodl = self.hodl.value(prices) if priced else None  # never value a coin at 0 for want of its price
        coins = []
        for pair in self._pairs():
            amount = self.holdings.get(pair, 0.0)
            price = prices.get(pair, 0.0)
            dust = self.dust.get(pair, 0.0)
            coins.append({
                "pair": pair, "amount": amount, "dust": dust, "price": price, "value": (amount + dust) * price,
                "actual_pct": (amount + dust) * price / value * 100 if value > 0 else 0.0,
                "target_pct": spec.weights.get(pair, 0.0) * 100,
            })
        invested = self.invested
        return {
            "status": self.status, "value": value, "cash": self.cash, "invested": invested,
            "profit": value - invested, "profit_pct": (value - invested) / invested * 100 if invested else 0.0,
            "hodl_value": hodl,
            "hodl_profit_pct": None if hodl is None else (hodl - invested) / invested * 100 if invested else 0.0,
            "threshold": spec.describe_threshold(), "mode": spec.mode, "coins": coins,
            "rebalances": self.rebalances, "termination": self.termination,
        }

    def _started_notice(self, op_id: str, trigger: str, why: str, orders: tuple[Order, ...]) -> Notice:
        what = ", ".join(f"{o.side} {o.amount:g} {o.pair}" for o in orders)
        return Notice("rebalance_started", f"rebalance {op_id} ({trigger}): {why}; {what}",
                      {"op": op_id, "trigger": trigger})

    def _finished_notice(self, record: OperationRecord) -> Notice:
        cur = self.spec.stake_currency
        trades = "; ".join(f"{t.side} {t.amount:g} {t.pair} at {t.price:g}" for t in record.trades) or "no trades"
        skipped = [s.describe(cur) for s in record.skipped]
        text = f"{record.kind} {record.id} done: {trades}"
        if skipped:
            text += "; not traded: " + "; ".join(skipped)
        return Notice(f"{record.kind}_finished", text, {"op": record.id, "trigger": record.trigger})

    @classmethod
    def adopt(cls, spec: PortfolioSpec, holdings: Mapping[str, float], cash: float, now: float,
              rules: Mapping[str, MarketRules] | None = None, portfolio_id: str = "", seq: int = 0,
              source: str = "open trades") -> Engine:
        """A running portfolio made of positions that already exist (``smartpf adopt``): these amounts, this
        idle cash, the principal and targets of ``spec``. The HODL shadow starts from the same basket, and
        the next check decides, like any other, whether a rebalance is due."""
        engine = cls(spec, rules, portfolio_id=portfolio_id)
        engine.status = "running"
        engine.started_at = now
        engine.holdings = {p: float(q) for p, q in holdings.items() if q > 0}
        engine.cash = max(0.0, float(cash))
        engine.invested = spec.investment
        engine.hodl = Hodl(dict(engine.holdings), engine.cash)
        engine.seq = seq + 1
        held = ", ".join(f"{q:g} {p}" for p, q in sorted(engine.holdings.items())) or "nothing"
        engine.records.append(OperationRecord(f"adopt{engine.seq}", "adopt", "adopt", f"adopted from {source}: "
                                              f"{held}, cash {engine.cash:.2f} {spec.stake_currency}", now,
                                              finished_at=now, status="done"))
        return engine

    # ------------------------------------------------------------------ persistence
    def to_dict(self, records: bool = True) -> dict[str, Any]:
        """The whole state as plain JSON-able values (versioned)."""
        return {
            "version": STATE_VERSION,
            "portfolio_id": self.portfolio_id,
            "spec": self.spec.to_dict(),
            "rules": {p: vars(r).copy() for p, r in self.rules.items()},
            "reserves": self.reserves.to_dict(),
            "status": self.status,
            "started_at": self.started_at,
            "holdings": dict(self.holdings),
            "dust": dict(self.dust),
            "cash": self.cash,
            "invested": self.invested,
            "pending_withdrawal": self.pending_withdrawal,
            "withdrawn": self.withdrawn,
            "withdrawal_asked": self.withdrawal_asked,
            "withdrawal_kept": self.withdrawal_kept,
            "guard": self.guard.to_dict(),
            "op": None if self.op is None else self.op.to_dict(),
            "seq": self.seq,
            "last_check": self.last_check,
            "last_schedule": self.last_schedule,
            "targets_dirty": self.targets_dirty,
            "hodl": self.hodl.to_dict(),
            "records": [r.to_dict() for r in self.records] if records else [],
            "termination": self.termination,
            "counters": {"orders": self.orders_filled, "fees": self.fees_paid, "turnover": self.turnover,
                         "rebalances": self.rebalances},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Engine:
        data = migrate_state(data)
        spec = PortfolioSpec.from_dict(data["spec"])
        rules = {p: MarketRules(**r) for p, r in data.get("rules", {}).items()}
        engine = cls(spec, rules, Reserves(**data.get("reserves", {})), str(data.get("portfolio_id") or ""))
        engine.status = data["status"]
        engine.started_at = data["started_at"]
        engine.holdings = {p: float(q) for p, q in data["holdings"].items()}
        engine.dust = {p: float(q) for p, q in (data.get("dust") or {}).items() if float(q) > 0}
        engine.cash = float(data["cash"])
        engine.invested = float(data["invested"])
        engine.pending_withdrawal = float(data.get("pending_withdrawal", 0.0))
        engine.withdrawn = float(data.get("withdrawn", 0.0))
        engine.withdrawal_asked = float(data.get("withdrawal_asked", 0.0))
        engine.withdrawal_kept = float(data.get("withdrawal_kept", 0.0))
        engine.guard = PriceGuard.from_dict(data.get("guard", {}))
        engine.op = None if data.get("op") is None else _Operation.from_dict(data["op"])
        engine.seq = int(data["seq"])
        engine.last_check = data.get("last_check")
        engine.last_schedule = data.get("last_schedule")
        engine.targets_dirty = bool(data.get("targets_dirty", False))
        engine.hodl = Hodl.from_dict(data.get("hodl", {}))
        engine.records = [OperationRecord.from_dict(r) for r in data.get("records", [])]
        engine.termination = data.get("termination")
        counters = data.get("counters", {})
        engine.orders_filled = int(counters.get("orders", 0))
        engine.fees_paid = float(counters.get("fees", 0.0))
        engine.turnover = float(counters.get("turnover", 0.0))
        engine.rebalances = int(counters.get("rebalances", 0))
        return engine


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 had no portfolio id; its order ids stay as they were."""
    return {**data, "portfolio_id": "", "version": 2}


_MIGRATIONS = {1: _v1_to_v2}  # version -> the function that lifts a state of that version by one


def migrate_state(data: Mapping[str, Any]) -> dict[str, Any]:
    """Bring a persisted state of any earlier version up to ``STATE_VERSION`` (plain dict to plain dict)."""
    if not isinstance(data, Mapping):
        raise ValueError(f"the state is {type(data).__name__}, not an object")
    out = dict(data)
    version = out.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"state version {version!r} is not a version smartpf wrote")
    if version > STATE_VERSION:
        raise ValueError(f"state version {version} was written by a newer smartpf (this one reads up to "
                         f"{STATE_VERSION}); upgrade smartpf")
    while out["version"] < STATE_VERSION:
        out = _MIGRATIONS[out["version"]](out)
    return out


def _short_reason(record: OperationRecord) -> str:
    """Why a withdrawal raised less than asked, from what its plan could not send."""
    at_minimum = [s.pair for s in record.skipped if s.why == "position_minimum"]
    too_small = [s.pair for s in record.skipped if s.why != "position_minimum"]
    if at_minimum:
        return f"the positions of {', '.join(at_minimum)} are at their minimum"
    if too_small:
        return f"the sells of {', '.join(too_small)} would be below the minimum order"
    return "the sells filled for less than planned (the price moved between the plan and the fill)"


def _skipped_dict(s: SkippedOrder) -> dict[str, Any]:
    return {"pair": s.pair, "side": s.side, "value": s.value, "minimum": s.minimum, "shortfall": s.shortfall,
            "why": s.why}


def _duration(seconds: float) -> str:
    seconds = max(0, int(math.ceil(seconds)))
    if seconds >= 86400:
        return f"{seconds // 86400}d {seconds % 86400 // 3600}h"
    if seconds >= 3600:
        return f"{seconds // 3600}h {seconds % 3600 // 60}m"
    if seconds >= 60:
        return f"{seconds // 60}m {seconds % 60}s"
    return f"{seconds}s"
