"""Read Freqtrade config files the way Freqtrade does: comments and trailing commas allowed,
several files merged in order (later files override earlier ones, objects merged key by key), each file's
``add_config_files`` under it, and ``FREQTRADE__SECTION__KEY`` environment variables over everything.

The merge is Freqtrade's own loader (``freqtrade.configuration.load_config.load_from_files`` and its
environment reader) when Freqtrade is installed; every file is parsed here first, for one-line messages
with the line and column, and to catch a coin listed twice (JSON itself keeps the last silently).
Without Freqtrade (the backtest-only install) the same order is applied here, environment included."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import rapidjson

from smartpf.errors import SmartpfError

PARSE_MODE = rapidjson.PM_COMMENTS | rapidjson.PM_TRAILING_COMMAS


class ConfigError(SmartpfError):
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


MAX_DEPTH = 5  # of add_config_files, as Freqtrade ("Config loop detected")
ENV_PREFIX = "FREQTRADE__"


def config_files(paths: Sequence[str | Path]) -> list[tuple[Path, dict[str, Any]]]:
    """Every file that makes up the config, each parsed, lowest precedence first: for each ``-c`` file in
    order, the files of its ``add_config_files`` (relative to it, recursively), then the file itself."""
    out: list[tuple[Path, dict[str, Any]]] = []

    def walk(path: Path, level: int) -> None:
        if level > MAX_DEPTH:
            raise ConfigError(f"config file {str(path)!r}: add_config_files nested more than {MAX_DEPTH} deep "
                              "(a loop?)")
        data = load_config_file(path)
        subs = data.get("add_config_files")
        if subs is not None:
            if not isinstance(subs, list) or not all(isinstance(s, str) for s in subs):
                raise ConfigError(f"config file {str(path)!r}: add_config_files must be a list of file names")
            for sub in subs:
                walk(path.resolve().parent / sub, level + 1)
        out.append((path, data))

    for path in paths:
        walk(Path(path), 0)
    return out


def environment_overrides() -> dict[str, Any]:
    """``FREQTRADE__SECTION__KEY=value`` variables as Freqtrade reads them (its own reader when installed)."""
    try:
        from freqtrade.configuration.environment_vars import environment_vars_to_dict
    except ImportError:
        nested: dict[str, Any] = {}
        for name, raw in sorted(os.environ.items()):
            if not name.startswith(ENV_PREFIX):
                continue
            parts = [p.lower() for p in name[len(ENV_PREFIX):].split("__")]
            value: Any = raw
            for cast in (int, float):
                try:
                    value = cast(raw)
                    break
                except ValueError:
                    continue
            else:
                value = {"true": True, "t": True, "false": False, "f": False}.get(raw.lower(), raw)
            for part in reversed(parts):
                value = {part: value}
            nested = deep_merge(nested, value)
        return nested
    return dict(environment_vars_to_dict())


def load_configs(paths: Sequence[str | Path]) -> dict[str, Any]:
    """The config Freqtrade's ``trade`` would see with these ``-c`` files and this environment."""
    files = config_files(paths)
    try:
        from freqtrade.configuration.load_config import load_from_files
        from freqtrade.misc import deep_merge_dicts
    except ImportError:
        config: dict[str, Any] = {}
        for _path, data in files:
            config = deep_merge(config, data)
        config = deep_merge(config, environment_overrides())
    else:
        try:
            config = load_from_files([str(p) for p in paths])
        except Exception as exc:  # noqa: BLE001 - Freqtrade's own refusal, as one line
            raise ConfigError(f"config files {', '.join(map(str, paths))}: {str(exc).splitlines()[0]}") from exc
        config = deep_merge_dicts(environment_overrides(), config)
    # a coin listed twice in the section in force: keep the parser's note (smartpf_core.spec reads it)
    assets = (config.get("smart_portfolio") or {}).get("assets") if isinstance(config.get("smart_portfolio"),
                                                                             dict) else None
    if isinstance(assets, dict):
        twice = [d for _p, data in files for d in getattr((data.get("smart_portfolio") or {}).get("assets")
                                                           if isinstance(data.get("smart_portfolio"), dict)
                                                           else None, "duplicates", [])]
        if twice:
            marked = _Object(assets)
            marked.duplicates = twice
            config["smart_portfolio"]["assets"] = marked
    return config


def section_file(paths: Sequence[str | Path]) -> Path | None:
    """The file whose ``smart_portfolio`` is in force (the last one in precedence that holds the section)."""
    holding = [path for path, data in config_files(paths) if "smart_portfolio" in data]
    return holding[-1] if holding else None
