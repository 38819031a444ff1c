"""The exit rules: terminate on request, take-profit and stop-loss; selling everything or keeping the coins."""

from __future__ import annotations

from collections.abc import Mapping

from ..dust import sweepable
from ..events import Decision, Snapshot
from ..market import min_order_value
from ..planner import NO_RULES, Plan, PlannedOrder, plan_sells
from . import messages as say
from .run import Run
from .states import OpKind, Phase, PortfolioEvent


def check_exit(run: Run, snap: Snapshot) -> Decision | None:
    spec = run.spec
    if spec.terminate is not None:
        return begin_exit(run, snap, "terminate", spec.terminate, say.TERMINATED_BY_USER)
    if spec.take_profit is None and spec.stop_loss is None:
        return None
    rate = run.ledger.profit_rate(snap.prices) * 100.0
    if spec.take_profit is not None and rate >= spec.take_profit - 1e-9:
        return begin_exit(run, snap, "take_profit", spec.on_exit, say.exit_why("take_profit", rate, spec.take_profit))
    if spec.stop_loss is not None and rate <= -spec.stop_loss + 1e-9:
        return begin_exit(run, snap, "stop_loss", spec.on_exit, say.exit_why("stop_loss", rate, spec.stop_loss))
    return None


def begin_exit(run: Run, snap: Snapshot, trigger: str, how: str, why: str) -> Decision:
    now = snap.time
    run.termination = {"trigger": trigger, "how": how, "why": why, "requested_at": now}
    if how == "keep":
        return terminate(run, now, trigger, "keep")
    ledger = run.ledger
    op = run.new_op(OpKind.EXIT, Phase.SELL, trigger, why, now)
    plan = plan_sells({}, run.tradable(), snap.prices, ledger.cash, run.rules, 0.0, run.reserves, sell_all=True)
    orders = run.issue(op, with_dust_swept(run, plan, snap.prices), now)
    if not orders:
        return terminate(run, now, trigger, "sell")
    return Decision(now, orders=orders, notices=(say.terminating(why, run.spec.stake_currency, op.id),))


def with_dust_swept(run: Run, plan: Plan, prices: Mapping[str, float]) -> Plan:
    """Selling every coin: a position too small to sell on its own is sold with its dust when the two together
    reach the exchange's minimums (``dust.sweepable``); ``Run.issue`` then folds the dust into every sell."""
    ledger = run.ledger
    orders, skipped = list(plan.orders), []
    for miss in plan.skipped:
        held, dust = ledger.holdings.get(miss.pair, 0.0), ledger.dust.get(miss.pair, 0.0)
        price = prices.get(miss.pair)
        rule = run.rules.get(miss.pair, NO_RULES)
        if miss.side == "sell" and held > 0 and dust > 0 and price and sweepable(
                held + dust, rule.amount_step, rule.min_amount, min_order_value(rule, price, 0.0, run.reserves), price):
            orders.append(PlannedOrder(miss.pair, "sell", held, price, full=True))
        else:
            skipped.append(miss)
    return Plan(tuple(orders), tuple(skipped))


def terminate(run: Run, now: float, trigger: str, how: str) -> Decision:
    if run.op is not None:
        run.finish_op(now)
    run.move(PortfolioEvent.TERMINATED)
    info = run.termination or {"trigger": trigger, "why": trigger}
    info.update({"how": how, "at": now})
    run.termination = info
    return Decision(now, reason=say.terminated(run.termination),
                    notices=(say.terminated_notice(info, how, run.spec.stake_currency),))
