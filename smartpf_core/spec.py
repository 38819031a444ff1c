"""The settings contract: ``PortfolioSpec`` and the only place where a setting is checked.

Users write a ``smart_portfolio`` section in their Freqtrade config. ``parse_settings`` turns the
whole config into a frozen ``PortfolioSpec`` or into a list of problems, each naming the key, the
value and what is allowed. Nothing here raises for bad input.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from . import gate as options_1_3
from .flows import DEFAULT_VOLATILITY_WINDOW, FLOW_KEYS, Recurring, equal_assets, parse_flow_settings
from .gate import Gate
from .intervals import UNIT_SECONDS, format_interval, parse_interval
from .threshold import Threshold

SECTION = "smart_portfolio"
MODES = ("proportional", "scheduled")
THRESHOLD_TYPES = ("absolute", "relative")
EXIT_CHOICES = ("sell", "keep")
DEFAULT_FEE = 0.001
SUM_TOLERANCE = 0.01  # percent: allocations must sum to 100 within this
# Upper bounds (README, settings): far above any real portfolio, far below where float sums lose cents
# or overflow (1e308 passed validation once, then the backtest overflowed).
MAX_INVESTMENT = 1e12
MAX_TAKE_PROFIT = 1e6  # percent: the portfolio worth 10,001 times its investment

DEFAULTS: dict[str, Any] = {
    "mode": "proportional",
    "threshold": 1.0,
    "threshold_type": "absolute",
    "check_interval": "1m",
    "interval": "1d",
    "min_trade": 5.0,
    "take_profit": None,
    "stop_loss": None,
    "on_exit": "sell",
    "terminate": None,
    "price_guard": 25.0,
    "generation": 0,
}
# report_every, messages, message_min_value: checked by channels.py (what the bot tells, not how it trades)
KNOWN_KEYS = ("assets", "investment", *DEFAULTS, *FLOW_KEYS, *options_1_3.KEYS, "report_every", "messages",
              "message_min_value")
_COIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_CURRENCY = re.compile(r"^[A-Za-z0-9]{2,20}$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a warning) in the settings."""

    key: str
    value: Any
    allowed: str
    level: str = "error"

    def __str__(self) -> str:
        prefix = "warning: " if self.level == "warning" else ""
        return f"{prefix}{self.key} = {_show(self.value)}: {self.allowed}"


