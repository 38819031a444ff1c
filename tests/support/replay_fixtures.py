"""Fixtures for the replay exchange tests: the real server as a subprocess, and helpers to run
the real ``freqtrade`` program against it."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartpf.paths import DEFAULT_DATADIR, DEFAULT_MARKETS
from smartpf.replay.runner import running_replay


@pytest.fixture(scope="session")
def shared_data() -> tuple[Path, Path]:
    """The real candles and exchangeInfo: ../shared (CI has them), else what `make data` fetched."""
    assert DEFAULT_DATADIR.is_dir(), f"missing candles at {DEFAULT_DATADIR} (run `make data`)"
    assert DEFAULT_MARKETS.is_file(), f"missing exchangeInfo at {DEFAULT_MARKETS} (run `make data`)"
    return DEFAULT_DATADIR, DEFAULT_MARKETS


@pytest.fixture(scope="module")
def replay_history(shared_data):
    """A history-clock replay server on the shared data, one per test module."""
    with running_replay(clock="history") as ex:
        yield ex


@pytest.fixture
def ft_userdir(tmp_path: Path) -> Path:
    """An empty Freqtrade user_data_dir in tmp (Freqtrade needs it to exist)."""
    userdir = tmp_path / "user_data"
    for sub in ("data", "logs", "strategies", "backtest_results"):
        (userdir / sub).mkdir(parents=True)
    return userdir
