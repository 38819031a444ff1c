"""Investment changes: a raised investment is bought towards the targets, a lowered one is withdrawn
(idle cash first, then sells that raise the rest net of their fee); the HODL shadow follows both."""

from __future__ import annotations

from dataclasses import replace

from ..events import Decision, Notice, Snapshot
from ..market import EPS
from ..planner import plan_sells
from ..records import OperationRecord
from . import messages as say
from .run import Run
from .states import OpKind, Phase


def apply_investment_change(run: Run, snap: Snapshot) -> Decision | None:
    ledger, spec = run.ledger, run.spec
    delta = ledger.unapplied(spec.investment)
    now = snap.time
    currency = spec.stake_currency
    if delta > EPS:
        return _deposit(run, snap, delta, "investment", spec.inflow == "underweight")
    if delta < -EPS:
        bad = run.bad_prices(snap, ledger.hodl_pairs())
        if bad is not None:  # every coin any ledger holds must be priced (the HODL shadow withdraws too)
            return Decision(now, reason=bad)
        amount = -delta
        ledger.invested -= amount
        ledger.pending_withdrawal += amount
        ledger.take_withdrawal()
        notice = say.investment_withdrawn(amount, currency)
        if ledger.pending_withdrawal <= EPS:
            ledger.hodl.withdraw(amount, snap.prices, spec.fee)
            return Decision(now, notices=(notice,))
        ledger.withdrawal_asked = amount
        op = run.new_op(OpKind.WITHDRAW, Phase.SELL, "investment", say.investment_lowered(amount, currency), now)
        # the sells must produce the withdrawal net of their fee; rounded up to the step, not down
        gross = ledger.pending_withdrawal / (1 - spec.fee)
        plan = plan_sells(run.targets(), run.tradable(), snap.prices, ledger.cash, run.rules,
                          spec.min_trade, run.reserves, reserved=gross, round_up=True)
        orders = run.issue(op, plan, now)
        if not orders:
            done = finish_withdrawal(run, snap)
            return Decision(now, reason=done.reason, notices=(notice, *done.notices))
        return Decision(now, orders=orders, notices=(notice,))
    return None


def _deposit(run: Run, snap: Snapshot, amount: float, trigger: str, underweight: bool) -> Decision:
    """``amount`` joins the portfolio's cash and principal (the HODL shadow buys it too) and is bought."""
    ledger, spec, now = run.ledger, run.spec, snap.time
    currency = spec.stake_currency
    ledger.invested += amount
    ledger.cash += amount
    ledger.hodl.deposit(amount, spec.weights, snap.prices, spec.fee)
    if trigger == "recurring":
        ledger.deposited += amount
        why = say.recurring_deposit(amount, currency)
    else:
        why = say.investment_raised(amount, currency)
    op = run.new_op(OpKind.DEPOSIT, Phase.BUY, trigger, why, now)
    orders = run.issue(op, run.plan_buys(snap, underweight=underweight), now)
    notice = say.investment_added(amount, currency, op.id) if trigger == "investment" else \
        say.recurring_added(amount, currency, op.id)
    if not orders:
        record = run.finish_op(now)
        return Decision(now, notices=(notice, say.finished(record, currency)))
    return Decision(now, orders=orders, notices=(notice,))


def recurring_deposit(run: Run, snap: Snapshot) -> Decision | None:
    """A recurring deposit that is due (``flows.Recurring``): bought underweight-only, never sold for. One
    deposit however many periods passed (a bot that was down does not catch up); live, skipped with a notice
    when the free stake balance cannot cover the bot's idle cash plus the deposit."""
    recurring, started = run.spec.recurring, run.started_at
    if recurring is None or started is None:
        return None
    due = recurring.due_count(started, snap.time)
    if due <= run.deposits:
        return None
    missed = due - run.deposits - 1
    run.deposits = due
    needed = run.ledger.cash + recurring.amount
    if snap.spendable is not None and snap.spendable + EPS < needed:
        notice = say.recurring_skipped(recurring.amount, snap.spendable, needed, run.spec.stake_currency)
        return Decision(snap.time, reason=say.recurring_skipped_reason(notice), notices=(notice,))
    decision = _deposit(run, snap, recurring.amount, "recurring", True)
    if missed:
        decision = replace(decision, notices=(*decision.notices, say.recurring_missed(missed)))
    return decision


def finish_withdrawal(run: Run, snap: Snapshot) -> Decision:
    """Every sell of the withdrawal closed: take the cash, and settle what could not be raised."""
    now = snap.time
    bad = run.bad_prices(snap, run.ledger.hodl_pairs())
    if bad is not None:  # the HODL shadow follows the withdrawal at these prices
        return Decision(now, reason=bad)
    run.ledger.take_withdrawal()
    record = run.finish_op(now)
    notices = [say.finished(record, run.spec.stake_currency), *_settle_withdrawal(run, record, snap)]
    return Decision(now, notices=tuple(notices))


def _settle_withdrawal(run: Run, record: OperationRecord, snap: Snapshot) -> list[Notice]:
    """The principal and the HODL shadow change by what was really withdrawn; say why if less."""
    ledger = run.ledger
    short = ledger.pending_withdrawal if ledger.pending_withdrawal > EPS else 0.0
    taken = ledger.withdrawal_asked - short
    if taken > 0:  # (a state saved before this rule had no ask on record: its HODL withdrew at the start)
        ledger.hodl.withdraw(taken, snap.prices, run.spec.fee)
    ledger.withdrawal_asked = 0.0
    ledger.pending_withdrawal = 0.0
    if not short:
        return []
    ledger.invested += short
    ledger.withdrawal_kept += short
    return [say.withdrawal_short(short, record, ledger.invested, run.spec.stake_currency)]
