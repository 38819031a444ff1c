"""Scenario files: deterministic price moves and fault windows for end-to-end tests.

Times are offsets from the server start (real time), e.g. ``"90s"``, ``"2m"``, ``"1h"`` or a
number of seconds. Format (all keys optional)::

    {
      "flat": false,                       # true: prices stop moving at the start (only events move them)
      "events": [
        {"pair": "ETH/USDT", "at": "2m", "change_pct": 20},              # a jump; jumps stack (multiply)
        {"pair": "BTC/USDT", "at": "1m", "change_pct": -10, "over": "30s"},  # a linear ramp
        {"outage": {"from": "3m", "to": "4m"}},                          # every request -> 503
        {"frozen": {"from": "5m", "to": "6m"}},                          # tickers/klines stop advancing
        {"latency": {"from": "0s", "to": "1m", "ms": 300, "paths": ["/api/v3/depth"]}}
      ]
    }
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from smartpf.errors import ReplaySetupError

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, None: 1000}


class ScenarioError(ReplaySetupError):
    """The scenario file is invalid; the message says where and what is allowed."""


def parse_duration(value: object, where: str) -> int:
    """``"2m"`` / ``"90s"`` / ``"1h"`` / ``"500ms"`` / a number of seconds -> milliseconds."""
    if isinstance(value, bool):
        raise ScenarioError(f"{where}: {value!r} is not a duration (use e.g. \"90s\", \"2m\", \"1h\" or seconds)")
    if isinstance(value, int | float):
        if value < 0:
            raise ScenarioError(f"{where}: {value!r} must not be negative")
        return int(round(value * 1000))
    m = _DURATION_RE.match(str(value))
    if not m:
        raise ScenarioError(f"{where}: {value!r} is not a duration (use e.g. \"90s\", \"2m\", \"1h\" or seconds)")
    return int(round(float(m.group(1)) * _UNIT_MS[m.group(2)]))


@dataclass(frozen=True)
class PriceEvent:
    """Multiply a pair's prices by (1 + change_pct/100) from ``at`` on, linearly over ``over`` ms."""

    symbol: str
    at_ms: int
    change_pct: float
    over_ms: int = 0

    def factor(self, t_rel: int) -> float:
        if t_rel < self.at_ms:
            return 1.0
        if self.over_ms <= 0 or t_rel >= self.at_ms + self.over_ms:
            return 1.0 + self.change_pct / 100.0
        return 1.0 + self.change_pct / 100.0 * (t_rel - self.at_ms) / self.over_ms


@dataclass(frozen=True)
class Window:
    """A fault window [from, to) relative to the server start; ``ms``/``paths`` only for latency."""

    kind: str
    from_ms: int
    to_ms: int
    ms: int = 0
    paths: tuple[str, ...] | None = None

    def active(self, t_rel: int) -> bool:
        return self.from_ms <= t_rel < self.to_ms


@dataclass(frozen=True)
class Scenario:
    flat: bool = False
    events: tuple[PriceEvent, ...] = ()
    windows: tuple[Window, ...] = ()
    by_symbol: dict[str, tuple[PriceEvent, ...]] = field(default_factory=dict)

    @property
    def moves_prices(self) -> bool:
        return self.flat or bool(self.events)

    def multiplier(self, symbol: str, t_rel: int) -> float:
        """Product of the factors of every event of ``symbol`` at ``t_rel`` ms after the start."""
        m = 1.0
        for ev in self.by_symbol.get(symbol, ()):
            m *= ev.factor(t_rel)
        return m

    def breakpoints(self, symbol: str, lo: int, hi: int) -> list[int]:
        """Relative instants in (lo, hi) where the multiplier of ``symbol`` changes slope or jumps."""
        pts = []
        for ev in self.by_symbol.get(symbol, ()):
            for t in (ev.at_ms, ev.at_ms + ev.over_ms):
                if lo < t < hi:
                    pts.append(t)
        return pts

    def multiplier_range(self, symbol: str, lo: int, hi: int) -> tuple[float, float, float, float]:
        """(at lo, at hi, min, max) of the multiplier over [lo, hi]; jumps count on both sides."""
        if symbol not in self.by_symbol:
            return 1.0, 1.0, 1.0, 1.0
        samples = [self.multiplier(symbol, lo), self.multiplier(symbol, hi)]
        for t in self.breakpoints(symbol, lo, hi + 1):
            samples += [self.multiplier(symbol, t - 1), self.multiplier(symbol, t)]
        return samples[0], samples[1], min(samples), max(samples)

    def active(self, kind: str, t_rel: int) -> list[Window]:
        return [w for w in self.windows if w.kind == kind and w.active(t_rel)]