@dataclass(frozen=True)
class PortfolioSpec:
    """Validated settings. Allocations are kept in percent as written; ``weights`` sum to exactly 1."""

    allocations: tuple[tuple[str, float], ...]
    investment: float
    mode: str = "proportional"
    threshold: float = 1.0
    threshold_type: str = "absolute"
    check_interval: int = 60
    interval: int = 86400
    min_trade: float = 5.0
    take_profit: float | None = None
    stop_loss: float | None = None
    on_exit: str = "sell"
    terminate: str | None = None
    price_guard: float | None = 25.0
    generation: int = 0  # the settings change this is: smartpf's commands count it up (Engine.update_spec)
    stake_currency: str = "USDT"
    fee: float = DEFAULT_FEE
    # inflows and weighting (flows.py): each off by default
    inflow: str = "target"
    recurring: Recurring | None = None
    weighting: str = "fixed"
    stale_after: int | None = None  # a basket coin without a price for longer is frozen out of the weights
    frozen: tuple[str, ...] = ()  # coins held but kept out of the weights and never traded (set --drop)
    dropped: tuple[str, ...] = ()  # coins out of the weights, sold by the bot (set --drop --sell)
    volatility_window: int = DEFAULT_VOLATILITY_WINDOW  # seconds (whole days), for inverse_volatility
    gate: Gate = Gate()  # rebalancing options 1-3 (smartpf_core.gate), all off by default
    weights: Mapping[str, float] = field(init=False, repr=False, compare=False)
    _rule: Threshold = field(init=False, repr=False, compare=False)  # (made once: read at every check)

    def __post_init__(self) -> None:
        total = sum(p for _, p in self.allocations)
        weights = {self.pair(c): p / total for c, p in self.allocations}
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "_rule", Threshold(self.threshold, self.threshold_type))

    def pair(self, coin: str) -> str:
        return f"{coin}/{self.stake_currency}"

    @property
    def coins(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.allocations)

    @property
    def pairs(self) -> tuple[str, ...]:
        return tuple(self.weights)

    @property
    def slots(self) -> int:
        """Open trades the portfolio may hold: one per coin, those kept out of the weights (frozen, dropped) too."""
        return len(self.weights) + len(self.frozen) + len(self.dropped)

    @property
    def threshold_rule(self) -> Threshold:
        return self._rule

    def describe_threshold(self) -> str:
        return self.threshold_rule.describe()

    def band(self, pair: str) -> float:
        """Allowed deviation of ``pair``'s weight, as a fraction of the portfolio."""
        return self.threshold_for(pair).band(self.weights.get(pair, 0.0))

    def threshold_for(self, pair: str) -> Threshold:
        """``pair``'s threshold: its own ``bands`` entry, else ``threshold``."""
        if not self.gate.bands:
            return self.threshold_rule
        return Threshold(self.gate.threshold(pair.split("/")[0], self.threshold), self.threshold_type)

    def to_dict(self) -> dict[str, Any]:
        """The ``smart_portfolio`` section that reproduces this spec (plus stake currency and fee)."""
        saved: dict[str, Any] = {
            "assets": dict(self.allocations),
            "investment": self.investment,
            "mode": self.mode,
            "threshold": self.threshold,
            "threshold_type": self.threshold_type,
            "check_interval": format_interval(self.check_interval),
            "interval": format_interval(self.interval),
            "min_trade": self.min_trade,
            "take_profit": self.take_profit,
            "stop_loss": self.stop_loss,
            "on_exit": self.on_exit,
            "terminate": self.terminate,
            "price_guard": self.price_guard,
            "generation": self.generation,
            "stake_currency": self.stake_currency,
            "fee": self.fee,
        }
        saved.update(self.gate.to_dict())  # (only the options that are on)
        if not self.generation:  # a state saved before generations existed loads and saves back byte-identical
            del saved["generation"]
        saved.update(self._flow_dict())
        return saved

    def _flow_dict(self) -> dict[str, Any]:
        """The flow options that are not at their default (so a state without them writes back byte-identical)."""
        out: dict[str, Any] = {}
        if self.inflow != "target":
            out["inflow"] = self.inflow
        if self.recurring is not None:
            out["recurring"] = {"amount": self.recurring.amount, "every": format_interval(self.recurring.every)}
        if self.weighting != "fixed":
            out["weights"] = self.weighting
        if self.volatility_window != DEFAULT_VOLATILITY_WINDOW:
            out["volatility_window"] = format_interval(self.volatility_window)
        if self.stale_after is not None:
            out["stale_after"] = format_interval(self.stale_after)
        if self.frozen:
            out["frozen"] = list(self.frozen)
        if self.dropped:
            out["dropped"] = list(self.dropped)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PortfolioSpec:
        """Inverse of ``to_dict`` for persisted state. It never re-runs the user-facing validation: settings
        accepted once stay readable even if a later version checks them more strictly. Keys it does not
        know are ignored and missing ones take their defaults, so state written by another version loads."""
        assets = data.get("assets")
        if not isinstance(assets, Mapping) or not assets:
            raise ValueError("the persisted settings have no assets")
        values: dict[str, Any] = {"allocations": tuple((str(c), float(p)) for c, p in assets.items()),
                                  "investment": float(data["investment"])}
        for f in fields(cls):
            if not f.init or f.name in values or f.name == "gate" or data.get(f.name) is None:
                continue
            raw = data[f.name]
            if f.name in ("check_interval", "interval", "stale_after", "volatility_window"):
                values[f.name] = _stored_seconds(raw)
            elif f.name in ("frozen", "dropped"):
                values[f.name] = tuple(str(c) for c in raw)
            elif f.name == "recurring":
                values[f.name] = Recurring(float(raw["amount"]), _stored_seconds(raw["every"]))
            elif isinstance(f.default, float) or f.name in ("take_profit", "stop_loss"):
                values[f.name] = float(raw)
            else:
                values[f.name] = raw
        if isinstance(data.get("weights"), str):
            values["weighting"] = data["weights"]
        values["gate"] = Gate.from_saved(data)
        return cls(**values)


