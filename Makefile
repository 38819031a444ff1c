# Everything installs from this project's own files into a local virtualenv (.venv).
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SHARED ?= ../shared
# The real shared candles and exchange rules when they are beside the clone; otherwise files fetched
# from the exchange's public API into user_data/ (see `data`).
DATADIR ?= $(shell if [ -d $(SHARED)/data/binance ]; then echo $(SHARED)/data/binance; else echo user_data/data/binance; fi)
MARKETS ?= $(shell if [ -f $(SHARED)/markets/binance-exchangeInfo-spot-usdt.json ]; then echo $(SHARED)/markets/binance-exchangeInfo-spot-usdt.json; else echo user_data/data/binance-exchangeInfo.json; fi)
EXCHANGE_API ?= https://api.binance.com
CONFIG ?= user_data/config.example.json

.PHONY: venv demo core-demo test lint bench clean data

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[freqtrade,dev]'
	touch $@

venv: $(BIN)/.installed

# The main job, offline: freqtrade backtesting of the default portfolio with SmartPortfolio, against the
# replay exchange serving the candles, then the portfolio summary.
demo: venv data
	$(BIN)/smartpf ft-backtest -c $(CONFIG) --datadir $(DATADIR) --markets $(MARKETS)

# The same portfolio through the core simulator alone (no Freqtrade), in about a second.
core-demo: venv data
	$(BIN)/smartpf backtest -c $(CONFIG) --datadir $(DATADIR) --markets $(MARKETS)

# On a clone without ../shared: fetch the candles (freqtrade download-data) and the exchange rules.
data: venv
	@if [ -z "$$(ls $(DATADIR) 2>/dev/null)" ]; then \
	  $(BIN)/smartpf fetch-data -c $(CONFIG) --datadir $(DATADIR); fi
	@if [ ! -f $(MARKETS) ]; then mkdir -p $$(dirname $(MARKETS)) && \
	  $(BIN)/python -c "import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])" \
	    "$(EXCHANGE_API)/api/v3/exchangeInfo" $(MARKETS); fi

test: venv data
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check .

bench: venv
	$(BIN)/python benchmarks/core_backtest.py
	$(BIN)/python benchmarks/freqtrade_backtest.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
