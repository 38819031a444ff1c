"""Dust: the coins a fee taken in the coin received leaves on the exchange outside every trade.

When a buy pays its fee in the coin it buys (Binance without BNB, OKX), the host books the amount
received net of the fee and floored to the lot step; the remainder (less than one step, plus the part
of a fee the host could not book) stays in the account. It is the portfolio's money: counted in its
value and beside each coin, never as a difference between the exchange and the bot, and sold with
the coin when the exchange accepts the amount.

What counts as dust is bounded by what the portfolio's own orders brought in: the exchange's balance
above the booked amount, but never more than the coins ordered (bought minus sold, before fees) minus
the booked amount. Coins deposited by hand are therefore never counted, and a withdrawal shrinks the
dust first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from .events import Fill
from .market import floor_to_step


def bought_net_of_coin_fee(order_id: str, filled: float, price: float, coin_fee: float, quote_fee: float,
                           when: float) -> Fill:
    """A buy whose fee the exchange took (wholly or partly) in the coin bought: ``filled`` coins were bought at
    ``price``, ``coin_fee`` of them went to the exchange and ``quote_fee`` was paid beside in the quote.

    The portfolio received ``filled - coin_fee`` coins and paid ``filled * price + quote_fee``: booked as that
    amount with the coin fee's value as fee, the cash moves by what was really paid, once (never the coin fee
    again as a quote fee), and the HODL comparison starts from the coins really received. A coin fee that is
    not a part of the fill (0, negative, all of it, not a number) is left out: the fill is booked whole."""
    if not (math.isfinite(coin_fee) and 0.0 < coin_fee < filled):
        return Fill(order_id, filled, price, quote_fee, when)
    return Fill(order_id, filled - coin_fee, price, coin_fee * price + quote_fee, when)


def coin_dust(on_exchange: float, booked: float, ordered: float) -> float:
    """The dust of one coin: ``on_exchange - booked``, clamped to ``[0, ordered - booked]``.

    ``on_exchange``: the account's total balance of the coin (free + locked); ``booked``: the amount
    the host's trades hold; ``ordered``: bought minus sold by the portfolio's orders, fees included.
    """
    if not all(math.isfinite(x) for x in (on_exchange, booked, ordered)):
        return 0.0
    room = ordered - booked
    extra = on_exchange - booked
    if room <= 0 or extra <= 0:
        return 0.0
    return min(extra, room)


def dust_by_pair(on_exchange: Mapping[str, float], booked: Mapping[str, float],
                 ordered: Mapping[str, float]) -> dict[str, float]:
    """``coin_dust`` for every pair any side knows (keys are pairs, ``BASE/QUOTE``); zeros left out."""
    out: dict[str, float] = {}
    for pair in [*booked, *(p for p in ordered if p not in booked)]:
        d = coin_dust(on_exchange.get(pair, 0.0), booked.get(pair, 0.0), ordered.get(pair, 0.0))
        if d > 0:
            out[pair] = d
    return out


def with_dust(holdings: Mapping[str, float], dust: Mapping[str, float]) -> dict[str, float]:
    """The coins the portfolio owns: its booked holdings plus their dust."""
    out = dict(holdings)
    for pair, d in dust.items():
        if d > 0:
            out[pair] = out.get(pair, 0.0) + d
    return out


def fold_into_sell(amount: float, dust: float, step: float, free: float) -> float:
    """A sell of ``amount`` with the dust folded in: ``amount + dust`` floored to the lot step, when the
    account's free balance covers it; else ``amount`` unchanged (the exchange would refuse the rest)."""
    if dust <= 0 or amount <= 0:
        return amount
    total = floor_to_step(amount + dust, step)
    if total <= amount or total > free * (1 + 1e-12):
        return amount
    return total


def sweepable(dust: float, step: float, min_amount: float, min_notional: float, price: float) -> float:
    """What of the dust can be sold on its own (``terminate --sell``): floored to the step, at or above
    the pair's minimum amount and minimum order value; 0 when the exchange would refuse it."""
    amount = floor_to_step(dust, step)
    if amount <= 0 or amount < min_amount or amount * price < min_notional:
        return 0.0
    return amount
