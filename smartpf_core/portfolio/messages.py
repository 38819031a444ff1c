"""Every sentence a portfolio says: the reasons it gives for not trading and the notices it sends.

The rules decide; these functions only put the decision in words (and in the structured details hosts
and tests match on), so a sentence changes in one place.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from .. import events as ev
from ..allocation import Drift
from ..events import Notice, Order, Reason
from ..guard import Jump
from ..intervals import format_interval
from ..planner import SkippedOrder
from ..records import OperationRecord
from ..spec import PortfolioSpec

# ------------------------------------------------------------------ reasons


def missing_price(pairs: list[str], stale: Mapping[str, float] | None = None) -> Reason:
    since = {p: stale[p] for p in pairs if stale and p in stale}
    if not since:
        return Reason(ev.MISSING_PRICE, f"no valid price for {', '.join(pairs)}; not trading", {"pairs": pairs})
    when = ", ".join(f"{p} since {iso_utc(t)}" for p, t in since.items())
    return Reason(ev.MISSING_PRICE, f"no valid price for {', '.join(pairs)} (none for {when}); not trading",
                  {"pairs": pairs, "since": since})


def stale_price(pairs: list[str], stale: Mapping[str, float] | None = None) -> Reason:
    since = {p: stale[p] for p in pairs if stale and p in stale}
    if not since:
        return Reason(ev.STALE_PRICE, f"stale price for {', '.join(pairs)}; not trading", {"pairs": pairs})
    when = ", ".join(f"{p} since {iso_utc(t)}" for p, t in since.items())
    return Reason(ev.STALE_PRICE, f"stale price for {', '.join(pairs)} (no new price for {when}); not trading",
                  {"pairs": pairs, "since": since})


def unconfirmed(jumps: list[Jump], limit: float | None) -> Reason:
    moves = ", ".join(f"{j.pair} {j.change_pct:+.1f} % ({j.accepted:g} -> {j.price:g})" for j in jumps)
    return Reason(ev.PRICE_UNCONFIRMED,
                  f"price moved more than the price guard of {limit:g} % since the last check: {moves}; "
                  "nothing acts on it until the next check confirms it",
                  {"pairs": [j.pair for j in jumps], "price_guard": limit,
                   "moves": [{"pair": j.pair, "accepted": j.accepted, "price": j.price, "since": j.since}
                             for j in jumps]})


def foreign_order_open(pairs: list[str]) -> Reason:
    return Reason(ev.ORDER_OPEN, f"an order is still open for {', '.join(pairs)}", {"pairs": pairs})


def waiting_for_orders(kind: str, op_id: str, phase: str, pairs: list[str], planned: bool) -> Reason:
    return Reason(ev.IN_PROGRESS if planned else ev.ORDER_OPEN,
                  f"{kind} {op_id} ({phase} phase) waiting for orders on {', '.join(pairs)}",
                  {"op": op_id, "phase": phase, "pairs": pairs})


def buy_phase(kind: str, op_id: str) -> Reason:
    return Reason(ev.IN_PROGRESS, f"{kind} {op_id}: buy phase", {"op": op_id})


def terminated(info: Mapping[str, Any] | None) -> Reason:
    info = info or {}
    return Reason(ev.TERMINATED, f"the bot is terminated ({info.get('why', 'terminated')}); it trades no more",
                  dict(info))


def below_threshold(drift: Drift | None, spec: PortfolioSpec) -> Reason:
    if drift is None:
        return Reason(ev.BELOW_THRESHOLD, "nothing held yet", {})
    rule = spec.threshold_for(drift.pair)
    return Reason(
        ev.BELOW_THRESHOLD,
        f"largest deviation {drift.pair} {drift.deviation:+.2f} is within the threshold of "
        f"{rule.describe()} (actual {drift.actual * 100:.2f} % vs target "
        f"{drift.target * 100:.2f} %)",
        {"pair": drift.pair, "deviation": drift.deviation, "threshold": rule.size,
         "threshold_type": spec.threshold_type, "actual": drift.actual, "target": drift.target},
    )


def furthest_out_of_band(weights: Mapping[str, float], spec: PortfolioSpec,
                         targets: Mapping[str, float] | None = None) -> Drift | None:
    """With ``bands``: the coin furthest out relative to its own threshold (None when nothing is held);
    ``targets``: the weights in force when they are not the settings' (computed, or a coin frozen out)."""
    targets = spec.weights if targets is None else targets
    best: Drift | None = None
    best_ratio = -1.0
    for pair in {**targets, **weights}:
        actual, target = weights.get(pair, 0.0), targets.get(pair, 0.0)
        rule = spec.threshold_for(pair)
        dev = rule.deviation(actual, target)
        ratio = abs(dev) / rule.size
        if ratio > best_ratio:
            best, best_ratio = Drift(pair, actual, target, dev), ratio
    return best


