"""Backtests: the candles, the fast simulator, the summary and records, and the Freqtrade backtest runner."""
