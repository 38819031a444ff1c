"""Shared fixtures: the real market rules and candles from ../shared (never copied into the repo)."""

from __future__ import annotations

import pytest

from smartpf import paths
from smartpf.markets import load_rules


@pytest.fixture(scope="session")
def real_rules():
    if not paths.DEFAULT_MARKETS.exists():
        pytest.fail(f"the shared markets file is missing: {paths.DEFAULT_MARKETS}")
    return load_rules(paths.DEFAULT_MARKETS)


@pytest.fixture(scope="session")
def datadir():
    if not paths.DEFAULT_DATADIR.exists():
        pytest.fail(f"the shared candles are missing: {paths.DEFAULT_DATADIR}")
    return paths.DEFAULT_DATADIR
