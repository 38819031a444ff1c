"""The account and the exchange as the truth: what happened to the portfolio's money outside this state.

- ``check_account``: live, a coin the account holds less of than the portfolio stops trading (``diverged``),
  said once, until the coins are back or ``smartpf reconcile --apply`` takes the account's amounts.
- ``Corrections``: what a host books once it knows better (``engine.corrections``): money moved outside the
  bot, an operation the state lost but the exchange kept, operation numbers handed out by a later copy.
"""

from __future__ import annotations

from collections.abc import Mapping

from .. import events as ev
from ..account import shortfalls
from ..events import Decision, Fill, Notice, Order, Reason, Snapshot
from ..records import OperationRecord, TradeRecord
from .run import Run
from .states import OrderEvent, OrderStatus, PortfolioEvent, PortfolioStatus


def check_account(run: Run, snap: Snapshot) -> Decision | None:
    """Live: stop trading while the account holds less of a coin than the portfolio; said once."""
    if run.status == PortfolioStatus.TERMINATED:
        return None
    if snap.balances is None:  # not checked on this tick: a diverged portfolio stays stopped, said already
        return None if run.diverged is None else Decision(snap.time, reason=Reason(ev.DIVERGED, run.diverged.get(
            "message", "the account holds less than the portfolio"), dict(run.diverged)))
    skip = {o.order.pair for o in run.op.outstanding()} if run.op is not None else set()
    skip |= set(snap.open_orders)
    short = shortfalls(run.ledger.holdings, snap.balances, run.rules, run.spec.fee, skip)
    if not short:
        agree(run)
        return None
    text = ("the account holds less than the portfolio (moved outside the bot?): "
            + "; ".join(s.describe() for s in short) + "; no trading until `smartpf reconcile -c CONFIG --apply` "
            "takes the account's amounts (or the coins are back)")
    before = run.diverged or {}
    said = [s["pair"] for s in before.get("shortfalls", [])] == [s.pair for s in short]  # the same coins
    run.diverged = {"at": before["at"] if said else snap.time, "message": text,
                    "shortfalls": [s.to_dict() for s in short]}
    if run.status == PortfolioStatus.RUNNING:
        run.move(PortfolioEvent.DIVERGED)
    notices = () if said else (Notice(ev.DIVERGED, text, dict(run.diverged)),)
    return Decision(snap.time, reason=Reason(ev.DIVERGED, text, dict(run.diverged)), notices=notices)


def agree(run: Run) -> None:
    """The account agrees with the portfolio again: trading resumes."""
    run.diverged = None
    if run.status == PortfolioStatus.DIVERGED:
        run.move(PortfolioEvent.AGREED)


def _drop_planned(run: Run) -> list[str]:
    """Orders of the operation under way not sent yet are dropped (closed without a fill)."""
    if run.op is None:
        return []
    dropped = []
    for tracked in run.op.outstanding():
        if tracked.status == OrderStatus.PLANNED:
            tracked.move(OrderEvent.CLOSED)
            dropped.append(tracked.order.id)
    return dropped


class Corrections:
    """What a host books on the portfolio once the exchange or the account told it better."""

    def __init__(self, run: Run) -> None:
        self._run = run

    def clear_divergence(self) -> None:
        """The account's amounts agree again (``reconcile --apply`` found nothing to take)."""
        agree(self._run)

    def take_holdings(self, holdings: Mapping[str, float]) -> None:
        """The trade database's open trades as the holdings, as a tick with ``Snapshot.holdings`` takes them."""
        self._run.ledger.reconcile(holdings)

    def seen_seq(self, seen: int) -> list[str]:
        """Operation numbers up to ``seen`` were handed out by a later copy of this portfolio (the exchange's
        orders, the export of a database since restored from a backup): never hand them out again, and never carry
        on an operation a later one followed (its orders not yet sent are dropped). Returns the dropped ids."""
        run = self._run
        if seen <= run.seq:
            return []
        run.seq = seen
        return _drop_planned(run)

    def moved_outside(self, amounts: Mapping[str, float], prices: Mapping[str, float], now: float,
                      source: str = "reconcile") -> OperationRecord:
        """The account's amounts taken as the truth (``smartpf reconcile --apply``): ``amounts`` (pair -> coins
        gone) left the portfolio outside the bot. The holdings fall by them, the principal by their value (a
        withdrawal, not a loss: no stop-loss fires on it) while the settings' investment stays as it is (no
        deposit buys them back), the HODL shadow withdraws the same value, and orders not yet sent are dropped
        (they were planned on amounts that are gone)."""
        run = self._run
        ledger = run.ledger
        value = 0.0
        for pair, gone in amounts.items():
            gone = min(max(0.0, gone), ledger.holdings.get(pair, 0.0))
            ledger.holdings[pair] = ledger.holdings.get(pair, 0.0) - gone
            value += gone * float(prices.get(pair) or 0.0)
        _drop_planned(run)
        ledger.invested -= value
        ledger.withdrawal_kept -= value  # (negative: withdrawn outside the settings) investment - principal kept
        ledger.withdrawn += value
        if value > 0 and all(prices.get(p) for p in ledger.hodl_pairs()):
            ledger.hodl.withdraw(value, prices, run.spec.fee)
        agree(run)
        run.seq += 1
        moved = ", ".join(f"{q:.8g} {p.split('/')[0]}" for p, q in amounts.items() if q > 0) or "nothing"
        record = OperationRecord(f"out{run.seq}", "outside", source, f"moved outside the bot: {moved} (worth "
                                 f"{value:.2f} {run.spec.stake_currency}); the account's amounts taken as the truth",
                                 now, finished_at=now, status="done")
        run.add_finished(record)
        return record

    def recovered(self, op_id: str, trades: list[tuple[Order, Fill]], now: float) -> OperationRecord:
        """An operation this state lost (its database was restored from an older copy) whose fills the exchange
        kept: booked once, as they happened. A rebalance's or the exit's fills move cash; a deposit's buys were
        paid by the money deposited (the principal grows) and a withdrawal's sells left the account (it shrinks)."""
        run = self._run
        ledger = run.ledger
        prefix = op_id.rstrip("0123456789")
        kind = {"init": "initial", "rb": "rebalance", "dep": "deposit", "wd": "withdraw", "exit": "exit"}.get(
            prefix, "rebalance")
        started = min((f.time for _, f in trades), default=now)
        record = OperationRecord(op_id, kind, "recovered", f"{kind} {op_id} recovered from the exchange's orders "
                                 "(the trade database had lost it)", started, finished_at=now, status="done")
        for order, fill in trades:
            value = fill.amount * fill.price
            held = ledger.holdings.get(order.pair, 0.0)
            ledger.holdings[order.pair] = held + fill.amount if order.side == "buy" else max(0.0, held - fill.amount)
            if kind == "deposit" and order.side == "buy":
                ledger.invested += value + fill.fee
            elif kind == "withdraw" and order.side == "sell":
                ledger.invested -= value - fill.fee
                ledger.withdrawn += value - fill.fee
            else:
                ledger.cash += -(value + fill.fee) if order.side == "buy" else value - fill.fee
            ledger.orders_filled += 1
            ledger.fees_paid += fill.fee
            ledger.turnover += value
            record.trades.append(TradeRecord(fill.time, order.pair, order.side, fill.amount, fill.price, fill.fee,
                                             order.id))
        digits = op_id[len(prefix):]
        run.seq = max(run.seq, int(digits) if digits.isdigit() else 0)
        run.add_finished(record)
        return record
