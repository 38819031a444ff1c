"""States saved by an earlier smartpf load and save back byte for byte.

The files in ``tests/data/states`` were written by smartpf at state version 2 (before the core was cut
into ``smartpf_core.portfolio``), with the serialisation each was saved with: one mid-rebalance (a sell
filled, a buy open, a buy still planned), one with a withdrawal, a pending guarded jump and a pending
termination, one terminated (saved as the store saves, sorted keys).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smartpf_core import Engine, Fill, Snapshot

STATES = Path(__file__).resolve().parents[1] / "data" / "states"
SORTED = {"state_v2_terminated.json"}


@pytest.mark.parametrize("name", sorted(p.name for p in STATES.glob("state_v2_*.json")))
def test_a_saved_state_loads_and_saves_back_byte_identical(name):
    text = (STATES / name).read_text()
    engine = Engine.from_dict(json.loads(text))
    if name in SORTED:
        again = json.dumps(engine.to_dict(), sort_keys=True, default=str)
    else:
        again = json.dumps(engine.to_dict())
    assert again == text


def test_a_saved_mid_rebalance_resumes_and_finishes():
    engine = Engine.from_dict(json.loads((STATES / "state_v2_mid_rebalance.json").read_text()))
    prices = {"BTC/USDT": 120.0, "ETH/USDT": 9.0, "SOL/USDT": 18.0}
    decision = engine.step(Snapshot(3720.0, prices))
    assert [o.id for o in decision.orders] == ["rb2:buy:SOL/USDT@pf7"]  # the planned one is re-emitted
    for order in engine.pending_orders():
        assert engine.on_fill(Fill(order.id, order.amount, prices[order.pair], 0.0, 3720.0))
    decision = engine.step(Snapshot(3780.0, prices))
    assert engine.status == "running" and not engine.pending_orders()
    assert any(n.kind == "rebalance_finished" for n in decision.notices)


@pytest.mark.parametrize(("change", "why"), [
    ({"status": "paused"}, "'paused' is not a valid PortfolioStatus"),
    ({"op": {"kind": "withdraw", "phase": "buy"}}, "kind withdraw has no buy phase under way"),
    ({"op": {"kind": "adopt"}}, "kind adopt has no buy phase under way"),
    ({"op": {"kind": "initial"}}, "status running cannot have an operation of kind initial"),
    ({"status": "terminated"}, "status terminated cannot have an operation of kind rebalance"),
    ({"op": {"orders": [{"status": "lost"}]}}, "'lost' is not a valid OrderStatus"),
])
def test_a_tampered_state_is_refused_with_a_reason_never_taken_into_a_step(change, why):
    """A state the machines could not move on from is refused at load (ValueError: the store names it)."""
    data = json.loads((STATES / "state_v2_mid_rebalance.json").read_text())
    for key, value in change.items():
        if key == "op":
            for k, v in value.items():
                if k == "orders":
                    data["op"]["orders"][0].update(v[0])
                else:
                    data["op"][k] = v
        else:
            data[key] = value
    with pytest.raises(ValueError, match=why):
        Engine.from_dict(data)
