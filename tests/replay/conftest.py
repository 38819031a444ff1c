"""Fixtures for the replay exchange tests: the real server as a subprocess, and helpers to run
the real ``freqtrade`` program against it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from smartpf.paths import DEFAULT_DATADIR, DEFAULT_MARKETS
from smartpf.replay.testing import running_replay

STRATEGIES = Path(__file__).parent / "strategies"
REPLAY_PAIRS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT"]


@pytest.fixture(scope="session")
def shared_data() -> tuple[Path, Path]:
    """The shared real candles and exchangeInfo (CI has them)."""
    assert DEFAULT_DATADIR.is_dir(), f"missing shared candles at {DEFAULT_DATADIR}"
    assert DEFAULT_MARKETS.is_file(), f"missing shared exchangeInfo at {DEFAULT_MARKETS}"
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


def freqtrade_cmd(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "freqtrade", *map(str, args)]


def run_freqtrade(*args: str | Path, timeout: float = 180) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(freqtrade_cmd(*args), capture_output=True, text=True, timeout=timeout, env=env)
