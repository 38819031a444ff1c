"""When a check is due, and whether it rebalances: the threshold, the schedule, changed targets."""

from __future__ import annotations

from collections.abc import Mapping

from .. import events as ev
from ..allocation import actual_weights, largest_drift, portfolio_value
from ..events import Decision, Reason, Snapshot
from ..gate import hold_back
from ..planner import plan_sells
from ..triggers import next_proportional_time, next_scheduled_time, proportional_index, scheduled_index
from . import messages as say
from .run import Run
from .states import OpKind, Phase

_REPEATED = (ev.BELOW_THRESHOLD, ev.ORDERS_TOO_SMALL, ev.BALANCED)  # said again, with the wait, between checks


def check_rebalance(run: Run, snap: Snapshot, prices: Mapping[str, float]) -> Decision:
    now = snap.time
    spec, ledger = run.spec, run.ledger
    is_due, trigger, idle = due(run, now)
    if not is_due:
        return Decision(now, reason=idle)
    in_force, holdings = run.targets(), run.tradable()  # (spec.weights and the holdings, but frozen coins)
    pairs = run.pairs()
    if holdings is not ledger.holdings:
        pairs = tuple(p for p in pairs if p in in_force or p in holdings)
    weights = actual_weights(holdings, prices, ledger.cash, pairs)
    drift = largest_drift(weights, in_force, spec.threshold_type) if not spec.gate.bands else \
        say.furthest_out_of_band(weights, spec, in_force)
    if trigger == "threshold" and (drift is None or not spec.threshold_for(drift.pair).exceeded(drift.deviation)):
        return Decision(now, reason=say.below_threshold(drift, spec), checked=True)
    if trigger == "threshold" and drift is not None:  # (drift is None returned above; for mypy)
        why = say.beyond_threshold(drift, spec)
    elif trigger == "schedule":
        why = say.scheduled_rebalance(spec.interval)
    else:
        why = say.TARGETS_CHANGED
    computed = run.computed
    recomputed = run.recompute_weights()  # (inverse volatility: the weights this rebalance trades towards)
    if recomputed:
        why += recomputed
        in_force = run.targets()
    targets = None
    if spec.gate.gates:  # the options of smartpf_core.gate: a rebalance worth it, partial, within the caps
        targets, held_back = hold_back(
            spec.gate, weights=in_force, actual=weights,
            value=portfolio_value(holdings, prices, ledger.cash), fee=spec.fee, records=run.records,
            trigger=trigger, now=now, currency=spec.stake_currency,
            bands={p: spec.threshold_for(p).band(w) for p, w in in_force.items()})
        if held_back is not None:
            run.computed = computed  # (held back: the weights in force stay)
            return Decision(now, reason=held_back, checked=True)
    run.targets_dirty = False
    sells = plan_sells(targets or in_force, holdings, prices, ledger.cash, run.rules, spec.min_trade, run.reserves)
    if sells.orders:
        op = run.new_op(OpKind.REBALANCE, Phase.SELL, trigger, why, now, targets)
        orders = run.issue(op, sells, now)
        return Decision(now, orders=orders, notices=(say.rebalance_started(op.id, trigger, why, orders),),
                        checked=True)
    buys = run.plan_buys(snap, targets=targets)
    if buys.orders:
        op = run.new_op(OpKind.REBALANCE, Phase.BUY, trigger, why, now, targets)
        run.record_of(op, now).skipped.extend(sells.skipped)
        orders = run.issue(op, buys, now)
        return Decision(now, orders=orders, notices=(say.rebalance_started(op.id, trigger, why, orders),),
                        checked=True)
    run.computed = computed  # (nothing sent: the weights in force stay; a rebalance that trades recomputes them)
    skipped = (*sells.skipped, *buys.skipped)
    if skipped:
        reason = say.too_small(why, trigger, skipped, spec.stake_currency)
    else:
        reason = say.balanced(why, trigger)
    return Decision(now, reason=reason, checked=True)


def due(run: Run, now: float) -> tuple[bool, str, Reason | None]:
    """Is a check due now, and of which kind; otherwise the reason why not."""
    spec = run.spec
    idx = proportional_index(now, spec.check_interval)
    check_boundary = run.last_check is None or idx > run.last_check
    if check_boundary:
        run.last_check = idx
    if run.targets_dirty and check_boundary:
        return True, "targets_changed", None
    if spec.mode == "scheduled":
        start = run.started_at if run.started_at is not None else now
        sidx = scheduled_index(now, start, spec.interval)
        if run.last_schedule is None:
            run.last_schedule = sidx
        if sidx > run.last_schedule:
            run.last_schedule = sidx
            return True, "schedule", None
        wait = next_scheduled_time(now, start, spec.interval) - now
        return False, "schedule", say.not_scheduled(wait, now)
    if check_boundary:
        return True, "threshold", None
    wait = next_proportional_time(now, spec.check_interval) - now
    last = run.last_reason
    if last is not None and last.code in _REPEATED:
        details = {**last.details, "seconds_to_next_check": wait}
        return False, "threshold", Reason(last.code, last.message, details)
    return False, "threshold", say.waiting_for_check(wait)