def _symbol(pair: object, where: str) -> str:
    if not isinstance(pair, str) or not pair.strip():
        raise ScenarioError(f"{where}.pair: must be a pair like \"ETH/USDT\"")
    return pair.strip().upper().replace("/", "").replace("_", "").replace("-", "")


def _window(kind: str, spec: object, where: str) -> Window:
    if not isinstance(spec, dict):
        raise ScenarioError(f"{where}.{kind}: must be an object like {{\"from\": \"3m\", \"to\": \"4m\"}}")
    if "from" not in spec or "to" not in spec:
        raise ScenarioError(f"{where}.{kind}: needs both \"from\" and \"to\"")
    lo = parse_duration(spec["from"], f"{where}.{kind}.from")
    hi = parse_duration(spec["to"], f"{where}.{kind}.to")
    if hi <= lo:
        raise ScenarioError(f"{where}.{kind}: \"to\" must be after \"from\"")
    ms, paths = 0, None
    if kind == "latency":
        raw = spec.get("ms")
        if isinstance(raw, bool) or not isinstance(raw, int | float) or raw < 0:
            raise ScenarioError(f"{where}.latency.ms: must be a number of milliseconds >= 0")
        ms = int(raw)
        if spec.get("paths") is not None:
            if not isinstance(spec["paths"], list) or not all(isinstance(p, str) for p in spec["paths"]):
                raise ScenarioError(f"{where}.latency.paths: must be a list of paths like \"/api/v3/depth\"")
            paths = tuple(spec["paths"])
    return Window(kind, lo, hi, ms, paths)


def parse_scenario(body: object, known_symbols: set[str] | None = None) -> Scenario:
    """Validate a scenario (already JSON-decoded); ScenarioError names the bad entry."""
    if not isinstance(body, dict):
        raise ScenarioError("scenario: must be a JSON object with \"events\" and/or \"flat\"")
    unknown = set(body) - {"flat", "events", "description", "comment"}
    if unknown:
        raise ScenarioError(f"scenario: unknown key(s) {sorted(unknown)}; allowed: flat, events, description")
    flat = body.get("flat", False)
    if not isinstance(flat, bool):
        raise ScenarioError("scenario.flat: must be true or false")
    raw_events = body.get("events", [])
    if not isinstance(raw_events, list):
        raise ScenarioError("scenario.events: must be a list")
    events: list[PriceEvent] = []
    windows: list[Window] = []
    for i, ev in enumerate(raw_events):
        where = f"scenario.events[{i}]"
        if not isinstance(ev, dict):
            raise ScenarioError(f"{where}: must be an object")
        kinds = [k for k in ("outage", "frozen", "latency") if k in ev]
        if kinds:
            if len(kinds) > 1 or "pair" in ev:
                raise ScenarioError(f"{where}: one of pair/outage/frozen/latency per event")
            windows.append(_window(kinds[0], ev[kinds[0]], where))
            continue
        symbol = _symbol(ev.get("pair"), where)
        if known_symbols is not None and symbol not in known_symbols:
            raise ScenarioError(f"{where}.pair: {ev.get('pair')!r} is not a served pair")
        pct = ev.get("change_pct")
        if isinstance(pct, bool) or not isinstance(pct, int | float) or pct <= -100:
            raise ScenarioError(f"{where}.change_pct: must be a number > -100 (percent)")
        if "at" not in ev:
            raise ScenarioError(f"{where}.at: missing (e.g. \"2m\" after the server start)")
        over = parse_duration(ev.get("over", 0), f"{where}.over")
        events.append(PriceEvent(symbol, parse_duration(ev["at"], f"{where}.at"), float(pct), over))
    by_symbol: dict[str, list[PriceEvent]] = {}
    for ev in events:
        by_symbol.setdefault(ev.symbol, []).append(ev)
    return Scenario(flat, tuple(events), tuple(windows), {k: tuple(v) for k, v in by_symbol.items()})


def load_scenario(path: Path, known_symbols: set[str] | None = None) -> Scenario:
    try:
        body = json.loads(Path(path).read_text())
    except FileNotFoundError as e:
        raise ScenarioError(f"--scenario {path}: file not found") from e
    except (OSError, ValueError) as e:
        raise ScenarioError(f"--scenario {path}: not a readable JSON file ({e})") from e
    try:
        return parse_scenario(body, known_symbols)
    except ScenarioError as e:
        raise ScenarioError(f"--scenario {path}: {e}") from e
