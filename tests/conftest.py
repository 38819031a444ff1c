"""Shared fixtures: the real market rules and candles, resolved as `make demo` does (smartpf.paths):
SMARTPF_SHARED or ../shared (never copied into the repo), else what `make data` fetched into user_data/data."""

from __future__ import annotations

import pytest

from smartpf import paths
from smartpf.markets import load_rules


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
