"""Fault injection: random failures, latency, outage and frozen prices, switchable at run time; and the
faults of order placement (the front's order request), where the exchange may act although the bot hears
nothing: a lost answer (the order is accepted and filled, then the connection is closed without an
answer), 5xx, 429 with ``Retry-After``, -1021 (a timestamp outside the receive window), and an order that
expires after its first partial fill.

A failure is (HTTP status, error kind, message): the kinds are the plumbing's (``protocols.front``), and the
front of ``--protocol`` answers each in its exchange's shape and codes.

One ``Faults`` object is shared by the request threads; every change goes through ``update`` so the
admin endpoint and the command line validate the same way.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from smartpf.errors import ReplaySetupError
from smartpf.replay.protocols.front import INTERNAL, OVERLOADED, RATE_LIMIT, TIMESTAMP

# The injected failures: (HTTP status, error kind, message).
FAILURES: tuple[tuple[int, str, str], ...] = (
    (500, INTERNAL, "Internal error; unable to process your request. Please try again."),
    (503, OVERLOADED, "Server is currently overloaded with other requests. Please try again in a few minutes."),
    (429, RATE_LIMIT, "Too much request weight used; current limit is 6000 request weight per 1 MINUTE. "
                 "Please use WebSocket Streams for live updates to avoid polling the API."),
)
OUTAGE = (503, OVERLOADED, "Service unavailable (smartpf replay: outage).")
# Failures of order placement, chosen by name (``order_errors``); the exchange does not act on these.
ORDER_ERRORS: dict[str, tuple[int, str, str]] = {
    "5xx": (503, OVERLOADED, "Server is currently overloaded with other requests. Please try again in a few minutes."),
    "429": (429, RATE_LIMIT, "Too many requests; current limit of IP is 6000 requests per minute."),
    "-1021": (400, TIMESTAMP, "Timestamp for this request is outside of the recvWindow."),
}


class FaultError(ReplaySetupError):
    """A fault setting is out of range; the message names it and what is allowed."""


@dataclass(frozen=True)
class Failure:
    status: int
    code: str  # the error kind (protocols.front)
    msg: str


def _rate(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
        raise FaultError(f"{name} {value!r}: must be a number between 0 and 1")
    return float(value)


def _ms(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value > 600_000:
        raise FaultError(f"{name} {value!r}: must be a number of milliseconds between 0 and 600000")
    return int(value)


class Faults:
    """Thread-safe fault settings. ``frozen_at`` is the real ms at which prices were frozen."""

    def __init__(self, fail_rate: float = 0.0, latency_ms: int = 0, latency_paths: list[str] | None = None,
                 seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self.fail_rate = _rate(fail_rate, "--fail-rate")
        self.latency_ms = _ms(latency_ms, "--latency")
        self.latency_paths: tuple[str, ...] | None = tuple(latency_paths) if latency_paths else None
        self.seed = seed
        self._rng = random.Random(seed)
        self.outage = False
        self.frozen_at: int | None = None
        self.injected = 0
        self.lost_response_rate = 0.0  # order placement: acted on, answer never sent
        self.order_error_rate = 0.0    # order placement: refused with one of ``order_errors``
        self.order_errors: tuple[str, ...] = tuple(ORDER_ERRORS)
        self.expire_after_partial = False  # market orders fill one part, the rest expires
        self.answer_delay_ms = 0  # order placement: acted on at once, answered this much later
        self.lost = 0
        self.order_failures = 0

    def update(self, changes: dict, now_ms: int) -> None:
        """Apply admin changes: outage, frozen (bool), latency_ms, latency_paths, fail_rate, seed."""
        allowed = {"outage", "frozen", "latency_ms", "latency_paths", "fail_rate", "seed", "lost_response_rate",
                   "order_error_rate", "order_errors", "expire_after_partial", "answer_delay_ms"}
        unknown = set(changes) - allowed
        if unknown:
            raise FaultError(f"unknown fault setting(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
        for key in ("outage", "frozen", "expire_after_partial"):
            if key in changes and not isinstance(changes[key], bool):
                raise FaultError(f"{key} {changes[key]!r}: must be true or false")
        rate = _rate(changes["fail_rate"], "fail_rate") if "fail_rate" in changes else None
        lost = _rate(changes["lost_response_rate"], "lost_response_rate") if "lost_response_rate" in changes else None
        order_rate = _rate(changes["order_error_rate"], "order_error_rate") if "order_error_rate" in changes else None
        kinds = changes.get("order_errors")
        if kinds is not None and (not isinstance(kinds, list) or not kinds
                                  or not all(k in ORDER_ERRORS for k in kinds)):
            raise FaultError(f"order_errors {kinds!r}: must be a non-empty list of {sorted(ORDER_ERRORS)}")
        latency = _ms(changes["latency_ms"], "latency_ms") if "latency_ms" in changes else None
        delay = _ms(changes["answer_delay_ms"], "answer_delay_ms") if "answer_delay_ms" in changes else None
        paths = changes.get("latency_paths")
        if paths is not None and (not isinstance(paths, list) or not all(isinstance(p, str) for p in paths)):
            raise FaultError(f"latency_paths {paths!r}: must be a list of paths like \"/api/v3/depth\" or null")
        seed = changes.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise FaultError(f"seed {seed!r}: must be an integer")
        with self._lock:
            if "outage" in changes:
                self.outage = changes["outage"]
            if "frozen" in changes:
                if changes["frozen"] and self.frozen_at is None:
                    self.frozen_at = now_ms
                elif not changes["frozen"]:
                    self.frozen_at = None
            if rate is not None:
                self.fail_rate = rate
            if lost is not None:
                self.lost_response_rate = lost
            if order_rate is not None:
                self.order_error_rate = order_rate
            if kinds is not None:
                self.order_errors = tuple(kinds)
            if delay is not None:
                self.answer_delay_ms = delay
            if "expire_after_partial" in changes:
                self.expire_after_partial = changes["expire_after_partial"]
            if latency is not None:
                self.latency_ms = latency
            if "latency_paths" in changes:
                self.latency_paths = tuple(paths) if paths else None
            if "seed" in changes:
                self.seed = seed
                self._rng = random.Random(seed)

    def latency_for(self, path: str) -> int:
        paths = self.latency_paths
        return self.latency_ms if paths is None or path in paths else 0

    def draw_failure(self) -> Failure | None:
        """With probability fail_rate, one of the 5xx/429 failures (seeded)."""
        if self.fail_rate <= 0.0:
            return None
        with self._lock:
            if self._rng.random() >= self.fail_rate:
                return None
            self.injected += 1
            return Failure(*self._rng.choice(FAILURES))

    def draw_order_error(self) -> Failure | None:
        """For an order placement: with probability order_error_rate, one of ``order_errors`` (seeded)."""
        if self.order_error_rate <= 0.0:
            return None
        with self._lock:
            if self._rng.random() >= self.order_error_rate:
                return None
            self.order_failures += 1
            return Failure(*ORDER_ERRORS[self._rng.choice(self.order_errors)])

    def draw_lost(self) -> bool:
        """For an order placement once the order is placed: is its answer lost (seeded)?"""
        if self.lost_response_rate <= 0.0:
            return False
        with self._lock:
            if self._rng.random() >= self.lost_response_rate:
                return False
            self.lost += 1
            return True

    def snapshot(self) -> dict:
        return {
            "outage": self.outage,
            "frozen": self.frozen_at is not None,
            "frozen_at": self.frozen_at,
            "latency_ms": self.latency_ms,
            "latency_paths": list(self.latency_paths) if self.latency_paths else None,
            "fail_rate": self.fail_rate,
            "seed": self.seed,
            "failures_injected": self.injected,
            "lost_response_rate": self.lost_response_rate,
            "order_error_rate": self.order_error_rate,
            "order_errors": list(self.order_errors),
            "expire_after_partial": self.expire_after_partial,
            "answer_delay_ms": self.answer_delay_ms,
            "responses_lost": self.lost,
            "order_errors_injected": self.order_failures,
        }
