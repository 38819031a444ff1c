"""``smartpf add --underweight-only`` and ``smartpf set --drop COIN [--sell]`` through the checked steering path
(lock, generation, atomic write, reload, confirm), against the fake bot of ``test_steering_safety``."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from smartpf.freqtrade.store import PortfolioStore
from smartpf_core.flows import drop_coin
from tests.support.helpers import make_spec, started

from .test_steering_safety import FakeBot, run, write_config

THREE = {"assets": {"BTC": 50, "ETH": 30, "SOL": 20}, "investment": 1000}
PRICES = {"BTC/USDT": 100.0, "ETH/USDT": 10.0, "SOL/USDT": 1.0}


@pytest.fixture
def bot3(tmp_path):
    url = f"sqlite:///{tmp_path / 'trades.sqlite'}"
    db = create_engine(url)
    store = PortfolioStore(Session(db))
    store.create_tables()
    store.create(started(make_spec(**THREE), PRICES), "bot-a")
    store.session.close()
    db.dispose()
    config = write_config(tmp_path / "config.json", db_url=url)
    fake = FakeBot([config], url, delay=0.05)
    body = json.loads(config.read_text())
    body["smart_portfolio"] = dict(THREE)
    body["exchange"]["pair_whitelist"] = list(PRICES)
    body["api_server"]["listen_port"] = fake.port
    config.write_text(json.dumps(body, indent=2))
    yield fake, config
    fake.close()


def test_add_underweight_only_raises_the_investment_and_sets_the_inflow(bot3, capsys):
    fake, config = bot3
    code, out, err = run("add", "-c", str(config), "100", "--underweight-only", capsys=capsys)
    assert code == 0, err
    assert "bought underweight-only" in out
    section = json.loads(config.read_text())["smart_portfolio"]
    assert section["investment"] == 1100 and section["inflow"] == "underweight" and section["generation"] == 1
    assert fake.saved()["inflow"] == "underweight" and fake.saved()["investment"] == 1100


def test_set_inflow_turns_underweight_only_off_again(bot3, capsys):
    fake, config = bot3
    assert run("add", "-c", str(config), "100", "--underweight-only", capsys=capsys)[0] == 0
    code, out, err = run("set", "-c", str(config), "--inflow", "target", capsys=capsys)
    assert code == 0, err
    assert json.loads(config.read_text())["smart_portfolio"]["inflow"] == "target"
    assert "inflow" not in fake.saved()  # the default: the saved spec writes it no more


def test_drop_without_sell_shares_the_weight_pro_rata_and_keeps_the_coin_frozen(bot3, capsys):
    fake, config = bot3
    code, out, err = run("set", "-c", str(config), "--drop", "sol", capsys=capsys)
    assert code == 0, err
    section = json.loads(config.read_text())["smart_portfolio"]
    assert section["assets"] == pytest.approx({"BTC": 62.5, "ETH": 37.5})
    assert section["frozen"] == ["SOL"]
    assert fake.saved()["frozen"] == ["SOL"]


def test_drop_with_sell_only_shares_the_weight(bot3, capsys):
    fake, config = bot3
    code, _out, err = run("set", "-c", str(config), "--drop", "SOL", "--sell", capsys=capsys)
    assert code == 0, err
    section = json.loads(config.read_text())["smart_portfolio"]
    assert section["assets"] == pytest.approx({"BTC": 62.5, "ETH": 37.5})
    assert section["dropped"] == ["SOL"] and "frozen" not in section


@pytest.mark.parametrize("argv, said", [
    (["--drop", "DOGE"], "--drop DOGE: not a coin of the portfolio"),
    (["--sell"], "--sell goes with --drop COIN"),
    (["--drop", "SOL", "--threshold", "3"], "--drop: give it alone"),
])
def test_a_bad_drop_is_refused_with_exit_2_and_nothing_written(bot3, capsys, argv, said):
    _fake, config = bot3
    before = config.read_text()
    code, _out, err = run("set", "-c", str(config), *argv, capsys=capsys)
    assert code == 2 and said in err
    assert config.read_text() == before


def test_drop_coin_keeps_two_coins_at_least():
    with pytest.raises(ValueError, match="at least 2 coins"):
        drop_coin({"BTC": 50, "ETH": 50}, "ETH")
    assert drop_coin({"BTC": 50, "ETH": 30, "SOL": 20}, "BTC") == pytest.approx({"ETH": 60, "SOL": 40})