def _stored_seconds(value: Any) -> int:
    """A persisted duration: seconds, or text as ``format_interval`` writes it (``4h``, ``1m30s``)."""
    if isinstance(value, int | float):
        return int(value)
    parts = re.findall(r"(\d+)\s*([wdhms])", str(value))
    if not parts:
        raise ValueError(f"unreadable persisted duration {value!r}")
    return sum(int(n) * {"s": 1, **UNIT_SECONDS}[u] for n, u in parts)


@dataclass(frozen=True)
class Validation:
    spec: PortfolioSpec | None
    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return self.spec is not None and not self.errors

    def lines(self) -> list[str]:
        return [str(p) for p in (*self.errors, *self.warnings)]


def _show(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]  # as written in the JSON config
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if value is _MISSING:
        return "(missing)"
    try:
        text = repr(value)
    except (RecursionError, ValueError):  # nested too deep, or an int too long to print
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


class _Missing:
    def __repr__(self) -> str:
        return "(missing)"


_MISSING = _Missing()


def _number(value: Any) -> float | None:
    """A finite real number, or None. Booleans and numeric strings are not numbers here."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer with hundreds of digits
        return None
    return number if math.isfinite(number) else None


def parse_settings(config: Mapping[str, Any]) -> Validation:
    """Validate the ``smart_portfolio`` section of a whole Freqtrade config."""
    errors: list[Problem] = []
    warnings: list[Problem] = []

    def err(key: str, value: Any, allowed: str) -> None:
        errors.append(Problem(f"{SECTION}.{key}" if key else SECTION, value, allowed))

    if not isinstance(config, Mapping):
        return Validation(None, (Problem("config", config, "must be a JSON object"),), ())

    stake = config.get("stake_currency", "USDT")
    if not isinstance(stake, str) or not _CURRENCY.match(stake.strip()):
        errors.append(Problem("stake_currency", stake, "must be a currency such as 'USDT' (letters and digits)"))
        stake = "USDT"
    stake = stake.strip().upper()

    fee_raw = config.get("fee")
    fee = DEFAULT_FEE
    if fee_raw is not None:
        fee_num = _number(fee_raw)
        if fee_num is None or not 0 <= fee_num < 0.1:
            errors.append(Problem("fee", fee_raw, "must be a ratio from 0 up to 0.1, e.g. 0.001 for 0.1 %"))
        else:
            fee = fee_num

    section = config.get(SECTION, _MISSING)
    if section is _MISSING:
        err("", section, "add a 'smart_portfolio' section with at least 'assets' and 'investment'")
        return Validation(None, tuple(errors), ())
    if not isinstance(section, Mapping):
        err("", section, "must be a JSON object with 'assets', 'investment' and optional settings")
        return Validation(None, tuple(errors), ())

    for key in section:
        if key not in KNOWN_KEYS:
            close = difflib.get_close_matches(str(key), KNOWN_KEYS, n=1, cutoff=0.5)
            hint = f"did you mean '{close[0]}'?" if close else f"known settings: {', '.join(KNOWN_KEYS)}"
            err(str(key), section[key], f"unknown setting; {hint}")

    flows = parse_flow_settings(section, err)
    assets_raw = section.get("assets", _MISSING)
    if flows.weighting in ("equal", "inverse_volatility"):
        assets_raw = equal_assets(assets_raw)
    allocations = _parse_assets(assets_raw, stake, err)

    investment_raw = section.get("investment", _MISSING)
    investment = _number(investment_raw)
    if investment is None or not 0 < investment <= MAX_INVESTMENT:
        err("investment", investment_raw, f"must be a number of {stake} greater than 0 and at most "
                                          f"{MAX_INVESTMENT:g}, e.g. 1000")

    values = {k: section.get(k, d) for k, d in DEFAULTS.items()}
    mode = values["mode"]
    if mode not in MODES:
        err("mode", mode, "must be 'proportional' or 'scheduled'")
    threshold_type = values["threshold_type"]
    if threshold_type not in THRESHOLD_TYPES:
        err(
            "threshold_type",
            threshold_type,
            "must be 'absolute' (percentage points) or 'relative' (percent of each target)",
        )
    threshold = _number(values["threshold"])
    if threshold is None or not 0 < threshold < 100:
        err("threshold", values["threshold"], "must be a number greater than 0 and less than 100 (percent)")

    intervals: dict[str, int] = {}
    for key in ("check_interval", "interval"):
        try:
            intervals[key] = parse_interval(values[key])
        except ValueError as exc:
            err(key, values[key], str(exc))

    min_trade = _number(values["min_trade"])
    if min_trade is None or not 0 <= min_trade <= MAX_INVESTMENT:
        err("min_trade", values["min_trade"], f"must be a number of {stake}, 0 or more, at most {MAX_INVESTMENT:g} "
                                              "(default 5)")

    take_profit = values["take_profit"]
    if take_profit is not None:
        tp = _number(take_profit)
        if tp is None or not 0 < tp <= MAX_TAKE_PROFIT:
            err("take_profit", take_profit, f"must be a percent greater than 0 and at most {MAX_TAKE_PROFIT:g}, "
                                            "or null for none")
        take_profit = tp
    stop_loss = values["stop_loss"]
    if stop_loss is not None:
        sl = _number(stop_loss)
        if sl is None or not 0 < sl < 100:
            err("stop_loss", stop_loss, "must be a percent greater than 0 and less than 100, or null for none")
        stop_loss = sl
    if values["on_exit"] not in EXIT_CHOICES:
        err("on_exit", values["on_exit"], "must be 'sell' (sell every coin) or 'keep' (leave the coins)")
    terminate = values["terminate"]
    if terminate == "":
        terminate = None
    if terminate is not None and terminate not in EXIT_CHOICES:
        err("terminate", terminate, "must be 'sell', 'keep', or null to keep the bot running")

    price_guard = values["price_guard"]
    if price_guard is not None:
        guard = _number(price_guard)
        if guard is None or guard <= 0:
            err("price_guard", price_guard, "must be a percent greater than 0 (a price that moved more than this "
                "since the last check waits one check for confirmation), or null to act on every price at once")
        price_guard = guard

    generation = values["generation"]
    if isinstance(generation, bool) or not isinstance(generation, int) or not 0 <= generation <= 2**53:
        err("generation", generation, "must be a whole number 0 or more: the count of settings changes, written by "
                                      "smartpf add/set/terminate (raise it by one to lower the investment by hand)")
        generation = 0

    gate = options_1_3.parse_gate(section, None if allocations is None else [c for c, _ in allocations], _number, err)

    if errors or allocations is None:
        return Validation(None, tuple(errors), ())

    spec = PortfolioSpec(
        allocations=allocations,
        investment=float(investment),  # type: ignore[arg-type]
        mode=mode,
        threshold=float(threshold),  # type: ignore[arg-type]
        threshold_type=threshold_type,
        check_interval=intervals["check_interval"],
        interval=intervals["interval"],
        min_trade=float(min_trade),  # type: ignore[arg-type]
        take_profit=take_profit,
        stop_loss=stop_loss,
        on_exit=values["on_exit"],
        terminate=terminate,
        price_guard=price_guard,
        generation=generation,
        stake_currency=stake,
        fee=fee,
        inflow=flows.inflow,
        recurring=flows.recurring,
        weighting=flows.weighting,
        stale_after=flows.stale_after,
        frozen=flows.frozen,
        dropped=flows.dropped,
        volatility_window=flows.volatility_window,
        gate=gate,
    )
    smallest_coin, smallest = min(spec.allocations, key=lambda a: a[1])
    if spec.threshold_type == "absolute" and spec.threshold >= smallest:
        warnings.append(
            Problem(
                f"{SECTION}.threshold",
                spec.threshold,
                f"an absolute threshold of {spec.threshold:g} points is at least the smallest target "
                f"({smallest_coin} {smallest:g} %): {smallest_coin} could fall to zero without a rebalance",
                level="warning",
            )
        )
    return Validation(spec, (), tuple(warnings))


def _parse_assets(raw: Any, stake: str, err: Any) -> tuple[tuple[str, float], ...] | None:
    example = 'e.g. {"BTC": 50, "ETH": 30, "SOL": 20}'
    if raw is _MISSING:
        err("assets", raw, f"required: coins and their target allocations in percent, {example}")
        return None
    if not isinstance(raw, Mapping):
        err("assets", raw, f"must be an object of coin to allocation in percent, {example}")
        return None
    seen: dict[str, str] = {}
    allocations: list[tuple[str, float]] = []
    ok = True
    for name, duplicate_of in getattr(raw, "duplicates", ()):
        err(f"assets.{name}", raw[name], f"coin '{duplicate_of}' is listed more than once; list each coin once")
        ok = False
    for coin, pct in raw.items():
        key = f"assets.{coin}"
        if not isinstance(coin, str) or not _COIN.match(coin):
            hint = " (write the coin, e.g. 'BTC', not the pair)" if "/" in str(coin) else ""
            err(key, coin, f"must be a coin symbol such as 'BTC'{hint}")
            ok = False
            continue
        upper = coin.upper()
        if upper == stake:
            err(key, pct, f"{stake} is the stake currency (the cash); list only the coins to hold")
            ok = False
            continue
        if upper in seen:
            err(key, pct, f"coin '{upper}' is listed more than once (as '{seen[upper]}' too); list each coin once")
            ok = False
            continue
        seen[upper] = coin
        number = _number(pct)
        if number is None or number <= 0:
            err(key, pct, "must be a target allocation in percent greater than 0")
            ok = False
            continue
        allocations.append((upper, number))
    if len(raw) < 2:
        err("assets", dict(raw), f"needs at least 2 coins, {example}")
        return None
    if not ok:
        return None
    total = sum(p for _, p in allocations)
    if abs(total - 100.0) > SUM_TOLERANCE:
        err("assets", dict(raw), f"allocations sum to {total:g} %; they must sum to 100 %")
        return None
    return tuple(allocations)


def settings_change_problem(in_force: PortfolioSpec, new: PortfolioSpec) -> str | None:
    """Why a running portfolio must not take ``new`` (None: it may). A settings change is applied once and only
    as asked: a file older than the settings in force (a restored backup, a command that gave up after the bot
    took its change) never undoes them, and money leaves the portfolio only when a newer change asks for it, so
    an unrelated reload can never withdraw by itself. smartpf's commands write ``generation`` one above the one
    in force; by hand, raise it by one to lower the investment on purpose."""
    if new.generation < in_force.generation:
        return (f"{SECTION}.generation = {new.generation}: older than the settings in force (generation "
                f"{in_force.generation}): the config file was restored or edited back; the settings in force stay "
                f"(put back generation {in_force.generation} with the portfolio's settings, see smartpf status)")
    if new.investment < in_force.investment and new.generation <= in_force.generation:
        return (f"{SECTION}.investment = {new.investment:g}: lower than the {in_force.investment:g} in force, "
                f"without a newer change (generation {new.generation}, in force {in_force.generation}): a withdrawal "
                f"is applied only when asked (lower it with generation {in_force.generation + 1}); nothing is sold")
    return None
