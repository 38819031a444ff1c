"""The first hour without editing a file by hand (issue "the first hour"), offline and without a bot:
``init`` for any basket and exchange with the REST API on, the dry-run wallet, ``status`` of a stopped
bot right after ``adopt``, messages that say the number they checked, dry-run ``reconcile``, ``reset``,
``withdraw`` and ``set`` refusals, and the polish list. The end-to-end run is
tests/e2e/test_getting_started.py."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import logging
import sqlite3
import stat
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from smartpf import paths
from smartpf.backtest.candles import CandleError, Timerange, load_candles
from smartpf.cli import build_parser, main
from smartpf.cli.portfolio import PortfolioCommandError
from smartpf.cli.view import portfolio_view
from smartpf.configfile import load_configs
from smartpf_core import MarketRules, Reserves, plan_buys
from tests.support.helpers import make_spec, started

REPLAY_CONFIGS = sorted(paths.USER_DATA.glob("config.replay*.json"))


def init(tmp_path: Path, *args: str, name: str = "config.json") -> dict:
    out = tmp_path / name
    assert main(["init", *args, "-o", str(out)]) == 0
    return json.loads(out.read_text())


# 1. the REST API: on in init's config, kept by every replay config layered with it ----------------------
def test_init_enables_the_api_server_on_localhost_with_generated_credentials(tmp_path, capsys):
    config = init(tmp_path, "--preset", "btc-eth", "--investment", "1000")
    api = config["api_server"]
    assert api["enabled"] is True and api["listen_ip_address"] == "127.0.0.1" and api["listen_port"] == 8080
    assert len(api["password"]) >= 24 and len(api["jwt_secret_key"]) >= 32 and "change-me" not in json.dumps(api)
    assert stat.S_IMODE((tmp_path / "config.json").stat().st_mode) == 0o600
    other = init(tmp_path, "--preset", "btc-eth", "--investment", "1000", "--api-port", "8181", name="b.json")
    assert other["api_server"]["password"] != api["password"] and other["api_server"]["listen_port"] == 8181
    assert "REST API on 127.0.0.1:8080" in capsys.readouterr().out


@pytest.mark.parametrize("replay", REPLAY_CONFIGS, ids=lambda p: p.name)
def test_replay_configs_layered_either_way_keep_the_api_server(tmp_path, replay):
    init(tmp_path, "--preset", "btc-eth", "--investment", "1000")
    mine = str(tmp_path / "config.json")
    for order in ([mine, str(replay)], [str(replay), mine]):
        merged = load_configs(order)
        assert merged["api_server"]["enabled"] is True, order
        assert merged["exchange"]["pair_whitelist"] == ["BTC/USDT", "ETH/USDT"] or order[-1] != mine


def test_the_replay_live_config_keeps_the_portfolio_s_pairs_and_open_trades(tmp_path):
    init(tmp_path, "--preset", "btc-eth", "--investment", "1000")
    merged = load_configs([str(tmp_path / "config.json"), str(paths.USER_DATA / "config.replay-live.json")])
    assert merged["exchange"]["pair_whitelist"] == ["BTC/USDT", "ETH/USDT"] and merged["max_open_trades"] == 2
    assert merged["dry_run"] is False and merged["api_server"]["enabled"] is True


# 2. the dry-run wallet -------------------------------------------------------------------------------------
def test_the_dry_run_wallet_allows_the_readme_s_add_200(tmp_path):
    config = init(tmp_path, "--preset", "btc-eth", "--investment", "1000")
    assert config["dry_run_wallet"] >= 1000 + 200
    assert "fiat_display_currency" not in config  # no CoinGecko call at every start


def _strategy_module():
    spec = importlib.util.spec_from_file_location("smartpf_strategy_under_test",
                                                  paths.REPO_ROOT / "strategies" / "SmartPortfolio.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_unfundable_investment_in_dry_run_names_dry_run_wallet_its_value_and_what_is_needed():
    from smartpf.freqtrade.bot import dry_run_wallet_hint

    hint = dry_run_wallet_hint({"dry_run": True, "dry_run_wallet": 1100}, 99.3)
    assert hint == "; in dry-run the account is dry_run_wallet = 1100: it needs at least 1200"
    assert dry_run_wallet_hint({"dry_run": False, "dry_run_wallet": 1100}, 99.3) == ""


def test_a_refused_start_is_not_logged_first_as_a_raw_exception(caplog):
    _strategy_module()  # installs the filter, as Freqtrade loading the strategy does
    from freqtrade.exceptions import StrategyError
    from freqtrade.strategy.strategy_wrapper import strategy_safe_wrapper

    from smartpf.freqtrade.bot import SmartpfStartError

    def refuse():
        raise SmartpfStartError("smartpf: the bot will not start:\n  a reason")

    with caplog.at_level(logging.WARNING), pytest.raises(StrategyError):
        strategy_safe_wrapper(refuse)()
    assert "SmartpfStartError(" not in caplog.text


# 3. any basket, any exchange ------------------------------------------------------------------------------
@pytest.mark.parametrize("exchange", ["okx", "xt", "kraken", "bybit", "gate", "kucoin", "coinbase", "bitget", "htx",
                                      "binance"])
def test_init_writes_a_custom_basket_for_the_exchange(tmp_path, exchange):
    config = init(tmp_path, "--coins", "BTC=60,XRP=40", "--exchange", exchange, "--investment", "1000")
    assert config["exchange"]["name"] == exchange
    assert config["exchange"]["pair_whitelist"] == ["BTC/USDT", "XRP/USDT"] and config["max_open_trades"] == 2
    assert config["smart_portfolio"]["assets"] == {"BTC": 60, "XRP": 40}
    assert config["entry_pricing"]["use_order_book"] is (exchange == "xt")  # XT's ticker has no bid/ask
    assert main(["validate", "-c", str(tmp_path / "config.json")]) == 0


def test_init_takes_the_rule_and_exits_from_the_command_line(tmp_path):
    section = init(tmp_path, "--coins", "BTC=40,ETH=30,SOL=30", "--investment", "1000", "--threshold", "5",
                   "--threshold-type", "relative", "--take-profit", "20", "--stop-loss", "10")["smart_portfolio"]
    assert section["mode"] == "proportional" and section["threshold"] == 5 and section["threshold_type"] == "relative"
    assert section["take_profit"] == 20 and section["stop_loss"] == 10
    section = init(tmp_path, "--preset", "majors", "--investment", "1000", "--interval", "7d",
                   name="s.json")["smart_portfolio"]
    assert section["mode"] == "scheduled" and section["interval"] == "7d" and "threshold" not in section


@pytest.mark.parametrize("args, fragment", [
    (["--coins", "BTC=40,ETH"], "expected COIN=PERCENT"),
    (["--coins", "BTC=50,BTC=50"], "BTC is given twice"),
    (["--coins", "BTC=40,ETH=40"], "smart_portfolio.assets"),
    (["--coins", "BTC=50,ETH=50", "--exchange", "nosuchexchange"], "--exchange 'nosuchexchange': not an exchange"),
    (["--coins", "BTC=50,ETH=50", "--interval", "1d", "--threshold-type", "relative"], "--threshold-type: only"),
    (["--coins", "BTC=50,FOO=50", "--exchange", "okx", "--markets", str(paths.REPO_ROOT / "tests" / "data" /
                                                                      "ccxt-markets" / "okx.json")],
     "no exchange rules for FOO/USDT"),
])
def test_init_refuses_bad_baskets_and_exchanges_in_one_line(tmp_path, capsys, args, fragment):
    out = tmp_path / "c.json"
    with pytest.raises(SystemExit) if "expected" in fragment or "twice" in fragment else _nothing():
        assert main(["init", *args, "--investment", "1000", "-o", str(out)]) == 2
    assert fragment in capsys.readouterr().err and not out.exists()


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# 4. status of a stopped bot right after adopt -------------------------------------------------------------
def make_trade_db(path: Path) -> None:
    """A Freqtrade trade database with two open trades bought on 2026-11-01 (what a lost portfolio leaves)."""
    from freqtrade.persistence import Order, Trade, init_db

    init_db(f"sqlite:///{path}")
    for i, (pair, amount, price) in enumerate([("BTC/USDT", 0.005, 60000.0), ("ETH/USDT", 0.15, 3000.0)]):
        trade = Trade(pair=pair, base_currency=pair.split("/")[0], stake_currency="USDT", stake_amount=amount * price,
                      amount=amount, open_rate=price, open_date=datetime(2026, 11, 1), fee_open=0.001,
                      fee_close=0.001, exchange="binance", is_open=True, amount_requested=amount)
        trade.orders.append(Order(
            ft_order_side="buy", ft_pair=pair, ft_is_open=False, order_id=f"o{i}", ft_amount=amount, ft_price=price,
            status="closed", symbol=pair, order_type="market", side="buy", price=price, average=price, amount=amount,
            filled=amount, remaining=0.0, cost=amount * price, order_date=datetime(2026, 11, 1),
            order_filled_date=datetime(2026, 11, 1), ft_order_tag="smartpf-entry"))
        Trade.session.add(trade)
    Trade.commit()


def cli(*args: str) -> SimpleNamespace:
    """``smartpf ARGS`` in this process (as the console script runs it): exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


