"""The readable export beside the trade database, for other tools (the truth is in the database, ``store``).

- ``portfolio-<id>.json``: the portfolio's state, the last reason and the latest figures; rewritten (atomically)
  only when the state changed: a quiet loop (the same state and reason, only a newer check time, newer prices the
  price guard accepted, newer figures) leaves the file alone. Those are written along with the next change.
- ``portfolio-<id>.records.jsonl``: one finished record (an operation: purchase, rebalance, deposit ...) per line,
  appended once when it finishes, never rewritten. Records still under way are in the JSON's ``engine.records``.

``read_export`` puts the two back together (``engine.records``: the finished ones, then those under way).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smartpf_core import Engine, Reason

from .statefile import StateFileError, export_path, read_state, write_state

NOTE = "an export for other tools; the bot's memory is in its trade database"


def compared(state: dict[str, Any], reason: Reason | None, details: dict[str, Any] | None) -> str:
    """What must differ for the JSON to be written again: not the check time, nor the prices the guard last
    accepted (they move on every check), nor the figures (they move with the prices)."""
    quiet = {k: v for k, v in state.items() if k != "last_check"}
    quiet["guard"] = {k: v for k, v in (state.get("guard") or {}).items() if k != "accepted"}
    return json.dumps([quiet, None if reason is None else reason.code, details is not None], sort_keys=True,
                      default=str)


def records_path(user_data_dir: str | Path, portfolio_id: str) -> Path:
    """``user_data/smartpf/portfolio-<id>.records.jsonl``: the finished records, one JSON object a line."""
    return export_path(user_data_dir, portfolio_id).with_suffix(".records.jsonl")


def read_records(path: Path) -> list[dict[str, Any]]:
    """The records in ``path`` (none if there is no file); a line cut short by a kill is skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise StateFileError(f"the records file {path} cannot be read: {exc}") from exc
    out = []
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


def read_export(user_data_dir: str | Path, portfolio_id: str) -> dict[str, Any] | None:
    """The export as one object: the JSON with every record (finished, then under way) in ``engine.records``."""
    data = read_state(export_path(user_data_dir, portfolio_id))
    if data is None:
        return None
    engine = data.get("engine")
    if isinstance(engine, dict):
        engine["records"] = read_records(records_path(user_data_dir, portfolio_id)) + list(engine.get("records") or [])
    return data


class Export:
    """Writes one portfolio's export; remembers what it wrote, so that an unchanged state is not written again.
    A failed write (OSError) is retried on the next call: nothing counts as written until it was."""

    def __init__(self, user_data_dir: str | Path, portfolio_id: str, bot_name: str) -> None:
        self.path = export_path(user_data_dir, portfolio_id)
        self.records_path = records_path(user_data_dir, portfolio_id)
        self.portfolio_id = portfolio_id
        self.bot_name = bot_name
        self.written: str | None = None  # the compared part of the last JSON written
        self.appended: set[str] | None = None  # the ids of the records in the records file (read on first use)

    def write(self, engine: Engine, reason: Reason | None, details: dict[str, Any] | None) -> bool:
        """Append the newly finished records, then rewrite the JSON if the state changed. True if it did."""
        finished = [r for r in engine.records if r.finished_at is not None]
        self.append([r.to_dict() for r in finished])
        state = engine.to_dict(records=False)
        state["records"] = [r.to_dict() for r in engine.records if r.finished_at is None]
        said = None if reason is None else {"code": reason.code, "message": reason.message}
        key = compared(state, reason, details)
        if key == self.written:
            return False
        write_state(self.path, {"portfolio_id": self.portfolio_id, "bot_name": self.bot_name, "engine": state,
                                "updated_at": datetime.now(UTC).isoformat(), "note": NOTE, "reason": said,
                                "details": details, "records_file": self.records_path.name})
        self.written = key
        return True

    def append(self, records: list[dict[str, Any]]) -> None:
        if self.appended is None:
            try:
                self.appended = {str(r.get("id")) for r in read_records(self.records_path)}
            except StateFileError as exc:
                raise OSError(str(exc)) from exc
        new = [r for r in records if str(r.get("id")) not in self.appended]
        if not new:
            return
        self.records_path.parent.mkdir(parents=True, exist_ok=True)
        with self.records_path.open("ab") as handle:
            if handle.tell() > 0:  # a line cut short by a kill must not swallow the next record
                with self.records_path.open("rb") as tail:
                    tail.seek(-1, os.SEEK_END)
                    if tail.read(1) != b"\n":
                        handle.write(b"\n")
            handle.write("".join(json.dumps(r, default=str) + "\n" for r in new).encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        self.appended.update(str(r.get("id")) for r in new)
