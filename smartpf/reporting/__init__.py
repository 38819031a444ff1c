"""The report: one self-contained HTML page and one PNG per chart, for a core backtest, a Freqtrade
backtest of SmartPortfolio or a running (or stopped) bot.

Every entry point reduces its source to a ``ReportInput`` (``inputs``): the engine's public results
(settings, records, the HODL shadow, the summary figures) and the candles of the period. The value
series is rebuilt from the records and the candle closes (``series``), which is exact (the holdings
only change at fills) and keeps the backtest's own loop untouched. Entry point: ``smartpf.cli.report``
(plotly and matplotlib are imported only when a report is written).
"""
