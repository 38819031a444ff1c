"""Rebalancing options 1-3: whether a due rebalance is worth doing, and how far it moves the coins back.

Each option is off by default; with all of them off, a check rebalances exactly as before.

- ``bands``: a threshold per coin (coins not listed keep ``threshold``), in the unit of ``threshold_type``.
- ``rebalance_to``: ``target`` (default), ``halfway`` (each coin's deviation halved) or ``band_edge`` (every
  deviation shrunk by the same factor, just enough that the coin that strayed furthest, relative to its own
  band, ends at 90 % of it: just inside the edge, so that rounding the amounts down never leaves it outside).
- ``min_benefit``: rebalance only when the expected benefit beats the cost (``true``), or N times it.
  Benefit: what restoring the weights would gain if the prices went back to where the weights were on
  target, to second order ``V * sum((a - w)^2 - (t - w)^2) / w`` over the coins (a actual, w target, t the
  weight the rebalance moves to). Cost: every coin's traded value ``V * |a - t|`` times the fee plus half
  the coin's bid-ask ``spread`` estimate (default 0.1 %).
- ``cooldown``: no rebalance within this duration of the start of the last one.
- ``max_turnover``: the rebalances' traded value over a rolling 30 days stays within this percent of the
  portfolio's value; a rebalance that would exceed it is scaled down to the room left, or waits.

``bands`` and ``rebalance_to`` apply to threshold rebalances; the three gates to threshold and scheduled
ones. A change of target allocations is the user's own request and always rebalances (its trades count
toward ``max_turnover``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .events import Reason
from .intervals import format_interval, parse_interval
from .records import OperationRecord

REBALANCE_TO = ("target", "halfway", "band_edge")
DEFAULT_SPREAD = 0.1  # percent: the bid-ask spread assumed for a coin without an estimate
EDGE = 0.9  # band_edge lands the furthest coin at this share of its band
TURNOVER_WINDOW = 30 * 86400
MAX_MIN_BENEFIT = 1000.0
MAX_TURNOVER = 10000.0  # percent of value per 30 days: 100 x the portfolio
NOT_WORTH_IT = "not_worth_it"
COOLDOWN = "cooldown"
TURNOVER_CAP = "turnover_cap"
HELD_BACK = (NOT_WORTH_IT, COOLDOWN, TURNOVER_CAP)  # the reasons a due rebalance was held back


@dataclass(frozen=True)
class Gate:
    """The options as validated. Coins are upper case; percentages as written."""

    min_benefit: float | None = None
    spread: tuple[tuple[str, float], ...] = ()
    spread_default: float = DEFAULT_SPREAD
    bands: tuple[tuple[str, float], ...] = ()
    rebalance_to: str = "target"
    cooldown: int | None = None
    max_turnover: float | None = None

    @property
    def gates(self) -> bool:
        """Does any gate or partial rebalance apply (bands alone only change when a check fires)?"""
        return (self.min_benefit is not None or self.cooldown is not None or self.max_turnover is not None
                or self.rebalance_to != "target")

    def threshold(self, coin: str, default: float) -> float:
        return dict(self.bands).get(coin, default)

    def spread_of(self, coin: str) -> float:
        return dict(self.spread).get(coin, self.spread_default)

    def to_dict(self) -> dict[str, Any]:
        """Only the options that are on: a spec without them saves exactly as before."""
        out: dict[str, Any] = {}
        if self.min_benefit is not None:
            out["min_benefit"] = self.min_benefit
        if self.spread or self.spread_default != DEFAULT_SPREAD:
            out["spread"] = {"*": self.spread_default, **dict(self.spread)}
        if self.bands:
            out["bands"] = dict(self.bands)
        if self.rebalance_to != "target":
            out["rebalance_to"] = self.rebalance_to
        if self.cooldown is not None:
            out["cooldown"] = format_interval(self.cooldown)
        if self.max_turnover is not None:
            out["max_turnover"] = self.max_turnover
        return out

    @classmethod
    def from_saved(cls, data: Mapping[str, Any]) -> Gate:
        """Inverse of ``to_dict`` for a persisted spec (never re-validated, like the rest of it)."""
        spread = dict(data.get("spread") or {})
        cooldown = data.get("cooldown")
        return cls(
            min_benefit=None if data.get("min_benefit") is None else float(data["min_benefit"]),
            spread=tuple((str(c), float(v)) for c, v in spread.items() if c != "*"),
            spread_default=float(spread.get("*", DEFAULT_SPREAD)),
            bands=tuple((str(c), float(v)) for c, v in dict(data.get("bands") or {}).items()),
            rebalance_to=str(data.get("rebalance_to") or "target"),
            cooldown=None if cooldown is None else (int(cooldown) if isinstance(cooldown, int | float)
                                                    else parse_interval(cooldown)),
            max_turnover=None if data.get("max_turnover") is None else float(data["max_turnover"]),
        )


# ------------------------------------------------------------------ settings (options 1-3)
KEYS = ("min_benefit", "spread", "bands", "rebalance_to", "cooldown", "max_turnover")


def parse_gate(section: Mapping[str, Any], coins: Iterable[str] | None, number: Callable[[Any], float | None],
               err: Callable[[str, Any, str], None]) -> Gate:
    """The options in a ``smart_portfolio`` section; each bad value reported through ``err`` (key, value,
    what is allowed). ``coins``: the portfolio's coins (upper case), ``number``: the spec's number reader."""
    known = None if coins is None else {c.upper() for c in coins}  # None: the assets were bad, skip the check
    raw = section.get("min_benefit")
    min_benefit = None
    if raw is True:
        min_benefit = 1.0
    elif raw is not None and raw is not False:
        n = number(raw)
        if n is None or not 0 < n <= MAX_MIN_BENEFIT:
            err("min_benefit", raw, f"must be true (benefit beats cost), a factor greater than 0 and at most "
                                    f"{MAX_MIN_BENEFIT:g} (benefit beats N times the cost), or false")
        else:
            min_benefit = n

    def per_coin(key: str, low: float, high: float, what: str, allow_default: bool) -> dict[str, float]:
        raw = section.get(key)
        if raw is None:
            return {}
        if allow_default and not isinstance(raw, Mapping):
            raw = {"*": raw}
        if not isinstance(raw, Mapping):
            err(key, raw, f'must be an object of coin to {what}, e.g. {{"BTC": 3, "DOGE": 8}}')
            return {}
        out: dict[str, float] = {}
        for coin, value in raw.items():
            name = str(coin).upper()
            if name != "*" and known is not None and name not in known:
                coins_list = ", ".join(sorted(known))
                err(f"{key}.{coin}", value, f"'{coin}' is not one of the portfolio's coins ({coins_list})")
                continue
            n = number(value)
            if n is None or not (low <= n if allow_default else low < n) or not n < high:
                lowest = f"{low:g} or more" if allow_default else f"greater than {low:g}"
                err(f"{key}.{coin}" if name != "*" else key, value, f"must be {what}, {lowest} and less than {high:g}")
                continue
            out[name] = n
        return out

    bands = per_coin("bands", 0, 100, "a threshold in percent (the unit of threshold_type)", False)
    spread = per_coin("spread", 0, 10, "a bid-ask spread estimate in percent", True)
    rebalance_to = section.get("rebalance_to", "target")
    if rebalance_to not in REBALANCE_TO:
        err("rebalance_to", rebalance_to, "must be 'target' (all the way back), 'halfway' (half of each deviation) "
                                          "or 'band_edge' (just back inside the bands)")
        rebalance_to = "target"
    cooldown = None
    if section.get("cooldown") is not None:
        try:
            cooldown = parse_interval(section["cooldown"])
        except ValueError as exc:
            err("cooldown", section["cooldown"], f"{exc} (no new rebalance within this time after one), or null")
    max_turnover = None
    if section.get("max_turnover") is not None:
        n = number(section["max_turnover"])
        if n is None or not 0 < n <= MAX_TURNOVER:
            err("max_turnover", section["max_turnover"], f"must be a percent of the portfolio's value traded per "
                                                          f"rolling 30 days, greater than 0 and at most "
                                                          f"{MAX_TURNOVER:g}, or null")
        else:
            max_turnover = n
    return Gate(min_benefit=min_benefit, spread=tuple((c, v) for c, v in spread.items() if c != "*"),
                spread_default=spread.get("*", DEFAULT_SPREAD), bands=tuple(bands.items()),
                rebalance_to=rebalance_to, cooldown=cooldown, max_turnover=max_turnover)


# ------------------------------------------------------------------ the rules
def coin_of(pair: str) -> str:
    return pair.split("/")[0]


def partial_targets(actual: Mapping[str, float], weights: Mapping[str, float], factor: float) -> dict[str, float]:
    """Each targeted coin moved ``factor`` of its deviation back to target (0: all the way), normalised to sum
    to 1 (the idle cash and any removed coin's value are invested pro rata); removed coins go to 0."""
    moved = {p: w + factor * (actual.get(p, 0.0) - w) for p, w in weights.items()}
    total = sum(moved.values())
    return {p: v / total for p, v in moved.items()} if total > 0 else dict(weights)


def edge_factor(actual: Mapping[str, float], weights: Mapping[str, float], bands: Mapping[str, float]) -> float:
    """The factor that brings the furthest coin (relative to its band) to ``EDGE`` of its band."""
    worst = max((abs(actual.get(p, 0.0) - w) / bands[p] for p, w in weights.items() if bands.get(p, 0) > 0),
                default=0.0)
    return min(1.0, EDGE / worst) if worst > 0 else 0.0


def volume(actual: Mapping[str, float], targets: Mapping[str, float]) -> float:
    """The value a rebalance from ``actual`` to ``targets`` trades, as a fraction of the portfolio."""
    return sum(abs(actual.get(p, 0.0) - targets.get(p, 0.0)) for p in {*actual, *targets})


def estimate(actual: Mapping[str, float], targets: Mapping[str, float], weights: Mapping[str, float],
             fee: float, spread: Mapping[str, float]) -> tuple[float, float, float]:
    """(benefit, fees, spread cost) of moving ``actual`` to ``targets``, as fractions of the portfolio.
    ``spread``: per pair, the bid-ask spread in percent (half of it is paid per trade)."""
    benefit = sum(((actual.get(p, 0.0) - w) ** 2 - (targets.get(p, 0.0) - w) ** 2) / w
                  for p, w in weights.items() if w > 0)
    traded = {p: abs(actual.get(p, 0.0) - targets.get(p, 0.0)) for p in {*actual, *targets}}
    fees = sum(traded.values()) * fee
    spreads = sum(v * spread.get(p, DEFAULT_SPREAD) / 200.0 for p, v in traded.items())
    return benefit, fees, spreads


def last_rebalance(records: list[OperationRecord]) -> float | None:
    for record in reversed(records):
        if record.kind == "rebalance":
            return record.started_at
    return None


def turnover_since(records: list[OperationRecord], since: float) -> float:
    """The value the rebalances traded at or after ``since`` (the records of a rolling window)."""
    total = 0.0
    for record in reversed(records):
        if record.finished_at is not None and record.finished_at < since:
            break
        if record.kind == "rebalance":
            total += sum(t.value for t in record.trades if t.time >= since)
    return total


def quiet_until(gate: Gate, records: list[OperationRecord]) -> float | None:
    """Before this time no threshold or scheduled rebalance can start (the cooldown), or None."""
    last = last_rebalance(records) if gate.cooldown is not None else None
    return None if last is None or gate.cooldown is None else last + gate.cooldown


def hold_back(gate: Gate, *, weights: Mapping[str, float], actual: Mapping[str, float], value: float,
              fee: float, records: list[OperationRecord], trigger: str, now: float, currency: str,
              bands: Mapping[str, float]) -> tuple[dict[str, float] | None, Reason | None]:
    """For a due rebalance: the weights to move to (None: the targets) or the reason it is held back.
    ``bands``: per targeted pair, its band as a fraction of the portfolio (for ``band_edge``)."""
    if trigger == "targets_changed":
        return None, None
    until = quiet_until(gate, records)
    if until is not None and now < until:
        return None, Reason(COOLDOWN, f"rebalance due, but the cooldown of {format_interval(gate.cooldown or 0)} "
                                      f"after the last one runs for {format_interval(until - now)} more",
                            {"cooldown": gate.cooldown, "until": until})
    targets: dict[str, float] | None = None
    if trigger == "threshold" and gate.rebalance_to != "target":
        factor = 0.5 if gate.rebalance_to == "halfway" else edge_factor(actual, weights, bands)
        targets = partial_targets(actual, weights, factor)
    moving_to = targets if targets is not None else dict(weights)
    if gate.max_turnover is not None:
        used = turnover_since(records, now - TURNOVER_WINDOW)
        cap = gate.max_turnover / 100.0 * value
        room = cap - used
        wanted = volume(actual, moving_to) * value
        if room <= 0.005 * cap:
            return None, Reason(TURNOVER_CAP, f"rebalance due, but the rebalances of the last 30 days traded "
                                              f"{used:.2f} {currency}, the cap max_turnover allows {cap:.2f} "
                                              f"({gate.max_turnover:g} % of the value)",
                                {"used": used, "cap": cap, "wanted": wanted})
        if wanted > room:
            share = room / wanted
            targets = {p: actual.get(p, 0.0) + share * (moving_to.get(p, 0.0) - actual.get(p, 0.0))
                       for p in {*actual, *moving_to}}
            moving_to = targets
    if gate.min_benefit is not None and not any(actual.get(p, 0.0) > 0 and p not in weights for p in actual):
        spreads = {p: gate.spread_of(coin_of(p)) for p in {*actual, *moving_to}}
        gain, fees, spread = estimate(actual, moving_to, weights, fee, spreads)
        benefit, cost = gain * value, (fees + spread) * value
        if benefit < gate.min_benefit * cost:
            times = "" if gate.min_benefit == 1 else f"{gate.min_benefit:g} x "
            return None, Reason(NOT_WORTH_IT, f"rebalance due, but not worth it: expected benefit {benefit:.2f} "
                                              f"{currency} < {times}cost {cost:.2f} {currency} (fees {fees * value:.2f}"
                                              f" + spread {spread * value:.2f})",
                                {"benefit": benefit, "cost": cost, "fees": fees * value, "spread": spread * value,
                                 "min_benefit": gate.min_benefit})
    return targets, None
