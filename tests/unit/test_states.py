"""The state machines' tables: every move in a table is allowed, every (state, event) pair outside it raises.

The engine moves a portfolio, an operation and an order only through these tables, and the start decision
is read from its own; a move outside them is a bug, never a market event, so it raises.
"""

from __future__ import annotations

import json
from itertools import product
from pathlib import Path

import pytest

from smartpf_core import Fill, Order
from smartpf_core.portfolio import IllegalTransition
from smartpf_core.portfolio.operation import Operation, TrackedOrder
from smartpf_core.portfolio.states import (
    OPERATION,
    ORDER,
    PORTFOLIO,
    START,
    Evidence,
    OpKind,
    OrderEvent,
    OrderStatus,
    Phase,
    PhaseEvent,
    PortfolioEvent,
    PortfolioStatus,
    StartState,
)
from tests.support.helpers import make_spec, started, tick

MACHINES = [
    (PORTFOLIO, PortfolioStatus, PortfolioEvent),
    *((machine, Phase, PhaseEvent) for machine in OPERATION.values()),
    (ORDER, OrderStatus, OrderEvent),
    (START, StartState, Evidence),
]


def _pairs(machine, states, events, inside):
    return [pytest.param(machine, s, e, id=f"{machine.name}:{s}+{e}")
            for machine, states, events in [(machine, states, events)]
            for s, e in product(states, events) if ((s, e) in machine.table) == inside]


OUTSIDE = [p for m in MACHINES for p in _pairs(*m, inside=False)]
INSIDE = [p for m in MACHINES for p in _pairs(*m, inside=True)]


@pytest.mark.parametrize(("machine", "state", "event"), OUTSIDE)
def test_a_move_outside_the_table_raises(machine, state, event):
    assert not machine.can(state, event)
    with pytest.raises(IllegalTransition, match=f"{machine.name}: no transition from '{state}' on '{event}'"):
        machine.transition(state, event)


@pytest.mark.parametrize(("machine", "state", "event"), INSIDE)
def test_a_move_in_the_table_goes_where_the_table_says(machine, state, event):
    assert machine.can(state, event)
    assert machine.transition(state, event) == machine.table[(state, event)]


def test_every_pair_of_every_machine_is_tested():
    """portfolio 4x5, five operation kinds 3x2 each, order 4x3, start 5x5: each pair inside or outside."""
    assert len(INSIDE) + len(OUTSIDE) == 20 + 5 * 6 + 12 + 25
    assert len(INSIDE) == 5 + (1 + 2 + 1 + 1 + 1) + 6 + 9


def test_the_states_are_saved_as_their_plain_words():
    """The saved JSON is what it was when these were bare strings."""
    assert json.dumps([PortfolioStatus.RUNNING, Phase.SELL, OrderStatus.OPEN, OpKind.REBALANCE]) == \
        '["running", "sell", "open", "rebalance"]'


def test_a_filled_order_cannot_fill_again_or_be_closed():
    order = TrackedOrder(Order("rb1:sell:BTC/USDT", "rb1", "BTC/USDT", "sell", 1.0, 100.0, False))
    order.move(OrderEvent.FILLED)
    with pytest.raises(IllegalTransition):
        order.move(OrderEvent.FILLED)
    with pytest.raises(IllegalTransition):
        order.move(OrderEvent.CLOSED)


def test_a_withdrawal_never_goes_on_to_buy():
    op = Operation("wd1", OpKind.WITHDRAW, Phase.SELL)
    assert not op.can(PhaseEvent.SOLD)
    with pytest.raises(IllegalTransition):
        op.move(PhaseEvent.SOLD)


def test_the_engine_answers_a_late_report_without_moving_the_order():
    """A fill reported twice, or a close after the fill, is refused (False), never an exception for a host."""
    engine = started()
    decision = tick(engine, 1000, {"BTC/USDT": 120.0, "ETH/USDT": 10.0}, fill=False)
    order = decision.orders[0]
    assert engine.on_fill(Fill(order.id, order.amount, 120.0, 0.0, 1000))
    assert not engine.on_fill(Fill(order.id, order.amount, 120.0, 0.0, 1000))
    assert not engine.order_closed(order.id)
    assert engine.order_placed(order.id) and engine.order_status(order.id) == OrderStatus.FILLED


def test_a_host_cannot_assign_the_engines_state():
    engine = started(make_spec())
    for name in ("status", "cash", "holdings", "spec", "portfolio_id", "seq", "records", "op", "operation"):
        with pytest.raises(AttributeError, match="read-only"):
            setattr(engine, name, None)


def test_the_architecture_page_shows_every_table_as_the_code_has_it():
    page = (Path(__file__).resolve().parents[2] / "docs" / "architecture.md").read_text()
    for machine, _, _ in MACHINES:
        for (state, event), target in machine.table.items():
            assert f"| {state} | {event} | {target} |" in page, (machine.name, state, event)
    section = page[page.index("## The state machines"):]
    section = section[:section.index("\n## ", 3)] if "\n## " in section[3:] else section
    shown = [line for line in section.splitlines()
             if line.startswith("| ") and " event " not in line and " open trades " not in line]
    assert len(shown) == sum(len(machine.table) for machine, _, _ in MACHINES)  # and no row the code lacks
