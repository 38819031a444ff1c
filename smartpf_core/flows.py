"""Money that flows in, and weights that are not written by hand (issue 28, options 4 and 6).

* ``inflow: "underweight"`` (``smartpf add --underweight-only`` writes it): a deposit buys only the coins under
  their target, the furthest under first, and never sells. The plain deposit (``inflow: "target"``, the default)
  scales every coin's shortfall by the same factor; the underweight one fills the shortfalls like water fills a
  basin: every coin is raised to the same fraction of its target, the lowest first (``fill_targets``).
* ``recurring: {"amount": 100, "every": "7d"}``: every ``every`` after the start, ``amount`` of the stake currency
  already in the account (its free balance) joins the portfolio and is bought underweight-only. Live, a deposit the
  free balance cannot cover is skipped with a reason (never money the account does not have).
* ``weights: "fixed" | "equal" | "inverse_volatility"``: ``fixed`` (the default) takes the percentages of
  ``assets``; ``equal`` gives each coin of ``assets`` (an object or a list of coins) the same weight;
  ``inverse_volatility`` starts equal and recomputes the weights at each rebalance (``volatility.py``).

The settings are parsed here (``parse_flow_settings``), apart from the rest of ``spec``, so that each option's
check stays in one place. Everything is pure: no clock, no file.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .intervals import parse_interval

INFLOWS = ("target", "underweight")
WEIGHTINGS = ("fixed", "equal", "inverse_volatility")
FLOW_KEYS = ("inflow", "recurring", "weights", "volatility_window", "stale_after", "frozen", "dropped")
DEFAULT_VOLATILITY_WINDOW = 30 * 86400
MIN_RECURRING_EVERY = 3600  # seconds: a deposit at most every hour
_MAX_AMOUNT = 1e12


@dataclass(frozen=True)
class Recurring:
    """A deposit of ``amount`` (stake currency) every ``every`` seconds after the portfolio started."""

    amount: float
    every: int

    def due_count(self, started_at: float, now: float) -> int:
        """How many deposits are due by ``now``: one at each full ``every`` after the start (none at the start)."""
        return max(0, math.floor((now - started_at) / self.every + 1e-9))

    def next_time(self, started_at: float, done: int) -> float:
        """When deposit number ``done + 1`` is due."""
        return started_at + (done + 1) * self.every - 1e-9 * self.every


@dataclass(frozen=True)
class FlowSettings:
    inflow: str = "target"
    recurring: Recurring | None = None
    weighting: str = "fixed"
    stale_after: int | None = None
    frozen: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    volatility_window: int = DEFAULT_VOLATILITY_WINDOW


def parse_flow_settings(section: Mapping[str, Any], err: Callable[[str, Any, str], None]) -> FlowSettings:
    """The flow options of a ``smart_portfolio`` section; each bad value is reported through ``err``."""
    inflow = section.get("inflow", "target")
    if inflow not in INFLOWS:
        err("inflow", inflow, "must be 'target' (a deposit buys every coin towards its target) or 'underweight' "
                              "(it buys only the coins under their target, the furthest under first)")
        inflow = "target"
    weighting = section.get("weights", "fixed")
    if weighting not in WEIGHTINGS:
        err("weights", weighting, "must be 'fixed' (the percentages in assets), 'equal' (the same weight for "
                                  "each coin of assets) or 'inverse_volatility' (a calmer coin gets more)")
        weighting = "fixed"
    return FlowSettings(str(inflow), _recurring(section.get("recurring"), err), str(weighting),
                        _stale_after(section.get("stale_after"), err), _coins_out(section, "frozen", err),
                        _coins_out(section, "dropped", err), _volatility_window(section.get("volatility_window"), err))


def _volatility_window(raw: Any, err: Callable[[str, Any, str], None]) -> int:
    if raw is None:
        return DEFAULT_VOLATILITY_WINDOW
    allowed = "must be a duration of 3 days or more, in days (e.g. '30d' or '4w'): the daily prices the " \
              "inverse-volatility weights are computed over"
    try:
        seconds = parse_interval(raw)
    except ValueError:
        err("volatility_window", raw, allowed)
        return DEFAULT_VOLATILITY_WINDOW
    if seconds < 3 * 86400 or seconds % 86400:
        err("volatility_window", raw, allowed)
        return DEFAULT_VOLATILITY_WINDOW
    return seconds


def _stale_after(raw: Any, err: Callable[[str, Any, str], None]) -> int | None:
    if raw is None:
        return None
    allowed = ("must be a duration such as '6h' or '2d' (a coin without a price for longer is frozen out of the "
               "weights), at least 1m, or null to wait for its price")
    try:
        seconds = parse_interval(raw)
    except ValueError:
        err("stale_after", raw, allowed)
        return None
    if seconds < 60:
        err("stale_after", raw, allowed)
        return None
    return seconds


_OUT = {
    "frozen": "must be a list of coins the portfolio keeps out of its weights and never trades (written by "
              "smartpf set --drop COIN), none of them in assets",
    "dropped": "must be a list of coins taken out of the weights that the bot sells when their market has a price "
               "(written by smartpf set --drop COIN --sell), none of them in assets",
}


def _coins_out(section: Mapping[str, Any], key: str, err: Callable[[str, Any, str], None]) -> tuple[str, ...]:
    """``frozen`` or ``dropped``: coins out of the weights (their pairs may stay in the whitelist)."""
    raw = section.get(key)
    if raw is None or raw == []:
        return ()
    allowed = _OUT[key]
    assets = section.get("assets")
    named = {str(c).upper() for c in assets} if isinstance(assets, Mapping | list) else set()
    if not isinstance(raw, list) or not all(isinstance(c, str) and c.strip() for c in raw):
        err(key, raw, allowed)
        return ()
    coins = tuple(dict.fromkeys(c.strip().upper() for c in raw))
    if named & set(coins):
        err(key, raw, allowed)
        return ()
    return coins


def drop_coin(assets: Mapping[str, float], coin: str) -> dict[str, float]:
    """``assets`` without ``coin``, its percentage shared over the others pro rata (``smartpf set --drop``).
    Raises ValueError naming what is wrong (the coin is not in assets, or too few coins would be left)."""
    upper = {str(c).upper(): c for c in assets}
    key = upper.get(coin.upper())
    if key is None:
        raise ValueError(f"--drop {coin}: not a coin of the portfolio ({', '.join(map(str, assets))})")
    rest = {c: float(p) for c, p in assets.items() if c != key}
    if len(rest) < 2:
        raise ValueError(f"--drop {coin}: a portfolio needs at least 2 coins; {len(rest)} would be left "
                         "(terminate it instead: smartpf terminate --sell or --keep)")
    total = sum(rest.values())
    return {c: p * 100.0 / total for c, p in rest.items()}


def _recurring(raw: Any, err: Callable[[str, Any, str], None]) -> Recurring | None:
    if raw is None:
        return None
    example = 'e.g. {"amount": 100, "every": "7d"}, or null for none'
    if not isinstance(raw, Mapping) or set(raw) != {"amount", "every"}:
        err("recurring", raw, f"must be an object with 'amount' and 'every', {example}")
        return None
    amount = raw["amount"]
    ok_amount = (not isinstance(amount, bool) and isinstance(amount, int | float) and math.isfinite(amount)
                 and 0 < amount <= _MAX_AMOUNT)
    if not ok_amount:
        err("recurring.amount", amount, f"must be a number of the stake currency greater than 0 and at most "
                                        f"{_MAX_AMOUNT:g}")
    try:
        every = parse_interval(raw["every"])
    except ValueError as exc:
        err("recurring.every", raw["every"], str(exc))
        return None
    if every < MIN_RECURRING_EVERY:
        err("recurring.every", raw["every"], "must be at least 1h (a deposit at most every hour)")
        return None
    return Recurring(float(amount), every) if ok_amount else None


def equal_assets(raw: Any) -> Any:
    """``assets`` for ``weights: "equal"``: the same percentage for each coin named (an object or a list).
    Anything else is returned as it is, for the assets check to name."""
    coins = list(raw) if isinstance(raw, Mapping | list) else None
    if not coins or not all(isinstance(c, str) for c in coins):
        return raw
    return {c: 100.0 / len(coins) for c in coins}


def fill_targets(targets: Mapping[str, float], held: Mapping[str, float], budget: float) -> dict[str, float]:
    """The value each coin should reach when ``budget`` is spent underweight-only.

    Every coin under its target value is raised to the same fraction ``f`` of its target, the furthest under
    first, with ``f`` as high as the budget allows (at most 1: never above the target); a coin at or above its
    target is not bought. Returns pair -> the value to reach (at least what is held).
    """
    gaps = {p: t for p, t in targets.items() if t > 0 and held.get(p, 0.0) < t}
    if budget <= 0 or not gaps:
        return {p: held.get(p, 0.0) for p in targets}
    # the coins by their fill ratio, lowest first; f rises until the budget is spent
    order = sorted(gaps, key=lambda p: (held.get(p, 0.0) / gaps[p], p))
    level = 1.0
    base = 0.0  # the sum of the targets of the coins raised so far
    have = 0.0  # what those coins hold
    for k, pair in enumerate(order):
        base += gaps[pair]
        have += held.get(pair, 0.0)
        nxt = held.get(order[k + 1], 0.0) / gaps[order[k + 1]] if k + 1 < len(order) else 1.0
        f = (budget + have) / base
        if f <= nxt:
            level = min(1.0, f)
            break
    return {p: max(held.get(p, 0.0), level * targets[p]) if p in gaps else held.get(p, 0.0) for p in targets}
