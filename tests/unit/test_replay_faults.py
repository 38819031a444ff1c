"""Fault injection settings: deterministic failure draws and validated runtime changes."""

import pytest

from smartpf.replay.faults import FaultError, Faults
from smartpf.replay.protocols.binance import BinancePublic


def test_fail_rate_is_seeded_and_close_to_the_rate():
    a, b = Faults(fail_rate=0.2, seed=7), Faults(fail_rate=0.2, seed=7)
    draws_a = [a.draw_failure() for _ in range(2000)]
    draws_b = [b.draw_failure() for _ in range(2000)]
    assert draws_a == draws_b
    failures = [d for d in draws_a if d is not None]
    assert 0.15 < len(failures) / 2000 < 0.25
    assert {f.status for f in failures} == {500, 503, 429}
    # each in Binance's words (the default front's): a negative code and a message
    assert all(BinancePublic.error_body(f.status, f.code, f.msg)["code"] < 0 and f.msg for f in failures)
    assert a.snapshot()["failures_injected"] == len(failures)


def test_no_failures_at_rate_zero():
    f = Faults()
    assert all(f.draw_failure() is None for _ in range(100))


def test_runtime_updates():
    f = Faults()
    f.update({"outage": True, "latency_ms": 50, "latency_paths": ["/api/v3/depth"]}, now_ms=1000)
    assert f.outage and f.latency_for("/api/v3/depth") == 50 and f.latency_for("/api/v3/klines") == 0
    f.update({"frozen": True}, now_ms=2000)
    f.update({"frozen": True}, now_ms=3000)  # a second "on" keeps the first freeze instant
    assert f.frozen_at == 2000
    f.update({"frozen": False, "outage": False, "latency_paths": None}, now_ms=4000)
    assert f.frozen_at is None and not f.outage and f.latency_for("/api/v3/klines") == 50


@pytest.mark.parametrize("changes", [{"fail_rate": 1.5}, {"latency_ms": -1}, {"outage": "yes"},
                                     {"bogus": 1}, {"latency_paths": "depth"}, {"seed": 1.5}])
def test_bad_updates_are_refused(changes):
    with pytest.raises(FaultError):
        Faults().update(changes, now_ms=0)


def test_bad_constructor_values():
    with pytest.raises(FaultError, match="--fail-rate"):
        Faults(fail_rate=2)
