"""The one decision taken at every start: resume, start a new portfolio, stay terminated, or refuse.

The portfolio (the engine state found with the trade database) and the database's open trades must
tell the same story. When they do not, trading on would buy a basket twice, sell what another
portfolio holds, or value holdings that are not there, so the bot refuses and says what differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .portfolio.engine import Engine
from .portfolio.states import START, Evidence, StartAction, StartState

NEW, RESUME, TERMINATED, REFUSE = StartAction.NEW, StartAction.RESUME, StartAction.TERMINATED, StartAction.REFUSE
# Holdings and open trades agree when they differ by at most this fraction: the trade database is the
# truth and a small difference (a fee taken in the coin after the last save) is reconciled, not refused.
AMOUNT_TOLERANCE = 0.01


@dataclass(frozen=True)
class StartDecision:
    action: StartAction  # NEW | RESUME | TERMINATED | REFUSE (the start decision's table, ``states.START``)
    message: str
    differences: tuple[str, ...] = ()


def decide_start(engine: Engine | None, open_trades: Mapping[str, float]) -> StartDecision:
    """Compare the portfolio found for this database with its open trades (pair -> amount)."""
    trades = {p: float(a) for p, a in open_trades.items() if a > 0}
    if engine is None:
        action = START.transition(StartState.NONE, Evidence.TRADES if trades else Evidence.NO_TRADES)
        if action == NEW:
            return StartDecision(action, "the trade database holds no portfolio and no open trade: a new portfolio")
        listed = tuple(f"{p}: an open trade of {a:g} that no portfolio in this database holds"
                       for p, a in sorted(trades.items()))
        return StartDecision(action, "the trade database has open trades but no portfolio", listed)
    found = StartState(engine.status)
    if found == StartState.TERMINATED:
        info = engine.termination or {}
        return StartDecision(START.transition(found, Evidence.ANY),
                             f"the portfolio is terminated ({info.get('why', 'terminated')}); it trades no more")
    differences = _differences(engine, trades)
    action = START.transition(found, Evidence.DISAGREE if differences else Evidence.AGREE)
    if action == REFUSE:
        return StartDecision(action, "the portfolio and the trade database's open trades disagree", differences)
    return StartDecision(action, "the portfolio and the trade database's open trades agree")


def _differences(engine: Engine, trades: Mapping[str, float]) -> tuple[str, ...]:
    pending = {o.pair for o in engine.pending_orders()}  # a fill may have landed after the last save
    held = {p: q for p, q in engine.ledger.holdings.items() if q > 0}
    out: list[str] = []
    for pair in sorted(set(held) | set(trades)):
        mine, theirs = held.get(pair, 0.0), trades.get(pair, 0.0)
        if pair in pending:
            continue
        if mine <= 0:
            out.append(f"{pair}: an open trade of {theirs:g} that the portfolio does not hold")
        elif theirs <= 0:
            out.append(f"{pair}: the portfolio holds {mine:g} but the database has no open trade for it")
        elif abs(mine - theirs) > AMOUNT_TOLERANCE * max(mine, theirs):
            out.append(f"{pair}: the portfolio holds {mine:g}, its open trade {theirs:g}")
    return tuple(out)
