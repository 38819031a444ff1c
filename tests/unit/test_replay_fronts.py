"""The replay exchange's fronts: Binance, OKX and XT each answer what the server asks of a ``Front``, and word the
plumbing's neutral error kinds in their own shape; Binance's words are the codes it always answered with."""

from __future__ import annotations

import inspect

import pytest

from smartpf.replay.faults import FAILURES, ORDER_ERRORS, OUTAGE
from smartpf.replay.protocols import front
from smartpf.replay.protocols.binance import BinancePublic
from smartpf.replay.protocols.okx import OkxPublic
from smartpf.replay.protocols.xt import XtPublic

FRONTS = (BinancePublic, OkxPublic, XtPublic)


@pytest.mark.parametrize("cls", FRONTS, ids=lambda c: c.name)
def test_each_front_has_what_the_server_asks(cls):
    for name in ("route", "is_private", "error_body"):
        wanted = list(inspect.signature(getattr(front.Front, name)).parameters)[1:]
        given = [p for p in inspect.signature(getattr(cls, name)).parameters if p != "self"]
        assert given == wanted, (cls.name, name)
    assert isinstance(cls.name, str) and cls.name


@pytest.mark.parametrize("cls", FRONTS, ids=lambda c: c.name)
def test_each_front_words_every_kind(cls):
    for kind in front.KINDS:
        body = cls.error_body(503, kind, "a message")
        assert isinstance(body, dict) and kind not in body.values(), (cls.name, kind, body)


def test_binance_answers_the_faults_with_its_own_codes():
    def code(failure):
        status, kind, msg = failure
        return status, BinancePublic.error_body(status, kind, msg)["code"]

    assert [code(f) for f in FAILURES] == [(500, -1001), (503, -1008), (429, -1003)]
    assert code(OUTAGE) == (503, -1008)
    assert {name: code(f) for name, f in ORDER_ERRORS.items()} == {
        "5xx": (503, -1008), "429": (429, -1003), "-1021": (400, -1021)}
    assert BinancePublic.error_body(400, -1013, "Filter failure")["code"] == -1013  # its own codes pass through


def test_only_binance_has_a_signed_api_here():
    assert BinancePublic.is_private("/api/v3/order") and not BinancePublic.is_private("/api/v3/klines")
    assert not OkxPublic.is_private("/api/v5/trade/order") and not XtPublic.is_private("/v4/order")
