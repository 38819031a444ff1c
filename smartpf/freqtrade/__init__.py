"""Freqtrade-side glue for the SmartPortfolio strategy, kept out of the pure core.

Everything here is plain Python on dicts and duck-typed trade/order objects, so it can be tested
without running Freqtrade; ``strategies/SmartPortfolio.py`` wires it to Freqtrade's callbacks.
"""
