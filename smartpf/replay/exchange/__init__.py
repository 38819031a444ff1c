"""The exchange simulator: accounts, orders, matching, fees, filters and a ledger, with no HTTP.

A protocol front end (``smartpf.replay.protocols``) translates one exchange's REST API onto it;
prices come from the replay market (``smartpf.replay.market``) through a callable, and every
method takes "now" as an argument, so the simulator is testable without a server or a clock.

Modules: ``amounts`` exact decimal numbers; ``filters`` symbol trading rules (lot size, price,
notional); ``accounts`` balances free/locked; ``orders`` orders and trades; ``ledger`` the file
that survives a restart; ``simulator`` placing, matching, fees and the admin operations.
"""

from smartpf.replay.exchange.simulator import ExchangeSimulator, Rejected

__all__ = ["ExchangeSimulator", "Rejected"]
