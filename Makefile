# Everything installs from this project's own files into a local virtualenv (.venv).
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SHARED ?= ../shared
DATADIR ?= $(shell if [ -d $(SHARED)/data/binance ]; then echo $(SHARED)/data/binance; else echo user_data/data/binance; fi)
MARKETS ?= $(SHARED)/markets/binance-exchangeInfo-spot-usdt.json
CONFIG ?= user_data/config.example.json

.PHONY: venv demo test lint bench clean data

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[freqtrade,dev]'
	touch $@

venv: $(BIN)/.installed

# The main job, offline on the shared candles: a backtest of the default portfolio.
demo: venv data
	$(BIN)/smartpf backtest -c $(CONFIG) --datadir $(DATADIR) --markets $(MARKETS)

# On a clone without ../shared: fetch the candles the default portfolio needs from the exchange.
data: venv
	@if [ ! -d $(DATADIR) ] || [ -z "$$(ls $(DATADIR) 2>/dev/null)" ]; then \
	  $(BIN)/smartpf fetch-data -c $(CONFIG) --datadir $(DATADIR); fi

test: venv
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
