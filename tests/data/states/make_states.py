"""How the state files here were written: run from the repository root, on smartpf at state version 2 before
the core was cut into smartpf_core.portfolio (``python tests/data/states/make_states.py tests/data/states``).
The files are fixtures: never regenerate them to make a test pass."""

import json
import sys

sys.path.insert(0, ".")

from smartpf_core import Engine, Fill, Snapshot  # noqa: E402
from tests.support.helpers import RULES, make_spec, tick  # noqa: E402

out = sys.argv[1]

# 1. mid-rebalance: sells filled, buy phase, one buy placed (open), one planned
spec = make_spec(assets={"BTC": 40, "ETH": 30, "SOL": 30}, investment=1000, threshold=2)
p0 = {"BTC/USDT": 100.0, "ETH/USDT": 10.0, "SOL/USDT": 20.0}
engine = Engine(spec, RULES, portfolio_id="pf7")
tick(engine, 0.0, p0)
tick(engine, 60.0, p0)
p1 = {"BTC/USDT": 120.0, "ETH/USDT": 9.0, "SOL/USDT": 18.0}
d = engine.step(Snapshot(3600.0, p1))
for o in d.orders:
    engine.order_placed(o.id)
    engine.on_fill(Fill(o.id, o.amount, p1[o.pair], o.amount * p1[o.pair] * 0.001, 3600.0))
d = engine.step(Snapshot(3660.0, p1))
engine.order_placed(d.orders[0].id)
with open(f"{out}/state_v2_mid_rebalance.json", "w") as f:
    f.write(json.dumps(engine.to_dict()))

# 2. withdrawal, a guarded jump pending, scheduled mode, a termination asked; 3. then terminated (keep)
scheduled = {"assets": {"BTC": 50, "ETH": 50}, "mode": "scheduled", "interval": "1d", "price_guard": 20}
engine = Engine(make_spec(investment=1000, **scheduled), RULES, portfolio_id="")
p = {"BTC/USDT": 100.0, "ETH/USDT": 10.0}
tick(engine, 0.0, p)
tick(engine, 60.0, p)
engine.update_spec(make_spec(investment=400, **scheduled))
tick(engine, 3600.0, p)
tick(engine, 7200.0, p)
tick(engine, 10800.0, {"BTC/USDT": 150.0, "ETH/USDT": 10.0})
engine.update_spec(make_spec(investment=400, terminate="keep", **scheduled))
with open(f"{out}/state_v2_scheduled_withdrawn.json", "w") as f:
    f.write(json.dumps(engine.to_dict()))
tick(engine, 14400.0, p)
with open(f"{out}/state_v2_terminated.json", "w") as f:
    f.write(json.dumps(engine.to_dict(), sort_keys=True, default=str))
