"""Fixtures for running the real ``freqtrade`` with SmartPortfolio against the offline replay exchange."""

from __future__ import annotations

import base64
import json
import urllib.request
from pathlib import Path

import pytest

from smartpf import paths
from smartpf.replay.runner import run_freqtrade, running_replay

STRATEGIES = paths.REPO_ROOT / "strategies"


@pytest.fixture(scope="session")
def history_exchange():
    with running_replay(clock="history") as ex:
        yield ex


def smartpf_config(ex, workdir: Path, section: dict, timeframe: str = "1m", **overrides) -> Path:
    """A complete Freqtrade config for SmartPortfolio on the replay exchange, written into ``workdir``."""
    pairs = [f"{coin}/USDT" for coin in section["assets"]]
    config = ex.config_for()
    config.update({
        "strategy": "SmartPortfolio", "strategy_path": str(STRATEGIES), "timeframe": timeframe,
        "bot_name": f"smartpf-test-{workdir.name}", "max_open_trades": len(pairs), "tradable_balance_ratio": 1.0,
        "dry_run_wallet": 10000, "exportdirectory": str(workdir / "results"),
        "db_url": f"sqlite:///{workdir / 'trades.sqlite'}", "smart_portfolio": section,
    })
    config["exchange"]["pair_whitelist"] = pairs
    config.update(overrides)
    (workdir / "user_data").mkdir(parents=True, exist_ok=True)
    path = workdir / "config.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def ft_backtest(config: Path, timerange: str, timeout: float = 600):
    workdir = config.parent
    return run_freqtrade("backtesting", "-c", str(config), "--userdir", str(workdir / "user_data"),
                         "--datadir", str(paths.DEFAULT_DATADIR), "--timerange", timerange, "--cache", "none",
                         "--export", "none", timeout=timeout)


def edit_settings(config_path: Path, changes: dict) -> None:
    """Change keys of the ``smart_portfolio`` section of a running bot's config file (then ``reload_config``)."""
    config = json.loads(config_path.read_text())
    config["smart_portfolio"].update(changes)
    config_path.write_text(json.dumps(config, indent=2))


def reload_config(port: int) -> None:
    """Freqtrade's /reload_config on the bot's API (the test configs' user and password are smartpf)."""
    token = base64.b64encode(b"smartpf:smartpf").decode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/reload_config", method="POST",
                                     headers={"Authorization": f"Basic {token}"}, data=b"")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
