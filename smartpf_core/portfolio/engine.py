"""The bot's engine: start, monitor, rebalance (sell phase, then buy phase), change, terminate.

Sans-I/O, like h11: the host feeds ``step(snapshot)`` once per tick and reports what happened to the
orders (``order_placed``, ``on_fill``, ``order_closed``); the engine returns ``Decision`` values.
It never reads a clock, a file or the network. Its whole state round-trips through ``to_dict`` /
``from_dict`` so that a host can persist it and resume after a restart.

An operation (the initial purchase, a rebalance, a deposit, a withdrawal, the exit) has an id that
is part of every order id; an operation is never started twice and its orders are re-emitted, with
the same ids, until the host says they were placed, so a host that restarts can tell what it
already sent.

A host reads the engine through read-only attributes (``status``, ``ledger``, ``operation``, ``pairs``,
``last_reason``, ...) and ``view(prices)``; only the engine's own methods change it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from operator import attrgetter
from typing import Any, Generic, NoReturn, TypeVar, overload

from ..events import Decision, Fill, Notice, Order, Reason, Snapshot
from ..guard import PriceGuard
from ..market import EPS, MarketRules, Reserves
from ..records import Hodl, OperationRecord
from ..spec import PortfolioSpec
from ..triggers import proportional_index, scheduled_index
from ..volatility import DAY
from . import messages as say
from . import state
from .ledger import Ledger, Metrics
from .operation import Operation, TrackedOrder
from .outside import Corrections, check_account
from .progress import advance
from .run import Run
from .states import OpKind, OrderEvent, OrderStatus, PortfolioEvent, PortfolioStatus
from .view import PortfolioView, portfolio_view

T = TypeVar("T")


class _Read(Generic[T]):
    """A read-only attribute of the engine: ``field`` of its run state, or of its ledger (``ledger=True``)."""

    def __init__(self, ledger: bool = False, field: str = "") -> None:
        self._in_ledger = ledger
        self._name = field
        self._field = field
        self._get: Callable[[Engine], T] = attrgetter("_run")

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name
        self._field = self._field or name
        self._get = attrgetter(f"_run.ledger.{self._field}" if self._in_ledger else f"_run.{self._field}")

    @overload
    def __get__(self, engine: None, owner: type) -> _Read[T]: ...
    @overload
    def __get__(self, engine: Engine, owner: type) -> T: ...
    def __get__(self, engine: Engine | None, owner: type) -> T | _Read[T]:
        if engine is None:
            return self
        return self._get(engine)

    def __set__(self, engine: Engine, value: object) -> NoReturn:
        raise AttributeError(f"Engine.{self._name} is read-only: the engine changes it, a host never does")


@dataclass(frozen=True)
class AtRest:
    """What the fast simulator needs of an engine at rest, in one frozen value."""

    spec: PortfolioSpec
    holdings: Mapping[str, float]
    cash: float
    invested: float
    started_at: float
    last_check: int
    last_schedule: int | None
    wake_at: float | None = None  # a time-driven rule (a deposit, a day's price sample) acts at or after it
    targets: Mapping[str, float] | None = None  # the weights the drift is checked against (None: ``spec.weights``)
    plan_targets: Mapping[str, float] | None = None  # those a rebalance starting now would trade towards


class Engine:
    """One Smart Portfolio. Create it with a validated spec and the exchange rules per pair."""

    # what a host may read; the engine alone writes
    spec = _Read[PortfolioSpec]()
    status = _Read[PortfolioStatus]()
    portfolio_id = _Read[str]()
    records = _Read[list[OperationRecord]]()
    termination = _Read[dict[str, Any] | None]()
    last_reason = _Read[Reason | None]()
    stale = _Read[dict[str, float]]()  # the basket's pairs without a price for over a check interval -> since
    diverged = _Read[dict[str, Any] | None]()  # live: what the account was found short of (outside.py)
    started_at = _Read[float | None]()
    seq = _Read[int]()
    rules = _Read[dict[str, MarketRules]]()
    reserves = _Read[Reserves]()
    guard = _Read[PriceGuard]()
    operation = _Read[Operation | None](field="op")
    op = _Read[Operation | None]()  # its old name
    last_check = _Read[int | None]()
    last_schedule = _Read[int | None]()
    targets_dirty = _Read[bool]()
    ledger = _Read[Ledger]()
    # the ledger's figures under the names they had on the engine
    holdings = _Read[dict[str, float]](ledger=True)
    dust = _Read[dict[str, float]](ledger=True)  # per pair: coins fees in the coin left outside the host's trades
    cash = _Read[float](ledger=True)
    invested = _Read[float](ledger=True)
    pending_withdrawal = _Read[float](ledger=True)
    withdrawn = _Read[float](ledger=True)
    withdrawal_asked = _Read[float](ledger=True)
    withdrawal_kept = _Read[float](ledger=True)
    hodl = _Read[Hodl](ledger=True)
    orders_filled = _Read[int](ledger=True)
    fees_paid = _Read[float](ledger=True)
    turnover = _Read[float](ledger=True)
    rebalances = _Read[int](ledger=True)

    def __init__(
        self,
        spec: PortfolioSpec,
        rules: Mapping[str, MarketRules] | None = None,
        reserves: Reserves | None = None,
        portfolio_id: str = "",
        *,
        run: Run | None = None,
    ) -> None:
        self._run = run or Run(spec, Ledger(cash=spec.investment, invested=spec.investment,
                                            hodl=Hodl(cash=spec.investment)),
                               portfolio_id, dict(rules or {}), reserves or Reserves())

    @property
    def pairs(self) -> tuple[str, ...]:
        """The target pairs, then any other pair still held: the pairs this portfolio trades and prices."""
        return self._run.pairs()

    def ledger_pairs(self) -> tuple[str, ...]:
        """Every pair a ledger holds or targets (the portfolio's and the HODL shadow's): the host prices them all."""
        pairs = self._run.pairs()
        return (*pairs, *(p for p in self._run.ledger.hodl_pairs() if p not in pairs))

    def view(self, prices: Mapping[str, float]) -> PortfolioView:
        """The portfolio at ``prices``: value, profit, HODL, per coin actual / target / band, cash."""
        return portfolio_view(self._run, prices)

    # ------------------------------------------------------------------ the tick
    def step(self, snap: Snapshot) -> Decision:
        """Advance to ``snap.time``: continue the operation under way, or decide whether to start one."""
        run = self._run
        if snap.holdings is not None:
            run.ledger.reconcile(snap.holdings)
        if snap.dust is not None:
            run.ledger.set_dust(snap.dust)
        watched = run.watch_prices(snap) if run.status != PortfolioStatus.TERMINATED else ()
        decision = check_account(run, snap) or advance(run, snap)
        run.last_reason = decision.reason
        if watched:
            decision = replace(decision, notices=(*watched, *decision.notices))
        return decision

    # ------------------------------------------------------------------ host reports
    def order_placed(self, order_id: str) -> bool:
        """The host sent the order: stop re-emitting it. False if the engine does not know the id."""
        tracked = self._tracked(order_id)
        if tracked is None:
            return False
        if tracked.can(OrderEvent.PLACED):
            tracked.move(OrderEvent.PLACED)
        return True

    def on_fill(self, fill: Fill) -> bool:
        """Book a closed (filled) order into holdings, cash, records and the HODL shadow."""
        return self._close(fill.order_id, OrderEvent.FILLED, fill)

    def order_closed(self, order_id: str, filled: Fill | None = None) -> bool:
        """The order ended without a (full) fill: cancelled, expired or rejected. Book any partial fill."""
        return self._close(order_id, OrderEvent.CLOSED, filled)

    def _close(self, order_id: str, event: OrderEvent, fill: Fill | None) -> bool:
        tracked = self._tracked(order_id)
        if tracked is None or not tracked.can(event):
            return False
        tracked.move(event)
        if fill is not None and fill.amount > 0:
            run = self._run
            assert run.op is not None
            trade = run.ledger.book(tracked.order, fill, initial=run.op.kind == OpKind.INITIAL)
            run.record_of(run.op, fill.time).trades.append(trade)  # (its record back if a state lost it)
        return True

    def _tracked(self, order_id: str) -> TrackedOrder | None:
        op = self._run.op
        return None if op is None else op.orders.get(order_id)

    def pending_orders(self) -> list[Order]:
        """Orders of the operation under way that are not closed yet (planned or open)."""
        op = self._run.op
        return [] if op is None else [o.order for o in op.outstanding()]

    def operation_started_at(self) -> float | None:
        """When the operation under way started (None when none is): a host matches only orders placed since.
        Without its record, the portfolio's start: never later than the operation's real start."""
        run = self._run
        if run.op is None:
            return None
        record = run.find_record(run.op.id)
        return record.started_at if record is not None else run.started_at or 0.0

    @property
    def corrections(self) -> Corrections:
        """What a host books once the exchange or the account told it better (reconcile, a restored backup)."""
        return Corrections(self._run)

    def order_status(self, order_id: str) -> OrderStatus | None:
        tracked = self._tracked(order_id)
        return None if tracked is None else tracked.status

    # ------------------------------------------------------------------ runtime changes
    def update_spec(self, new: PortfolioSpec, rules: Mapping[str, MarketRules] | None = None
                    ) -> tuple[bool, list[Notice]]:
        """Apply edited settings (and the exchange's current rules). Investment changes and new targets take
        effect at the next step."""
        run = self._run
        old = run.spec
        run.rules.update(rules or {})
        if new.stake_currency != old.stake_currency:
            return False, [say.stake_change_rejected(old.stake_currency, new.stake_currency)]
        if dict(new.weights) != dict(old.weights):
            run.targets_dirty = True
        if new.mode != old.mode or new.interval != old.interval:
            run.last_schedule = None
        run.spec = new
        return True, say.settings_changed(old, new)

    def identify(self, portfolio_id: str, seq: int = 0, records: Iterable[OperationRecord] | None = None) -> None:
        """The host's trade database names this portfolio: its id, the highest operation number it has seen
        (an operation number is never handed out twice) and, when it keeps them, the full records."""
        run = self._run
        run.portfolio_id = portfolio_id
        run.seq = max(run.seq, seq)
        if records is not None:
            run.records = list(records)

    @classmethod
    def adopt(cls, spec: PortfolioSpec, holdings: Mapping[str, float], cash: float, now: float,
              rules: Mapping[str, MarketRules] | None = None, portfolio_id: str = "", seq: int = 0,
              source: str = "open trades") -> Engine:
        """A running portfolio made of positions that already exist (``smartpf adopt``): these amounts, this
        idle cash, the principal and targets of ``spec``. The HODL shadow starts from the same basket, and
        the next check decides, like any other, whether a rebalance is due."""
        held = {p: float(q) for p, q in holdings.items() if q > 0}
        idle = max(0.0, float(cash))
        run = Run(spec, Ledger(cash=idle, invested=spec.investment, holdings=held, hodl=Hodl(dict(held), idle)),
                  portfolio_id, dict(rules or {}), started_at=now, seq=seq + 1)
        run.move(PortfolioEvent.ADOPTED)
        text = say.adopted(source, held, idle, spec.stake_currency)
        run.records.append(OperationRecord(f"adopt{run.seq}", OpKind.ADOPT, "adopt", text, now,
                                           finished_at=now, status="done"))
        return cls(spec, run=run)

    # ------------------------------------------------------------------ skipping quiet ticks
    def at_rest(self, prices: Mapping[str, float]) -> AtRest | None:
        """The engine's state when only the prices can start anything (else None): running, no operation,
        no pending change or unconfirmed jump, and the guard's accepted prices are ``prices`` (the tick just
        stepped).

        From such a state a host may skip ticks it has proven quiet (see ``skip_quiet``): every rule that
        could act on them (take-profit, stop-loss, the guard's jump, a due check) is a function of the
        prices and of holdings that cannot change until the engine acts.
        """
        run = self._run
        spec, ledger = run.spec, run.ledger
        if run.status != PortfolioStatus.RUNNING or run.op is not None or run.targets_dirty:
            return None
        if spec.terminate is not None or run.guard.pending or run.started_at is None or run.frozen_out():
            return None
        if abs(ledger.unapplied(spec.investment)) > EPS or ledger.pending_withdrawal > EPS:
            return None
        if run.last_check is None or (spec.mode == "scheduled" and run.last_schedule is None):
            return None
        accepted = run.guard.accepted
        for pair in run.pairs():
            if accepted.get(pair) != prices.get(pair):
                return None
        wakes = [] if spec.recurring is None else [spec.recurring.next_time(run.started_at, run.deposits)]
        if spec.weighting == "inverse_volatility" and run.sample_day is not None:
            wakes.append((run.sample_day + 1) * DAY)
        return AtRest(spec, dict(ledger.holdings), ledger.cash, ledger.invested, run.started_at, run.last_check,
                      run.last_schedule, min(wakes, default=None), dict(run.targets()), run.fresh_weights())

    def skip_quiet(self, now: float, prices: Mapping[str, float]) -> None:
        """Book-keep ticks a host skipped, ending with the tick at ``now`` with ``prices``, as stepping them
        would have: the guard accepts these prices and the check index advances to ``now``.

        Only valid from ``at_rest`` and when the host has proven that on every skipped tick every price was
        valid and within the guard of the previous one, no exit rule fired, and no due check found a drift
        beyond the threshold, or a scheduled instant, where some order could clear its minimum (the fast
        simulator, ``smartpf.backtest.fastsim``, proves it with margins and steps the engine on every tick it cannot
        rule out). A check or a scheduled instant where no order could be sent changes nothing but its index.
        The skipped ticks' reasons are not produced (``last_reason`` keeps the last stepped one).
        """
        run = self._run
        if run.status != PortfolioStatus.RUNNING or run.op is not None:
            raise ValueError("skip_quiet: only a running portfolio with no operation under way has quiet ticks")
        for pair in run.pairs():
            run.guard.accept(pair, prices[pair])
            if pair in run.spec.weights:
                run.price_seen[pair] = now
        idx = proportional_index(now, run.spec.check_interval)
        if run.last_check is None or idx > run.last_check:
            run.last_check = idx
        if run.spec.mode == "scheduled" and run.started_at is not None and run.last_schedule is not None:
            sidx = scheduled_index(now, run.started_at, run.spec.interval)
            if sidx > run.last_schedule:  # a scheduled instant passed over: the host proved it could not trade
                run.last_schedule = sidx

    # ------------------------------------------------------------------ figures
    def value(self, prices: Mapping[str, float]) -> float:
        return self._run.ledger.value(prices)

    def profit_rate(self, prices: Mapping[str, float]) -> float:
        """(V - net invested) / net invested."""
        return self._run.ledger.profit_rate(prices)

    def metrics(self) -> Metrics:
        return self._run.ledger.metrics()

    def details(self, prices: Mapping[str, float]) -> dict[str, Any]:
        """Portfolio details: value, profit, HODL comparison, actual vs target per coin (the view, as JSON)."""
        return self.view(prices).details()

    # ------------------------------------------------------------------ persistence
    def to_dict(self, records: bool = True) -> dict[str, Any]:
        """The whole state as plain JSON-able values (versioned)."""
        return state.save(self._run, records)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Engine:
        run = state.load(data)
        return cls(run.spec, run=run)