@pytest.fixture
def adopted(tmp_path):
    """An init config, a trade database with two open trades, adopted; no bot runs (port 1 never answers)."""
    config = init(tmp_path, "--preset", "btc-eth", "--investment", "1000")
    port = tmp_path / "port.json"
    port.write_text(json.dumps({"api_server": {"listen_port": 1}}))
    db = tmp_path / "trades.sqlite"
    make_trade_db(db)
    args = ("-c", str(tmp_path / "config.json"), "-c", str(port), "--db-url", f"sqlite:///{db}")
    done = cli("adopt", *args)
    assert done.returncode == 0, done.stderr
    return args, db, config


def test_status_right_after_adopt_values_coins_at_their_last_price_and_says_the_bot_is_stopped(adopted):
    args, _db, _config = adopted
    out = cli("status", *args, "--json")
    assert out.returncode == 0, out.stderr
    view = json.loads(out.stdout)
    assert view["status"] == "stopped" and view["bot"] == "stopped" and view["last_seen"]
    assert view["value"] == pytest.approx(0.005 * 60000 + 0.15 * 3000 + view["cash"])  # not a 99.8 % loss
    assert view["profit_pct"] > -1
    assert all(c["stale"] and c["price_at"] == "2026-11-01T00:00:00Z" for c in view["coins"])
    text = cli("status", *args).stdout
    assert ": stopped (last seen " in text and "stale: last known price of 2026-11-01T00:00:00Z" in text


