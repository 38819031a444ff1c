"""The bot's memory at start: find the portfolio that belongs to this trade database, then decide.

The portfolio is looked up in the database itself (``smartpf.freqtrade.store``), never by ``bot_name``. A state
file of smartpf 0.1 (version 1, ``user_data/smartpf/<bot_name>.json``) is imported once, and only
when the database holds its trades; the decision itself (resume, new, terminated, refuse) is the
core's ``decide_start``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smartpf.freqtrade.store import PortfolioRow, PortfolioStore, new_portfolio_id
from smartpf_core import Engine
from smartpf_core.startup import REFUSE, StartDecision, decide_start

from .reconcile import ENTRY_TAG
from .statefile import StateFileError, read_state

# The operation part of an order tag: ``rb12:sell:ETH/USDT@<portfolio>`` -> 12.
OP_TAG = re.compile(r"^(?:init|rb|dep|wd|exit|adopt|out)(\d+):")


@dataclass
class Memory:
    engine: Engine | None
    row: PortfolioRow | None
    decision: StartDecision
    notes: list[str] = field(default_factory=list)


def open_amounts(trades: Iterable[Any]) -> dict[str, float]:
    """Pair -> amount held in the database's open trades."""
    out: dict[str, float] = {}
    for trade in trades:
        out[trade.pair] = out.get(trade.pair, 0.0) + float(trade.amount or 0.0)
    return out


def highest_seq(tags: Iterable[str | None]) -> int:
    """The highest operation number any order tag in the database carries."""
    best = 0
    for tag in tags:
        match = OP_TAG.match(tag or "")
        if match:
            best = max(best, int(match.group(1)))
    return best


def recall(store: PortfolioStore, open_trades: Mapping[str, float], tags: list[str], legacy: Path,
           bot_name: str) -> Memory:
    """The portfolio of this database (importing a version-1 file if it is this database's) and the decision."""
    row = store.active()
    if row is not None:
        engine = store.load(row)
        return Memory(engine, row, decide_start(engine, open_trades))
    notes: list[str] = []
    engine = import_legacy(legacy, open_trades, tags, notes)
    if engine is None:
        return Memory(None, None, decide_start(None, open_trades), notes)
    row = store.create(engine, bot_name)
    done = legacy.with_name(f"{legacy.name}.imported-{row.id}")
    legacy.replace(done)
    notes.append(f"imported the state file {legacy} into the trade database as portfolio {row.id} "
                 f"(the file is kept as {done.name}, never read again)")
    return Memory(engine, row, decide_start(engine, open_trades), notes)


def import_legacy(path: Path, open_trades: Mapping[str, float], tags: list[str], notes: list[str]) -> Engine | None:
    """A version-1 state file as an engine, if it describes this database's trades; else None (and why)."""
    data = read_state(path)  # StateFileError names the file
    if data is None:
        return None
    try:
        engine = Engine.from_dict(data["engine"])
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise StateFileError(f"the state file {path} is not a smartpf state ({exc})") from exc
    decision = decide_start(engine, open_trades)
    ours = any(OP_TAG.match(t or "") or (t or "").startswith(ENTRY_TAG) for t in tags)
    if decision.action == REFUSE or not ours:
        why = "; ".join(decision.differences) if decision.action == REFUSE else "none of its orders is in it"
        notes.append(f"the state file {path} does not describe this trade database ({why}); not imported")
        return None
    # an old backup must not hand out an operation number the database has already seen
    engine.identify(new_portfolio_id(), highest_seq(tags))
    return engine
