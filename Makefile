# Everything installs from this project's own files into a local virtualenv (.venv).
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SHARED ?= $(or $(SMARTPF_SHARED),../shared)
# The real shared candles and exchange rules when they are beside the clone; otherwise files fetched
# from the exchange's public API into user_data/ (see `data`). smartpf/paths.py resolves the same way.
DATADIR ?= $(shell if [ -d $(SHARED)/data/binance ]; then echo $(SHARED)/data/binance; else echo user_data/data/binance; fi)
MARKETS ?= $(shell if [ -f $(SHARED)/markets/binance-exchangeInfo-spot-usdt.json ]; then echo $(SHARED)/markets/binance-exchangeInfo-spot-usdt.json; else echo user_data/data/binance-exchangeInfo.json; fi)
EXCHANGE_API ?= https://api.binance.com
CONFIG ?= user_data/config.example.json
# End-to-end tests mostly wait on the replay clock (real time): several run side by side even on 2 cores.
TEST_WORKERS ?= 4

.PHONY: venv demo core-demo core-wheel test lint bench clean data system-deps

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[freqtrade,dev,postgres]'
	touch $@

venv: $(BIN)/.installed

# The main job, offline: freqtrade backtesting of the default portfolio with SmartPortfolio, against the
# replay exchange serving the candles, then the portfolio summary.
demo: venv data
	$(BIN)/smartpf ft-backtest -c $(CONFIG) --datadir $(DATADIR) --markets $(MARKETS)

# The same portfolio through the core simulator alone (no Freqtrade), in about a second.
core-demo: venv data
	$(BIN)/smartpf backtest -c $(CONFIG) --datadir $(DATADIR) --markets $(MARKETS)

# The core alone as a wheel with no dependencies (dist/smartpf_core-<version>-py3-none-any.whl), for hosts
# other than this app: see docs/core-api.md.
core-wheel: venv
	$(BIN)/python packaging/core/build.py --out dist

# On a clone without ../shared: fetch exactly the candles and exchange rules the tests (and the demo) read,
# listed in tests/support/datasets.py, from EXCHANGE_API with freqtrade download-data. A no-op beside ../shared.
data: venv
	@if [ -d $(SHARED)/data/binance ] && [ -f $(SHARED)/markets/binance-exchangeInfo-spot-usdt.json ]; then \
	  echo "make data: using the shared data in $(SHARED), nothing to fetch"; else \
	  $(BIN)/python -m tests.support.datasets --exchange-api $(EXCHANGE_API) --datadir $(DATADIR) --markets $(MARKETS); fi

# System packages the tests need (make test runs this first; installing needs root, as in CI): Chromium for the
# report's browser test (tests/unit/test_report_browser.py), and a PostgreSQL server that the PostgreSQL tests start
# themselves on a free port (tests/support/pg.py). Installs only what is missing.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	{ command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || missing="$$missing postgresql"; \
	if [ -z "$$missing" ]; then echo "make system-deps: chromium and PostgreSQL present"; \
	elif [ "$$(id -u)" != 0 ]; then echo "make system-deps: missing Debian packages:$$missing; run 'sudo make system-deps' once" >&2; exit 2; else \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

# The whole suite, exactly what CI runs (.ci/run); the system packages first (installed when missing, as root).
test: venv data system-deps
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal

lint: venv
	$(BIN)/ruff check .

bench: venv
	$(BIN)/python benchmarks/core_backtest.py
	$(BIN)/python benchmarks/fast_backtest.py
	$(BIN)/python benchmarks/sweep_throughput.py
	$(BIN)/python benchmarks/bt_crosscheck.py
	$(BIN)/python benchmarks/freqtrade_backtest.py
	$(BIN)/python benchmarks/live_order_bench.py
	$(BIN)/python benchmarks/report_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache dist
