"""The ledger file: balances, orders, trades and rejections, so a restarted server carries on with the
same accounts (``--ledger FILE``).

An append-only journal (JSON lines): each change appends one line with the balances, the orders it
touched, the new trades and rejections. Appending keeps an order's round trip short however long the
history grows; reading folds the lines (a later line wins for an order and for the balances). Each
line is flushed before the answer goes out, so it survives the server being killed; a last line cut
short by a kill mid-write is ignored (that change was never answered).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from smartpf.errors import ReplaySetupError

VERSION = 1


class LedgerError(ReplaySetupError):
    """The ledger file exists but cannot be used; the message names the file."""


def read_ledger(path: Path) -> dict | None:
    """The folded ledger ({"balances", "orders", "trades", "rejections", "halted", "next_order_id",
    "next_trade_id"}), or None when the file does not exist yet."""
    if not path.exists():
        return None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise LedgerError(f"--ledger {path}: cannot read it ({e.strerror or e})") from None
    state: dict = {"balances": {}, "orders": {}, "trades": [], "rejections": [], "halted": []}
    for number, line in enumerate(lines, 1):
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict):
                raise ValueError("not an object")
        except ValueError as e:
            if number == len(lines):
                break  # cut short by a kill while writing: that change was never answered
            raise LedgerError(f"--ledger {path}: line {number} is not a ledger entry ({e})") from None
        if number == 1 and entry.get("version") != VERSION:
            raise LedgerError(f"--ledger {path}: not a smartpf replay ledger (version {VERSION})")
        if "balances" in entry:
            state["balances"] = entry["balances"]
        for order in entry.get("orders", []):
            state["orders"][int(order["order_id"])] = order
        state["trades"] += entry.get("trades", [])
        state["rejections"] += entry.get("rejections", [])
        for key in ("halted", "next_order_id", "next_trade_id"):
            if key in entry:
                state[key] = entry[key]
    state["orders"] = list(state["orders"].values())
    return state


class LedgerWriter:
    """Appends entries to the journal (the file is created with a version line)."""

    def __init__(self, path: Path) -> None:
        new = not path.exists() or path.stat().st_size == 0
        self._file: IO[str] = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the server's life
        if new:
            self.append({"version": VERSION})

    def append(self, entry: dict) -> None:
        self._file.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()