# 6. reconcile in dry-run, reset ---------------------------------------------------------------------------
def test_reconcile_in_dry_run_compares_with_the_dry_run_wallet_and_names_the_fix(adopted, tmp_path):
    args, db, config = adopted
    same = cli("reconcile", *args)
    assert same.returncode == 0, same.stdout + same.stderr
    assert "with its dry-run wallet" in same.stdout and "apiKey" not in same.stdout + same.stderr
    wallet = config["dry_run_wallet"] - 0.005 * 60000 - 0.15 * 3000
    assert f"the account holds {wallet:.2f}" in same.stdout

    small = tmp_path / "small-wallet.json"
    small.write_text(json.dumps({"dry_run_wallet": 800}))
    short = cli("reconcile", *args, "-c", str(small))
    assert short.returncode == 3  # DIFFER
    assert "raise dry_run_wallet" in short.stdout and "smartpf withdraw 199.25" in short.stdout

    con = sqlite3.connect(db)
    con.execute("UPDATE trades SET amount = 0.004 WHERE pair = 'BTC/USDT'")
    con.commit()
    con.close()
    differs = cli("reconcile", *args, "--json")
    assert differs.returncode == 3  # DIFFER
    advice = " ".join(json.loads(differs.stdout)["advice"])
    assert "BTC: the trade database and the portfolio differ" in advice and "smartpf adopt" in advice


