"""The exchange simulator: accounts, orders, matching, fees, filters and a ledger, with no HTTP.

A protocol front end (``smartpf.replay.protocols``) translates one exchange's REST API onto it;
prices come from the replay market (``smartpf.replay.exchange.market``) through a callable, and every
method takes "now" as an argument, so the simulator is testable without a server or a clock.

Modules: the market side, ``timeframes``, ``data`` (candles and exchangeInfo), ``clock``,
``scenario``, ``market`` (prices); the accounts side, ``amounts`` exact decimal numbers,
``filters`` symbol trading rules (lot size, price, notional), ``accounts`` balances free/locked,
``orders`` orders and trades, ``ledger`` the journal that survives a restart, ``simulator``
placing, matching, fees and the operator's moves.
"""

from smartpf.replay.exchange.simulator import ExchangeSimulator, Rejected

__all__ = ["ExchangeSimulator", "Rejected"]
