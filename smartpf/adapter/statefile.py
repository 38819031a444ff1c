"""The engine state on disk: one JSON file per bot, written atomically (temp file + os.replace)."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any


def state_path(user_data_dir: str | Path, bot_name: str) -> Path:
    """``user_data/smartpf/<bot_name>.json``: two bots on one account never share a file."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", bot_name or "freqtrade") or "freqtrade"
    return Path(user_data_dir) / "smartpf" / f"{safe}.json"


def read_state(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


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
