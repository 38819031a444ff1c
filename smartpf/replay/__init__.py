"""An offline Binance-compatible exchange, so Freqtrade runs with no network, in dry-run or live.

``smartpf replay`` (or ``python -m smartpf.replay``) starts a local HTTP server that speaks the
part of Binance's spot REST API that ccxt and Freqtrade use, serving real market rules (a raw
exchangeInfo snapshot) and real candles (a Freqtrade datadir); with ``--accounts`` also the signed
account API (balances, orders, trades), so ``freqtrade trade`` runs with ``dry_run: false``.
See ``docs/replay.md``.

Layout: an exchange simulator core with a protocol in front.
``exchange/`` the core, no HTTP: ``timeframes`` interval names; ``data`` loading candles and
markets; ``clock`` the history/replay time mapping and the intra-candle price model; ``scenario``
the test scenario file; ``market`` prices (klines, tickers, depth); ``filters``, ``accounts``,
``orders``, ``simulator`` (matching, fees), ``ledger`` the accounts' side.
``protocols/`` front ends that only translate: ``binance`` (Binance's spot REST API).
``server`` HTTP plumbing, ``faults`` fault injection, admin endpoints; ``cli`` the command line;
``testing`` a helper for tests and scripts.
"""
