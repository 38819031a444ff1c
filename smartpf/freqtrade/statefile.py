"""Files beside the trade database: the readable JSON export, and the version-1 state file of old.

The truth is in the trade database (``smartpf.freqtrade.store``). ``portfolio-<id>.json`` is an export for other
tools (``export``), rewritten atomically and never read back (but for the operation number, ``history``).
``<bot_name>.json`` is where smartpf 0.1 kept its state (version 1): it is read once, to import it into a
database that holds its trades.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from smartpf.errors import SmartpfError


class StateFileError(SmartpfError, ValueError):
    """A state file that cannot be read; the message names the file."""


def legacy_path(user_data_dir: str | Path, bot_name: str) -> Path:
    """``user_data/smartpf/<bot_name>.json``: where version 1 kept the state."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", bot_name or "freqtrade") or "freqtrade"
    return Path(user_data_dir) / "smartpf" / f"{safe}.json"


def export_path(user_data_dir: str | Path, portfolio_id: str) -> Path:
    """``user_data/smartpf/portfolio-<id>.json``: named by the portfolio, so two bots never share it."""
    return Path(user_data_dir) / "smartpf" / f"portfolio-{portfolio_id}.json"


def read_state(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``; None if there is no file. Anything else unreadable raises, naming it."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateFileError(f"the state file {path} cannot be read: {exc.strerror or exc}") from exc
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise StateFileError(f"the state file {path} is not UTF-8 text (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        what = "empty" if not raw.strip() else f"not valid JSON ({exc.msg} at line {exc.lineno})"
        raise StateFileError(f"the state file {path} is {what}") from exc
    if not isinstance(data, dict):
        raise StateFileError(f"the state file {path} holds {json.dumps(data)[:40]}, not a smartpf state object")
    return data


def write_state(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, default=str)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