def beyond_threshold(drift: Drift, spec: PortfolioSpec) -> str:
    return (f"{drift.pair} at {drift.actual * 100:.2f} % vs target {drift.target * 100:.2f} %: deviation "
            f"{drift.deviation:+.2f} beyond the threshold of {spec.threshold_for(drift.pair).describe()}")


def scheduled_rebalance(interval: int) -> str:
    return f"scheduled rebalance (every {format_interval(interval)})"


TARGETS_CHANGED = "target allocations changed"


def too_small(why: str, trigger: str, skipped: Sequence[SkippedOrder], currency: str) -> Reason:
    lines = [s.describe(currency) for s in skipped]
    return Reason(ev.ORDERS_TOO_SMALL, f"{why}, but every order is too small: " + "; ".join(lines),
                  {"trigger": trigger, "skipped": [skipped_dict(s) for s in skipped]})


def balanced(why: str, trigger: str) -> Reason:
    return Reason(ev.BALANCED, f"{why}: nothing to trade, the portfolio is at target", {"trigger": trigger})


def not_scheduled(wait: float, now: float) -> Reason:
    return Reason(ev.NOT_SCHEDULED, f"next scheduled rebalance in {duration(wait)}",
                  {"seconds_to_next": wait, "next_time": now + wait})


def waiting_for_check(wait: float) -> Reason:
    return Reason(ev.WAITING_FOR_CHECK, f"next check in {duration(wait)}", {"seconds_to_next_check": wait})


# ------------------------------------------------------------------ notices


def started(investment: float, currency: str, op_id: str, skipped: Sequence[SkippedOrder]) -> Notice:
    return Notice("started", f"buying the basket for {investment:g} {currency}",
                  {"op": op_id, "skipped": [s.describe(currency) for s in skipped]})


def rebalance_started(op_id: str, trigger: str, why: str, orders: tuple[Order, ...]) -> Notice:
    what = ", ".join([f"{o.side} {o.amount:g} {o.pair}" for o in orders])
    return Notice("rebalance_started", f"rebalance {op_id} ({trigger}): {why}; {what}",
                  {"op": op_id, "trigger": trigger, "value": sum(o.value for o in orders)})


def finished(record: OperationRecord, currency: str) -> Notice:
    trades = "; ".join([f"{t.side} {t.amount:g} {t.pair} at {t.price:g}" for t in record.trades]) or "no trades"
    skipped = [s.describe(currency) for s in record.skipped]
    text = f"{record.kind} {record.id} done: {trades}"
    if skipped:
        text += "; not traded: " + "; ".join(skipped)
    return Notice(f"{record.kind}_finished", text, {"op": record.id, "trigger": record.trigger,
                                                    "value": sum(t.value for t in record.trades)})


def terminating(why: str, currency: str, op_id: str) -> Notice:
    return Notice("terminating", f"{why}; selling every coin to {currency}", {"op": op_id})


def terminated_notice(info: Mapping[str, Any], how: str, currency: str) -> Notice:
    kept = "the coins stay in the account" if how == "keep" else f"every coin sold to {currency}"
    return Notice("terminated", f"{info['why']}: bot terminated, {kept}", dict(info))


def exit_why(trigger: str, rate: float, limit: float) -> str:
    if trigger == "take_profit":
        return f"take-profit: portfolio profit {rate:.2f} % reached +{limit:g} %"
    return f"stop-loss: portfolio profit {rate:.2f} % reached -{limit:g} %"


TERMINATED_BY_USER = "terminated by the user"
INITIAL_PURCHASE = "initial purchase of the basket"


def investment_raised(delta: float, currency: str) -> str:
    return f"investment raised by {delta:g} {currency}"


def investment_added(delta: float, currency: str, op_id: str) -> Notice:
    return Notice("investment_added", f"investment raised by {delta:g} {currency}; buying towards targets",
                  {"amount": delta, "op": op_id})


def frozen_out(pair: str, since: float, weight: float) -> Notice:
    return Notice("frozen_out", f"{pair} frozen out of the weights: no price since {iso_utc(since)}; its "
                  f"{weight * 100:g} % goes to the other coins pro rata and it is not traded until it has a price "
                  "again (to drop it for good: smartpf set --drop COIN [--sell])", {"pair": pair, "since": since})


def thawed(pair: str) -> Notice:
    return Notice("thawed", f"{pair} has a price again: back in the weights", {"pair": pair})


def computed_weights(weights: Mapping[str, float]) -> str:
    shown = ", ".join(f"{p.split('/')[0]} {w * 100:.1f} %" for p, w in weights.items())
    return f"; weights recomputed (inverse volatility): {shown}"


def recurring_deposit(amount: float, currency: str) -> str:
    # (worded as any deposit's record: the reports read the money put in from "investment raised by")
    return f"investment raised by {amount:g} {currency}: recurring deposit from the free balance"


def recurring_added(amount: float, currency: str, op_id: str) -> Notice:
    return Notice("recurring_deposit", f"recurring deposit of {amount:g} {currency} from the free balance; "
                  "buying the coins under their target", {"amount": amount, "op": op_id})


