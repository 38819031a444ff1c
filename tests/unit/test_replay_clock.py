"""Pure tests of the replay clock's time shift and the intra-candle price model."""

from hypothesis import given
from hypothesis import strategies as st

from smartpf.replay.exchange.clock import (
    compute_shift,
    default_start,
    history_clock,
    parse_iso,
    partial_candle,
    path_price,
    replay_clock,
)

H = 3_600_000
M = 60_000


def test_shift_is_a_whole_number_of_the_alignment_and_lands_now_after_start():
    start = parse_iso("2026-03-24T05:00:00Z")
    now = parse_iso("2026-11-25T21:41:17.250Z")
    shift = compute_shift(now, start, H)
    assert shift % H == 0
    assert start <= now - shift < start + H
    # minutes and seconds of "now" are kept, so 1m/5m/15m/1h boundaries coincide
    assert (now - shift) % M == now % M


@given(st.integers(0, 2**41), st.integers(0, 2**41), st.sampled_from([M, 5 * M, 15 * M, H]))
def test_shift_property(now, start, align):
    shift = compute_shift(now, start, align)
    assert shift % align == 0
    assert start <= now - shift < start + align


def test_clock_mapping_round_trips():
    c = replay_clock(started_ms=10 * H + 123, start_hist_ms=2 * H, align_ms=H)
    assert c.replay and c.shift_ms == 8 * H
    assert c.to_real(c.to_hist(777)) == 777
    assert c.visible_until_hist(10 * H + 123) == 2 * H + 123
    h = history_clock(5)
    assert not h.replay and h.shift_ms == 0 and h.visible_until_hist(5) > 2**60


def test_default_start_has_warmup_and_is_aligned():
    firsts, ends = [parse_iso("2026-03-23T12:09Z")] * 2, [parse_iso("2026-04-22T12:08Z")] * 2
    start = default_start(firsts, ends, M, 1000, H)
    assert start % H == 0
    assert start >= firsts[0] + 1000 * M
    assert start - (firsts[0] + 1000 * M) < H


def test_default_start_shrinks_warmup_for_short_data():
    start = default_start([0], [100 * M], M, 1000, M)
    assert 0 < start < 100 * M


def test_path_price_endpoints_and_order():
    assert path_price(10, 12, 9, 11, 0.0) == 10
    assert path_price(10, 12, 9, 11, 1.0) == 11
    assert path_price(10, 12, 9, 11, 1 / 3) == 9  # rising candle dips to the low first
    assert path_price(10, 12, 9, 8, 1 / 3) == 12  # falling candle visits the high first


candles = st.tuples(st.floats(1, 1e5), st.floats(1, 1e5), st.floats(1, 1e5), st.floats(1, 1e5)).map(
    lambda t: (t[0], max(t), min(t), t[3]))


@given(candles, st.floats(0, 1), st.floats(0, 1e6))
def test_partial_candle_never_leaves_the_real_candle(c, f, v):
    o, h, low, close = c
    po, ph, pl, pc, pv = partial_candle(o, h, low, close, v, f)
    eps = 1e-9 * h
    assert po == o
    assert low - eps <= pl <= pc + eps and pc - eps <= ph <= h + eps
    assert pl <= o + eps and ph >= o - eps
    assert 0 <= pv <= v + 1e-9


def test_partial_candle_at_end_is_the_real_candle():
    assert partial_candle(10, 12, 9, 11, 5, 1.0) == (10, 12, 9, 11, 5)
    assert partial_candle(10, 12, 9, 11, 6, 0.0) == (10, 10, 10, 10, 0)


def test_parse_iso_variants():
    assert parse_iso("2026-04-01") == parse_iso("2026-04-01T00:00:00Z") == parse_iso("2026-04-01T02:00+02:00")
