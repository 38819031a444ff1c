"""Shared fixtures: the real market rules and candles, resolved as `make demo` does (smartpf.paths):
SMARTPF_SHARED or ../shared (never copied into the repo), else what `make data` fetched into user_data/data.

The folder says what a test is, and gives it its marker: ``unit/`` (one rule or module, in process or one
short subprocess), ``property/`` (hypothesis invariants), ``e2e/`` (the real freqtrade / smartpf programs on
the replay exchange) and ``live/`` (the same with dry_run false on the replay exchange's accounts: marked
``e2e`` and ``live``). ``support/`` holds what tests share: helpers, the replay and freqtrade fixtures, test
strategies. ``pytest -m "not e2e"`` is the fast set."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartpf import paths
from smartpf.markets import load_rules

pytest_plugins = ["tests.support.replay_fixtures", "tests.support.freqtrade_runs"]

TESTS = Path(__file__).resolve().parent
FOLDER_MARKERS = {"unit": ("unit",), "property": ("property",), "e2e": ("e2e",), "live": ("e2e", "live")}


@pytest.hookimpl(tryfirst=True)  # before -m selects on the markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        try:
            folder = item.path.resolve().relative_to(TESTS).parts[0]
        except ValueError:
            continue
        for marker in FOLDER_MARKERS.get(folder, ()):
            item.add_marker(marker)


@pytest.fixture(scope="session")
def real_rules():
    if not paths.DEFAULT_MARKETS.exists():
        pytest.fail(f"the market rules are missing: {paths.DEFAULT_MARKETS} (run `make data`)")
    return load_rules(paths.DEFAULT_MARKETS)


@pytest.fixture(scope="session")
def datadir():
    if not paths.DEFAULT_DATADIR.exists():
        pytest.fail(f"the candles are missing: {paths.DEFAULT_DATADIR} (run `make data`)")
    return paths.DEFAULT_DATADIR
