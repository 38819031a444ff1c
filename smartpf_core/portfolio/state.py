"""The versioned save / load of a portfolio's state and its migrations: the only reader of saved keys.

``save`` writes the keys in the order they have always been written, so a state saved by an earlier
smartpf of the same version reads and writes back byte for byte.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..guard import PriceGuard
from ..market import MarketRules, Reserves
from ..records import Hodl, OperationRecord
from ..spec import PortfolioSpec
from .ledger import Ledger
from .operation import Operation
from .run import Run
from .states import OpKind, PortfolioStatus

STATE_VERSION = 2  # 2: portfolio_id (order ids carry it); see _MIGRATIONS


def save(run: Run, records: bool = True) -> dict[str, Any]:
    """The whole state as plain JSON-able values (versioned)."""
    ledger = run.ledger
    data = {
        "version": STATE_VERSION,
        "portfolio_id": run.portfolio_id,
        "spec": run.spec.to_dict(),
        "rules": {p: vars(r).copy() for p, r in run.rules.items()},
        "reserves": run.reserves.to_dict(),
        "status": run.status,
        "started_at": run.started_at,
        "holdings": dict(ledger.holdings),
        "cash": ledger.cash,
        "invested": ledger.invested,
        "pending_withdrawal": ledger.pending_withdrawal,
        "withdrawn": ledger.withdrawn,
        "withdrawal_asked": ledger.withdrawal_asked,
        "withdrawal_kept": ledger.withdrawal_kept,
        "guard": run.guard.to_dict(),
        "op": None if run.op is None else run.op.to_dict(),
        "seq": run.seq,
        "last_check": run.last_check,
        "last_schedule": run.last_schedule,
        "targets_dirty": run.targets_dirty,
        "hodl": ledger.hodl.to_dict(),
        "records": [r.to_dict() for r in run.records] if records else [],
        "termination": run.termination,
        "counters": {"orders": ledger.orders_filled, "fees": ledger.fees_paid, "turnover": ledger.turnover,
                     "rebalances": ledger.rebalances},
    }
    if run.stale:  # (written only then: a state saved before this key existed writes back byte for byte)
        data["stale"] = dict(run.stale)
    if run.diverged:  # (likewise: only while the account disagrees)
        data["diverged"] = dict(run.diverged)
    if run.frozen:  # (likewise: only while a coin is frozen out of the weights)
        data["frozen"] = list(run.frozen)
    if run.spec.weighting == "inverse_volatility":  # (likewise: only with weights from data)
        data["volatility"] = {"day": run.sample_day, "samples": {p: list(v) for p, v in run.samples.items()},
                              "weights": run.computed}
    if run.deposits or ledger.deposited:  # (likewise: only with recurring deposits, flows.py)
        data["recurring"] = {"count": run.deposits, "deposited": ledger.deposited}
    if ledger.dust:  # likewise: only a live portfolio with fees taken in the coin has dust
        data["dust"] = dict(ledger.dust)
    return data


def load(data: Mapping[str, Any]) -> Run:
    """A state of any version smartpf wrote, migrated to this one. Raises KeyError, ValueError or TypeError."""
    data = migrate_state(data)
    counters = data.get("counters", {})
    ledger = Ledger(
        cash=float(data["cash"]),
        invested=float(data["invested"]),
        holdings={p: float(q) for p, q in data["holdings"].items()},
        pending_withdrawal=float(data.get("pending_withdrawal", 0.0)),
        withdrawn=float(data.get("withdrawn", 0.0)),
        withdrawal_asked=float(data.get("withdrawal_asked", 0.0)),
        withdrawal_kept=float(data.get("withdrawal_kept", 0.0)),
        hodl=Hodl.from_dict(data.get("hodl", {})),
        orders_filled=int(counters.get("orders", 0)),
        fees_paid=float(counters.get("fees", 0.0)),
        turnover=float(counters.get("turnover", 0.0)),
        rebalances=int(counters.get("rebalances", 0)),
        deposited=float((data.get("recurring") or {}).get("deposited", 0.0)),
        dust={str(p): float(q) for p, q in (data.get("dust") or {}).items() if 0 < float(q) < math.inf},
    )
    status = PortfolioStatus(data["status"])
    op = None if data.get("op") is None else Operation.from_dict(data["op"])
    if op is not None and (status == PortfolioStatus.TERMINATED
                           or (op.kind == OpKind.INITIAL) != (status == PortfolioStatus.NEW)):
        raise ValueError(f"a portfolio in status {status} cannot have an operation of kind {op.kind} under way")
    return Run(
        spec=PortfolioSpec.from_dict(data["spec"]),
        ledger=ledger,
        portfolio_id=str(data.get("portfolio_id") or ""),
        rules={p: MarketRules(**r) for p, r in data.get("rules", {}).items()},
        reserves=Reserves(**data.get("reserves", {})),
        status=status,
        started_at=data["started_at"],
        guard=PriceGuard.from_dict(data.get("guard", {})),
        op=op,
        seq=int(data["seq"]),
        last_check=data.get("last_check"),
        last_schedule=data.get("last_schedule"),
        targets_dirty=bool(data.get("targets_dirty", False)),
        records=[OperationRecord.from_dict(r) for r in data.get("records", [])],
        termination=data.get("termination"),
        stale={str(p): float(t) for p, t in (data.get("stale") or {}).items()},
        diverged=_diverged(data.get("diverged")),
        deposits=int((data.get("recurring") or {}).get("count", 0)),
        frozen=tuple(str(p) for p in data.get("frozen") or ()),
        **_volatility(data.get("volatility")),
    )


def _volatility(value: Any) -> dict[str, Any]:
    if not value:
        return {}
    weights = value.get("weights")
    return {"sample_day": value.get("day"),
            "samples": {str(p): [float(x) for x in v] for p, v in (value.get("samples") or {}).items()},
            "computed": None if weights is None else {str(p): float(w) for p, w in weights.items()}}


def _diverged(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not isinstance(value.get("shortfalls", []), list):
        raise ValueError(f"'diverged' is {value!r}, not what the account was found short of")
    return dict(value)


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 had no portfolio id; its order ids stay as they were."""
    return {**data, "portfolio_id": "", "version": 2}


_MIGRATIONS = {1: _v1_to_v2}  # version -> the function that lifts a state of that version by one


def migrate_state(data: Mapping[str, Any]) -> dict[str, Any]:
    """Bring a persisted state of any earlier version up to ``STATE_VERSION`` (plain dict to plain dict)."""
    if not isinstance(data, Mapping):
        raise ValueError(f"the state is {type(data).__name__}, not an object")
    out = dict(data)
    version = out.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"state version {version!r} is not a version smartpf wrote")
    if version > STATE_VERSION:
        raise ValueError(f"state version {version} was written by a newer smartpf (this one reads up to "
                         f"{STATE_VERSION}); upgrade smartpf")
    while out["version"] < STATE_VERSION:
        out = _MIGRATIONS[out["version"]](out)
    return out