def test_reset_does_not_wait_when_the_bot_does_not_answer_and_the_second_reset_says_the_start_will_refuse(
        adopted):
    args, _db, _config = adopted
    first = cli("reset", *args)  # the portfolio was saved a moment ago, but no bot answers on its port
    assert first.returncode == 0, first.stderr
    assert "The next start begins a new portfolio" not in first.stdout and "the next start refuses" in first.stdout
    second = cli("reset", *args)
    assert second.returncode == 0
    assert "the next start refuses until they are closed" in second.stdout and "smartpf adopt" in second.stdout


# 7. withdraw and set --------------------------------------------------------------------------------------
def test_withdraw_and_set_compute_the_settings_the_bot_is_given():
    from smartpf.cli.steering import rule_settings, withdraw_settings

    assert withdraw_settings({"investment": 1200}, 100) == {"investment": 1100}
    with pytest.raises(PortfolioCommandError, match="less than the investment 1200"):
        withdraw_settings({"investment": 1200}, 1200)
    section = {"assets": {"BTC": 50, "ETH": 50}, "mode": "scheduled", "interval": "1d"}
    assert rule_settings(section, threshold=3) == {"mode": "proportional", "threshold": 3}
    assert rule_settings(section, threshold_type="relative") == {"mode": "proportional", "threshold_type": "relative"}
    assert rule_settings(section, interval="12h") == {"mode": "scheduled", "interval": "12h"}
    assert rule_settings(section, weights={"ETH": 40, "BTC": 60}) == {"assets": {"ETH": 40, "BTC": 60}}
    with pytest.raises(PortfolioCommandError, match=r"each coin of the portfolio \(BTC, ETH\)"):
        rule_settings(section, weights={"BTC": 60, "SOL": 40})
    with pytest.raises(PortfolioCommandError, match="give one rule"):
        rule_settings(section, threshold=2, interval="1d")


def test_withdraw_and_set_refuse_without_writing_and_restore_when_no_bot_answers(adopted, tmp_path):
    args, _db, _config = adopted
    path = tmp_path / "config.json"
    before = path.read_text()
    too_much = cli("withdraw", *args, "1000")
    assert too_much.returncode == 2 and "must be less than the investment 1000" in too_much.stderr
    negative = cli("add", *args, "-5")
    assert negative.returncode == 2 and "smartpf withdraw AMOUNT" in negative.stderr
    bad = cli("set", *args, "--threshold", "0")
    assert bad.returncode == 2 and "smart_portfolio.threshold = 0" in bad.stderr
    weights = cli("set", *args, "--weights", "BTC=60,SOL=40")
    assert weights.returncode == 2 and "BTC, ETH" in weights.stderr
    nobody = cli("set", *args, "--threshold", "3")
    assert nobody.returncode == 2 and "no bot answers" in nobody.stderr and "restored" in nobody.stderr
    assert path.read_text() == before


# 8. fees in status ----------------------------------------------------------------------------------------
def test_status_shows_the_fees_paid_in_total_and_in_the_last_30_days():
    engine = started(now=1000.0)
    paid = sum(t.fee for r in engine.records for t in r.trades)
    assert paid > 0
    prices = {"BTC/USDT": 100.0, "ETH/USDT": 10.0}
    view = portfolio_view(engine, prices, 1060.0, 1060.0)
    assert view["fees_paid"] == pytest.approx(paid) and view["fees_paid_30d"] == pytest.approx(paid)
    later = portfolio_view(engine, prices, 1060.0, 1000.0 + 31 * 86400)
    assert later["fees_paid"] == pytest.approx(paid) and later["fees_paid_30d"] == 0


