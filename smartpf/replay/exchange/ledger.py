"""The ledger file: balances, orders, trades and rejections, written atomically after every change so
a restarted server carries on with the same accounts (``--ledger FILE``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

VERSION = 1


class LedgerError(ValueError):
    """The ledger file exists but cannot be used; the message names the file."""


def read_ledger(path: Path) -> dict | None:
    """The stored ledger, or None when the file does not exist yet."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise LedgerError(f"--ledger {path}: not a readable ledger ({e})") from None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise LedgerError(f"--ledger {path}: not a smartpf replay ledger (version {VERSION})")
    return data


def write_ledger(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"version": VERSION, **data}, f, separators=(",", ":"))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
