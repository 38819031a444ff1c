"""The versioned save / load of a portfolio's state and its migrations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STATE_VERSION = 2  # 2: portfolio_id (order ids carry it); see _MIGRATIONS


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