# 5. every message says the number it checked ---------------------------------------------------------------
def test_a_skipped_buy_says_the_rounded_value_that_was_checked():
    rules = {"BTC/USDT": MarketRules(min_notional=5, min_amount=0.001, amount_step=0.001, price_tick=0.01)}
    plan = plan_buys({"BTC/USDT": 1.0}, {"BTC/USDT": 0.1}, {"BTC/USDT": 1000.0}, 5.5, rules, 5, Reserves(), 0.001)
    assert not plan.orders
    (skip,) = plan.skipped
    assert skip.value == pytest.approx(5.0)  # 0.005 BTC, the amount rounded down to the step, is what was checked
    assert skip.describe() == ("buy BTC/USDT 5.00 USDT (5.49 wanted, rounded down to the amount step) is below the "
                               "minimum 5.25 USDT (short by 0.25)")


# 9. polish ------------------------------------------------------------------------------------------------
def test_one_percentage_point_is_singular_and_stop_loss_none_is_a_word():
    assert make_spec(threshold=1).describe_threshold() == "1 percentage point (absolute)"
    assert make_spec(threshold=2).describe_threshold() == "2 percentage points (absolute)"
    engine = started()
    _ok, notices = engine.update_spec(make_spec(take_profit=15))
    text = " ".join(n.message for n in notices)
    assert "take-profit 15 %, stop-loss none" in text and "None" not in text


def test_why_shows_times_as_iso_and_json_has_no_float_tails():
    from smartpf.backtest.report import tidy
    from smartpf.cli.portfolio import detail_text as _detail

    assert _detail("next_time", 1764547200.0) == "2025-12-01T00:00:00Z"
    assert _detail("deviation", -0.0331503123) == "-0.0331503"
    assert tidy({"fee": 0.4991695470000001, "coins": [{"v": 0.1 + 0.2}], "n": 3}) == {
        "fee": 0.499169547, "coins": [{"v": 0.3}], "n": 3}


def test_the_missing_data_hint_names_smartpf_fetch_data(tmp_path):
    with pytest.raises(CandleError, match="smartpf fetch-data -c CONFIG --timeframe 1m"):
        load_candles(tmp_path, ["BTC/USDT"], "1m", Timerange.parse(None))


def test_every_command_and_flag_has_a_help_text():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helped = {a.dest: a.help for a in sub._choices_actions}
    missing = [name for name in sub.choices if not helped.get(name)]
    missing += [f"{name} {a.option_strings or a.dest}" for name, p in sub.choices.items() for a in p._actions
                if not a.help and not isinstance(a, argparse._HelpAction)]
    assert missing == []
    assert {"withdraw", "set", "preflight", "init"} <= set(sub.choices)


def test_init_on_xt_layered_on_the_replay_config_names_xt_not_binance(tmp_path):
    init(tmp_path, "--coins", "BTC=40,SOL=30,XRP=30", "--exchange", "xt", "--investment", "1000")
    merged = load_configs([str(paths.USER_DATA / "config.replay-xt.json"), str(tmp_path / "config.json")])
    assert merged["exchange"]["name"] == "xt" and merged["entry_pricing"]["use_order_book"] is True
    assert datetime  # the e2e run of this layering: tests/e2e/test_getting_started.py


def test_init_on_okx_layered_on_the_replay_config_keeps_what_okx_needs(tmp_path):
    init(tmp_path, "--coins", "BTC=40,ETH=30,XRP=30", "--exchange", "okx", "--investment", "1000")
    merged = load_configs([str(paths.USER_DATA / "config.replay-okx.json"), str(tmp_path / "config.json")])
    exchange = merged["exchange"]
    assert exchange["name"] == "okx" and exchange["enable_ws"] is False
    assert exchange["ccxt_config"]["options"]["fetchMarkets"]["types"] == ["spot"]
    assert exchange["pair_whitelist"] == ["BTC/USDT", "ETH/USDT", "XRP/USDT"] and merged["max_open_trades"] == 3
