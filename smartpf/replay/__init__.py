"""An offline Binance-compatible exchange, so Freqtrade runs with no network.

``smartpf replay`` (or ``python -m smartpf.replay``) starts a local HTTP server that speaks the
public part of Binance's spot REST API that ccxt and Freqtrade use, serving real market rules
(a raw exchangeInfo snapshot) and real candles (a Freqtrade datadir). See ``docs/replay.md``.

Modules, one job each:
``timeframes`` interval names; ``data`` loading candles and markets; ``clock`` the history/replay
time mapping and the intra-candle price model (pure functions); ``scenario`` the test scenario
file; ``faults`` fault injection state; ``market`` the answers (klines, tickers, depth);
``server`` HTTP routing; ``cli`` the command line; ``testing`` a helper for tests and scripts.
"""
