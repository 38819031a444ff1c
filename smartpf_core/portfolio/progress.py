"""One tick of a portfolio: carry the operation under way one step further, or decide whether to start one.

When an operation completes, the rules are evaluated on that same tick: no tick passes unchecked.
"""

from __future__ import annotations

from dataclasses import replace

from ..events import Decision, Snapshot
from ..planner import plan_initial
from . import messages as say
from .exits import check_exit, terminate
from .funding import apply_investment_change, finish_withdrawal, recurring_deposit
from .rebalance import check_rebalance
from .run import Run
from .states import OpKind, OrderStatus, Phase, PhaseEvent, PortfolioEvent, PortfolioStatus


def advance(run: Run, snap: Snapshot) -> Decision:
    now = snap.time
    if run.status == PortfolioStatus.TERMINATED:
        return Decision(now, reason=say.terminated(run.termination))
    pairs = run.pairs()
    run.wait_for_dropped(snap)
    frozen = run.frozen_out()
    if frozen:  # a frozen coin is valued at its last accepted price and neither checked nor traded
        snap = replace(snap, prices={**{p: run.guard.accepted[p] for p in frozen if p in run.guard.accepted},
                                     **{p: v for p, v in snap.prices.items() if p not in frozen}})
        pairs = tuple(p for p in pairs if p not in frozen)
    bad = run.bad_prices(snap, pairs)
    if bad is not None:
        return Decision(now, reason=bad)
    jumps = run.guard.check(snap.prices, pairs, now, run.spec.price_guard, run.spec.check_interval)
    if jumps:
        return Decision(now, reason=say.unconfirmed(jumps, run.spec.price_guard))
    run.sample_prices(snap)
    if run.op is not None:
        done = continue_op(run, snap)
        if run.op is not None or done.orders or run.status != PortfolioStatus.RUNNING:
            return done
        # the operation completed: the rules are evaluated on this same tick, no tick passes unchecked
        after = decide(run, snap)
        return Decision(now, after.orders, after.reason, (*done.notices, *after.notices), checked=after.checked)
    if run.status == PortfolioStatus.NEW:
        return start_initial(run, snap)
    return decide(run, snap)


def decide(run: Run, snap: Snapshot) -> Decision:
    """No operation under way: start one (exit, investment change, rebalance) or say why not."""
    foreign = sorted(p for p in snap.open_orders if p in run.pairs())
    if foreign:
        return Decision(snap.time, reason=say.foreign_order_open(foreign))
    exit_decision = check_exit(run, snap)
    if exit_decision is not None:
        return exit_decision
    change = apply_investment_change(run, snap)
    if change is not None:
        return change
    deposit = recurring_deposit(run, snap)
    if deposit is not None and (deposit.orders or run.op is not None):
        return deposit
    after = check_rebalance(run, snap, snap.prices)
    if deposit is None:
        return after
    # a recurring deposit that placed no order (too small, or skipped) leaves this tick to the other rules
    return Decision(snap.time, after.orders, after.reason, (*deposit.notices, *after.notices), checked=after.checked)


def start_initial(run: Run, snap: Snapshot) -> Decision:
    now = snap.time
    spec = run.spec
    run.started_at = now
    op = run.new_op(OpKind.INITIAL, Phase.BUY, "start", say.INITIAL_PURCHASE, now)
    plan = plan_initial(run.targets(), spec.investment, snap.prices, run.rules, spec.min_trade, run.reserves,
                        spec.fee, run.spendable(snap))
    orders = run.issue(op, plan, now)
    return Decision(now, orders=orders, notices=(say.started(spec.investment, spec.stake_currency, op.id,
                                                             plan.skipped),))


def continue_op(run: Run, snap: Snapshot) -> Decision:
    """Carry the operation under way one step further (new work waits for the next tick)."""
    op = run.op
    assert op is not None
    now = snap.time
    currency = run.spec.stake_currency
    outstanding = op.outstanding()
    if outstanding:
        planned = tuple(o.order for o in outstanding if o.status == OrderStatus.PLANNED)
        pairs = sorted({o.order.pair for o in outstanding})
        return Decision(now, orders=planned, reason=say.waiting_for_orders(op.kind, op.id, op.phase, pairs,
                                                                           bool(planned)))
    if op.kind == OpKind.INITIAL:
        run.move(PortfolioEvent.BOUGHT)
        record = run.finish_op(now)
        return Decision(now, notices=(say.finished(record, currency),))
    if op.kind == OpKind.EXIT:
        return terminate(run, now, run.termination["trigger"] if run.termination else "terminate", "sell")
    if op.kind == OpKind.WITHDRAW:
        return finish_withdrawal(run, snap)
    if op.can(PhaseEvent.SOLD):
        op.move(PhaseEvent.SOLD)
        # never buy back a coin this operation sold: only the other coins' shortfalls get the cash
        orders = run.issue(op, run.plan_buys(snap, exclude=op.sold_pairs()), now)
        if orders:
            return Decision(now, orders=orders, reason=say.buy_phase(op.kind, op.id))
    record = run.finish_op(now)
    return Decision(now, notices=(say.finished(record, currency),))