def recurring_skipped(amount: float, free: float, needed: float, currency: str) -> Notice:
    return Notice("recurring_skipped", f"recurring deposit of {amount:g} {currency} skipped: the free balance "
                  f"{free:.2f} {currency} is less than the {needed:.2f} {currency} the portfolio's idle cash plus "
                  "the deposit need", {"amount": amount, "free": free, "needed": needed})


def recurring_skipped_reason(notice: Notice) -> Reason:
    return Reason(notice.kind, notice.message, dict(notice.data))


def recurring_missed(count: int) -> Notice:
    return Notice("recurring_missed", f"{count} earlier recurring deposit(s) were due while the bot was not "
                  "running: not made up (one deposit per due time seen)", {"missed": count})


def investment_lowered(amount: float, currency: str) -> str:
    return f"investment lowered by {amount:g} {currency}"


def investment_withdrawn(amount: float, currency: str) -> Notice:
    return Notice("investment_withdrawn", investment_lowered(amount, currency), {"amount": amount})


def withdrawal_short(short: float, record: OperationRecord, invested: float, currency: str) -> Notice:
    return Notice("withdrawal_short",
                  f"could not withdraw {short:.2f} {currency}: {short_reason(record)}; it stays invested "
                  f"(principal {invested:.2f} {currency})",
                  {"amount": short, "invested": invested})


def adopted(source: str, holdings: Mapping[str, float], cash: float, currency: str) -> str:
    held = ", ".join(f"{q:g} {p}" for p, q in sorted(holdings.items())) or "nothing"
    return f"adopted from {source}: {held}, cash {cash:.2f} {currency}"


def settings_changed(old: PortfolioSpec, new: PortfolioSpec) -> list[Notice]:
    """What an edit of the settings changes, said before it takes effect."""
    notices: list[Notice] = []
    if dict(new.weights) != dict(old.weights):
        notices.append(Notice("targets_changed", "new target allocations: "
                              + ", ".join(f"{c} {p:g} %" for c, p in new.allocations), {}))
    if new.investment != old.investment:
        notices.append(Notice("investment_changed",
                              f"investment {old.investment:g} -> {new.investment:g} {new.stake_currency}", {}))
    if (new.take_profit, new.stop_loss, new.on_exit) != (old.take_profit, old.stop_loss, old.on_exit):
        text = f"take-profit {_pct(new.take_profit)}, stop-loss {_pct(new.stop_loss)}, on exit {new.on_exit}"
        notices.append(Notice("exit_rules_changed", text, {}))
    return notices


def stake_change_rejected(old: str, new: str) -> Notice:
    return Notice("rejected", f"stake currency cannot change from {old} to {new} while the bot runs", {})


def stale_started(pair: str, since: float) -> Notice:
    return Notice("stale_started", f"{pair} has had no price since {iso_utc(since)}: no trade until it has one "
                                   "(is its market halted or gone?)", {"pair": pair, "since": since})


def stale_ended(pair: str, since: float, now: float) -> Notice:
    return Notice("stale_ended", f"{pair} has a price again (none from {iso_utc(since)} to {iso_utc(now)})",
                  {"pair": pair, "since": since})


# ------------------------------------------------------------------ parts of sentences


def iso_utc(seconds: float) -> str:
    """Epoch seconds as ``2025-12-01T00:00:00Z`` (civil-from-days arithmetic: the core reads no clock)."""
    whole = int(math.floor(seconds))
    days, rest = divmod(whole, 86400)
    z = days + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (month <= 2)
    return f"{year:04d}-{month:02d}-{day:02d}T{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}Z"



def short_reason(record: OperationRecord) -> str:
    """Why a withdrawal raised less than asked, from what its plan could not send."""
    at_minimum = [s.pair for s in record.skipped if s.why == "position_minimum"]
    too_small = [s.pair for s in record.skipped if s.why != "position_minimum"]
    if at_minimum:
        return f"the positions of {', '.join(at_minimum)} are at their minimum"
    if too_small:
        return f"the sells of {', '.join(too_small)} would be below the minimum order"
    return "the sells filled for less than planned (the price moved between the plan and the fill)"


def skipped_dict(s: SkippedOrder) -> dict[str, Any]:
    return {"pair": s.pair, "side": s.side, "value": s.value, "minimum": s.minimum, "shortfall": s.shortfall,
            "why": s.why}


def duration(seconds: float) -> str:
    seconds = max(0, int(math.ceil(seconds)))
    if seconds >= 86400:
        return f"{seconds // 86400}d {seconds % 86400 // 3600}h"
    if seconds >= 3600:
        return f"{seconds // 3600}h {seconds % 3600 // 60}m"
    if seconds >= 60:
        return f"{seconds // 60}m {seconds % 60}s"
    return f"{seconds}s"


def _pct(value: float | None) -> str:
    """A take-profit or stop-loss as said to a person: "none" when unset, never Python's None."""
    return "none" if value is None else f"{value:g} %"
