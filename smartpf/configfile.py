"""Read Freqtrade config files the way Freqtrade does: comments and trailing commas allowed,
several files merged in order (later files override earlier ones, objects merged key by key)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import rapidjson

PARSE_MODE = rapidjson.PM_COMMENTS | rapidjson.PM_TRAILING_COMMAS


class ConfigError(Exception):
    """A config file that cannot be read; the message names the file and what is wrong."""


class _Object(dict):
    """A JSON object that remembers keys written twice (JSON itself silently keeps the last)."""

    duplicates: list[tuple[str, str]]


class _Decoder(rapidjson.Decoder):
    def start_object(self) -> list:
        return []

    def end_object(self, pairs: list) -> _Object:
        obj = _Object()
        obj.duplicates = []
        for key, value in pairs:
            if key in obj:
                obj.duplicates.append((key, key))
            obj[key] = value
        return obj


_decode = _Decoder(parse_mode=PARSE_MODE)


def _line_col(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def load_config_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {str(path)!r} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {str(path)!r} cannot be read: {exc}") from exc
    try:
        data = _decode(text)
    except RecursionError as exc:
        raise ConfigError(f"config file {str(path)!r} is nested too deeply to be a config ({exc})") from exc
    except (rapidjson.JSONDecodeError, ValueError) as exc:
        message = str(exc)
        where = ""
        if "offset" in message:
            try:
                offset = int(message.split("offset")[1].split(":")[0].strip())
                line, col = _line_col(text, offset)
                where = f" at line {line}, column {col}"
            except (ValueError, IndexError):
                pass
        detail = message.split(":", 1)[-1].strip()
        raise ConfigError(f"config file {str(path)!r} is not valid JSON{where}: {detail}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(path)!r} must contain a JSON object {{...}}")
    return data


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` wins; nested objects are merged key by key (Freqtrade's deep_merge_dicts)."""
    merged = _Object(base)
    merged.duplicates = list(getattr(base, "duplicates", []))
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    merged.duplicates.extend(getattr(override, "duplicates", []))
    return merged


def load_configs(paths: Sequence[str | Path]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for path in paths:
        config = deep_merge(config, load_config_file(path))
    return config
