"""Steering and the portfolio commands, without a real bot: a settings change is applied once and only as asked,
configs are read as Freqtrade reads them, and the commands that only read never write (issue 18).

``FakeBot`` answers ``POST /api/v1/reload_config`` like the strategy's reload: it reads the config files,
checks them (``check_config``, ``settings_change_problem``) and saves the engine's new settings, or the
rejection with its generation, into the trade database. The real bot is exercised in
``tests/e2e/test_steering_dry_run.py``.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from smartpf.cli import main
from smartpf.cli import steering as steer
from smartpf.configfile import load_configs
from smartpf.freqtrade.store import PortfolioStore
from smartpf_core import Engine, check_config, settings_change_problem
from tests.support.helpers import make_spec, started
from tests.support.pg import postgres  # noqa: F401 - the PostgreSQL server fixture

SECTION = {"assets": {"BTC": 50, "ETH": 50}, "investment": 1000}


def make_db(path: Path | str, bot_name: str = "bot-a", prices: dict | None = None) -> str:
    """A trade database (a SQLite file, or a database URL) holding one active portfolio of ``bot_name``
    (smartpf's tables only)."""
    url = path if isinstance(path, str) else f"sqlite:///{path}"
    engine = create_engine(url)
    store = PortfolioStore(Session(engine))
    store.create_tables()
    row = store.create(started(make_spec()), bot_name)
    if prices is not None:
        store.save_view(row.id, prices, 1000.0)
    store.session.close()
    engine.dispose()
    return url


def write_config(path: Path, port: int = 1, **extra) -> Path:
    config = {"bot_name": "bot-a", "stake_currency": "USDT", "dry_run": True, "timeframe": "1m",
              "exchange": {"name": "binance", "pair_whitelist": ["BTC/USDT", "ETH/USDT"]},
              "api_server": {"enabled": True, "listen_ip_address": "127.0.0.1", "listen_port": port,
                             "username": "u", "password": "p"},
              "smart_portfolio": dict(SECTION), **extra}
    path.write_text(json.dumps(config, indent=2))
    return path


def run(*argv: str, capsys) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    # the command's database connections are left to the garbage collector (a command is a process): collect
    # them now, not inside a later ast.parse, where Python 3.11 takes their finalizers for a recursion error
    gc.collect()
    return code, out, err


class FakeBot:
    """The strategy's reload path on a trade database, behind Freqtrade's reload endpoint."""

    def __init__(self, configs: list[Path], db_url: str, delay: float = 0.3) -> None:
        self.configs, self.delay = configs, delay
        self.sync = False
        self.closed = False
        self.engine = create_engine(db_url)
        self.applied: list[int] = []
        self.lock = threading.Lock()
        bot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                if bot.sync:
                    bot.reload()  # taken before the answer
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'{"status": "Reloading config ..."}')
                if not bot.sync:
                    threading.Thread(target=bot.reload, daemon=True).start()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reload(self) -> None:
        time.sleep(self.delay)  # Freqtrade reloads at its next loop, not during the request
        if self.closed:
            return
        with self.lock, Session(self.engine) as session:
            store = PortfolioStore(session)
            row = store.active()
            engine = store.load(row)
            spec = check_config(load_configs(self.configs)).spec
            problem = settings_change_problem(engine.spec, spec)
            if problem:
                store.save_view(row.id, rejected={"at": time.time(), "problems": [problem],
                                                  "generation": getattr(spec, "generation", 0)})
                return
            engine.update_spec(spec)
            store.save(row, engine)
            self.applied.append(getattr(spec, "generation", 0))

    def saved(self) -> dict:
        with Session(self.engine) as session:
            store = PortfolioStore(session)
            return store.load(store.active()).spec.to_dict()  # no "generation" on main: .get() it

    def close(self) -> None:
        self.closed = True
        self.server.shutdown()
        self.engine.dispose()


@pytest.fixture
def bot(tmp_path):
    db = make_db(tmp_path / "trades.sqlite")
    config = write_config(tmp_path / "config.json", db_url=db)
    fake = FakeBot([config], db)
    write_config(config, port=fake.port, db_url=db)
    yield fake, config
    fake.close()


def test_two_concurrent_adds_are_both_applied_once_and_the_file_agrees(bot, tmp_path):
    """Issue 18, item 1: on main one of two concurrent `add 100` reported failure and restored the file after the
    bot had taken it (file 1000, bot 1200). Fails on main (one exits 2), passes with the lock and generations."""
    fake, config = bot
    cmd = [sys.executable, "-m", "smartpf.cli", "add", "-c", str(config), "100"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    section = json.loads(config.read_text())["smart_portfolio"]
    assert section["investment"] == 1200 and section["generation"] == 2
    assert fake.saved()["investment"] == 1200 and fake.saved()["generation"] == 2
    assert fake.applied == [1, 2]  # each change applied once, in order


def test_a_stale_file_never_undoes_an_applied_change_nor_withdraws(bot, capsys):
    """A restored backup (the file before `add`) reloaded later: the bot refuses it (no unasked withdrawal), and a
    command on top of the stale file is refused with nothing written. On main the reload withdrew 200."""
    fake, config = bot
    before = config.read_text()
    assert run("add", "-c", str(config), "200", capsys=capsys)[0] == 0
    assert fake.saved()["investment"] == 1200
    config.write_text(before)  # the restored backup: investment 1000, no generation
    fake.reload()
    assert fake.saved()["investment"] == 1200 and fake.applied == [1]  # refused: nothing sold
    code, _out, err = run("set", "-c", str(config), "--take-profit", "60", capsys=capsys)
    assert code == 2 and "older than the settings in force" in err
    assert config.read_text() == before  # nothing written
    # lowering on purpose: a newer generation asks for it
    section = json.loads(before)
    section["smart_portfolio"].update(investment=900, generation=2)
    config.write_text(json.dumps(section))
    fake.reload()
    assert fake.saved()["investment"] == 900 and fake.applied == [1, 2]


def test_a_lower_investment_without_a_newer_generation_is_refused_by_the_core():
    in_force = make_spec(investment=1200, generation=3)
    assert "withdrawal is applied only when asked" in settings_change_problem(in_force, make_spec(investment=1000,
                                                                                                  generation=3))
    assert "older than the settings in force" in settings_change_problem(in_force, make_spec(investment=1300,
                                                                                             generation=2))
    assert settings_change_problem(in_force, make_spec(investment=1000, generation=4)) is None
    assert settings_change_problem(in_force, make_spec(investment=1300, generation=3)) is None  # a hand-edited raise
    assert settings_change_problem(in_force, make_spec(investment=1200, take_profit=5, generation=3)) is None


def test_a_refused_change_is_about_this_change_and_restores_the_file(bot, capsys):
    fake, config = bot
    before = config.read_text()
    code, _out, err = run("set", "-c", str(config), "--take-profit", "-3", capsys=capsys)
    assert code == 2 and "take_profit" in err and config.read_text() == before
    fake.delay = 0.0
    original = fake.reload

    def refusing() -> None:  # the bot refuses this generation (say, the account cannot fund it)
        with Session(fake.engine) as session:
            store = PortfolioStore(session)
            spec = check_config(load_configs([config])).spec
            store.save_view(store.active().id, rejected={"at": time.time(), "problems": ["cannot fund it"],
                                                         "generation": spec.generation})

    fake.reload = refusing
    code, _out, err = run("add", "-c", str(config), "100", capsys=capsys)
    fake.reload = original
    assert code == 2 and "refused the change: cannot fund it" in err and "nothing changed" in err
    assert config.read_text() == before and fake.saved()["investment"] == 1000


def test_a_change_the_bot_took_is_never_reported_as_failed_nor_restored(bot, capsys, monkeypatch):
    """The confirmation missed (here: no time to look at all), but the bot saved this generation: the command
    reports it applied and keeps the file, so the file and the bot agree (on main: "restored", bot 1100)."""
    fake, config = bot
    fake.sync, fake.delay = True, 0.0
    monkeypatch.setattr(steer, "CONFIRM_WITHIN", 0.0)
    code, out, err = run("add", "-c", str(config), "100", capsys=capsys)
    assert code == 0 and "took it" in out, err
    assert json.loads(config.read_text())["smart_portfolio"]["investment"] == 1100
    assert fake.saved()["investment"] == 1100


def test_an_interrupted_command_restores_the_file(bot, capsys, monkeypatch):
    """Ctrl-C while waiting for the bot: the change is not applied, so the file is restored (main left it)."""
    fake, config = bot
    before = config.read_text()
    fake.delay = 30.0  # the bot is slow to reload

    def interrupted(*args) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(steer, "_confirm", interrupted)
    code, _out, _err = run("add", "-c", str(config), "100", capsys=capsys)
    assert code == 130 and config.read_text() == before


def test_steering_through_a_symlink_writes_the_target_and_keeps_the_link(bot, tmp_path, capsys):
    fake, config = bot
    link = tmp_path / "link.json"
    link.symlink_to(config)
    assert run("add", "-c", str(link), "50", capsys=capsys)[0] == 0
    assert link.is_symlink() and json.loads(config.read_text())["smart_portfolio"]["investment"] == 1050
    assert fake.saved()["investment"] == 1050


def test_a_terminated_portfolio_is_refused_at_once(tmp_path, capsys):
    db = tmp_path / "trades.sqlite"
    url = make_db(db)
    with Session(create_engine(url)) as session:
        store = PortfolioStore(session)
        row = store.active()
        state = store.load(row).to_dict()
        state["status"] = "terminated"  # a host never sets the engine's status: a terminated state, saved
        store.save(row, Engine.from_dict(state))
    config = write_config(tmp_path / "config.json", db_url=url)
    started_at = time.monotonic()
    for argv in (["add", "100"], ["set", "--take-profit", "5"], ["terminate", "--keep", "--yes"]):
        code, _out, err = run(argv[0], "-c", str(config), *argv[1:], capsys=capsys)
        assert code == 2 and "is terminated: it takes no more changes" in err, err
    assert time.monotonic() - started_at < 20  # no 90 s wait for a confirmation that never comes


def test_a_password_in_the_url_is_never_printed(tmp_path, capsys):
    url = make_db(tmp_path / "trades.sqlite")
    config = write_config(tmp_path / "config.json", db_url=url)
    with contextlib.closing(__import__("socket").socket()) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    code, out, err = run("add", "-c", str(config), "--url", f"http://admin:s3cret-pw@127.0.0.1:{port}", "10",
                         capsys=capsys)
    assert code == 2 and "no bot answers" in err and "s3cret-pw" not in out + err
    assert json.loads(config.read_text())["smart_portfolio"]["investment"] == 1000  # restored


def test_add_config_files_and_environment_overrides_are_read_as_freqtrade_reads_them(tmp_path, capsys, monkeypatch):
    """Issue 18, item 5: validate said smart_portfolio (missing), commands fell back to ./tradesv3.dryrun.sqlite."""
    ours = tmp_path / "ours.sqlite"
    make_db(ours, prices={"BTC/USDT": 100.0, "ETH/USDT": 10.0})
    (tmp_path / "portfolio.json").write_text(json.dumps({"smart_portfolio": SECTION,
                                                         "db_url": f"sqlite:///{ours}"}))
    main_config = tmp_path / "config.json"
    main_config.write_text(json.dumps({"bot_name": "bot-a", "stake_currency": "USDT", "dry_run": True,
                                       "timeframe": "1m", "add_config_files": ["portfolio.json"],
                                       "exchange": {"name": "binance", "pair_whitelist": ["BTC/USDT", "ETH/USDT"]}}))
    monkeypatch.chdir(tmp_path)  # a default database here must never be picked up
    code, out, _err = run("validate", "-c", str(main_config), capsys=capsys)
    assert code == 0 and "valid: BTC 50 %, ETH 50 %; 1000 USDT" in out
    code, out, err = run("status", "-c", str(main_config), "--json", capsys=capsys)
    assert code == 0, err
    assert json.loads(out)["invested"] == 1000
    assert not (tmp_path / "tradesv3.dryrun.sqlite").exists() and not (tmp_path / "tradesv3.sqlite").exists()
    monkeypatch.setenv("FREQTRADE__SMART_PORTFOLIO__INVESTMENT", "-5")
    code, out, _err = run("validate", "-c", str(main_config), capsys=capsys)
    assert code == 2 and "investment = -5" in out


def test_without_freqtrade_the_same_files_and_environment_are_read(tmp_path, monkeypatch):
    """The backtest-only install (no Freqtrade): the same order, add_config_files and FREQTRADE__ variables."""
    (tmp_path / "sub.json").write_text(json.dumps({"smart_portfolio": SECTION, "stake_currency": "EUR"}))
    top = tmp_path / "top.json"
    top.write_text(json.dumps({"stake_currency": "USDT", "add_config_files": ["sub.json"]}))
    monkeypatch.setenv("FREQTRADE__SMART_PORTFOLIO__THRESHOLD", "2.5")
    with_freqtrade = load_configs([top])
    monkeypatch.setitem(sys.modules, "freqtrade.configuration.load_config", None)
    monkeypatch.setitem(sys.modules, "freqtrade.configuration.environment_vars", None)
    without = load_configs([top])
    for config in (with_freqtrade, without):
        assert config["stake_currency"] == "USDT"  # the file itself wins over its add_config_files
        assert config["smart_portfolio"]["investment"] == 1000 and config["smart_portfolio"]["threshold"] == 2.5


def test_reset_force_never_archives_another_bots_portfolio(tmp_path, capsys):
    url = make_db(tmp_path / "trades.sqlite", bot_name="bot-b")
    config = write_config(tmp_path / "config.json", db_url=url)  # bot_name bot-a
    code, _out, err = run("reset", "-c", str(config), "--force", capsys=capsys)
    assert code == 2 and "belongs to bot 'bot-b'" in err
    with Session(create_engine(url)) as session:
        assert PortfolioStore(session).active() is not None


def test_reset_right_after_a_clean_stop_is_allowed(tmp_path, capsys):
    url = make_db(tmp_path / "trades.sqlite")
    config = write_config(tmp_path / "config.json", db_url=url)
    code, _out, err = run("reset", "-c", str(config), capsys=capsys)
    assert code == 2 and "seems to be running" in err  # saved just now, no clean stop recorded
    with Session(create_engine(url)) as session:
        store = PortfolioStore(session)
        pid = store.active().id
        store.mark_run(pid, started=time.time() - 5)
        store.mark_run(pid, stopped=time.time())
    code, out, err = run("reset", "-c", str(config), capsys=capsys)
    assert code == 0 and "archived" in out, err


def test_status_without_saved_prices_says_n_a_never_zero(tmp_path, capsys):
    # an adopted portfolio with no fill of its own, no saved price and no trade to take one from: n/a
    from smartpf_core import Engine

    url = f"sqlite:///{tmp_path / 'trades.sqlite'}"
    engine = create_engine(url)
    store = PortfolioStore(Session(engine))
    store.create_tables()
    spec = make_spec()
    store.create(Engine.adopt(spec, {p: 0.01 for p in spec.pairs}, 100.0, 1000.0, portfolio_id="p1", seq=1,
                              source="test"), "bot-a")
    store.session.close()
    engine.dispose()
    config = write_config(tmp_path / "config.json", db_url=url)
    code, out, _err = run("status", "-c", str(config), "--json", capsys=capsys)
    view = json.loads(out)
    assert code == 0 and view["value"] is None and view["profit_pct"] is None and view["hodl_value"] is None
    code, out, _err = run("status", "-c", str(config), capsys=capsys)
    assert code == 0 and "value n/a" in out and "value 0.00" not in out and "-100" not in out


def test_status_without_saved_prices_values_coins_at_their_last_fill_marked_stale(tmp_path, capsys):
    url = make_db(tmp_path / "trades.sqlite")  # no view row: no prices saved yet, but the purchase's fills
    config = write_config(tmp_path / "config.json", db_url=url)
    code, out, _err = run("status", "-c", str(config), "--json", capsys=capsys)
    view = json.loads(out)
    assert code == 0 and view["value"] and view["value"] > 0 and all(c["stale"] for c in view["coins"])
    code, out, _err = run("status", "-c", str(config), capsys=capsys)
    assert code == 0 and "-100" not in out and "stale" in out


def test_read_only_commands_never_write_the_database(tmp_path, capsys):
    db = tmp_path / "trades.sqlite"
    url = make_db(db, prices={"BTC/USDT": 100.0, "ETH/USDT": 10.0})
    config = write_config(tmp_path / "config.json", db_url=url)
    before = db.read_bytes()
    os.chmod(db, 0o444)
    for argv in (["status"], ["status", "--json"], ["why"], ["records"]):
        code, _out, err = run(argv[0], "-c", str(config), *argv[1:], capsys=capsys)
        assert code == 0, (argv, err)
    assert db.read_bytes() == before  # no Freqtrade table created, no migration
    tables = {r[0] for r in sqlite3.connect(db).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "trades" not in tables


def test_read_only_commands_on_postgresql_never_write(tmp_path, capsys, postgres):  # noqa: F811
    """The same on a real PostgreSQL server: read-only transactions, no Freqtrade table created."""
    from sqlalchemy import inspect

    url = make_db(postgres.new_database(), prices={"BTC/USDT": 100.0, "ETH/USDT": 10.0})
    config = write_config(tmp_path / "config.json", db_url=url)
    for argv in (["status", "--json"], ["why"], ["records"]):
        code, out, err = run(argv[0], "-c", str(config), *argv[1:], capsys=capsys)
        assert code == 0, (argv, err)
    assert json.loads(run("status", "-c", str(config), "--json", capsys=capsys)[1])["invested"] == 1000
    engine = create_engine(url)
    assert "trades" not in inspect(engine).get_table_names()
    engine.dispose()


@pytest.mark.parametrize("damage", ["corrupt", "locked"])
def test_a_corrupt_or_locked_database_is_one_line_and_exit_2(tmp_path, capsys, damage):
    db = tmp_path / "trades.sqlite"
    url = make_db(db)
    config = write_config(tmp_path / "config.json", db_url=url)
    holder = None
    if damage == "corrupt":
        data = bytearray(db.read_bytes())
        data[100:4096] = os.urandom(3996)
        db.write_bytes(bytes(data))
    else:
        holder = sqlite3.connect(db)
        holder.execute("BEGIN EXCLUSIVE")
    try:
        for argv in (["status"], ["reset"]):
            code, out, err = run(argv[0], "-c", str(config), *argv[1:], capsys=capsys)
            assert code == 2, (argv, out, err)
            assert len(err.strip().splitlines()) == 1 and "SELECT" not in err and "[SQL" not in err, err
            assert "trade database" in err or "--db-url" in err
    finally:
        if holder is not None:
            holder.close()


def test_a_postgresql_url_without_its_driver_names_the_extra(tmp_path, capsys, monkeypatch):
    config = write_config(tmp_path / "config.json", db_url="postgresql://u:pw-secret@127.0.0.1:1/trades")
    for name in ("psycopg", "psycopg2"):
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    code, _out, err = run("status", "-c", str(config), capsys=capsys)
    assert code == 2 and "smartpf[postgres]" in err and "pw-secret" not in err
    assert len(err.strip().splitlines()) == 1


def test_status_into_a_closed_pipe_ends_quietly(tmp_path):
    url = make_db(tmp_path / "trades.sqlite", prices={"BTC/USDT": 100.0, "ETH/USDT": 10.0})
    config = write_config(tmp_path / "config.json", db_url=url)
    out = subprocess.run(f"{sys.executable} -m smartpf.cli status -c {config} | head -c 1", shell=True,
                         capture_output=True, text=True, timeout=60)
    assert "BrokenPipeError" not in out.stderr and "Traceback" not in out.stderr, out.stderr


def test_reconcile_exit_codes_do_not_collide_with_errors():
    from smartpf.cli import reconcile as reconcile_cli

    assert reconcile_cli.DIFFER not in (0, 1, 2)
    assert steer.LOCK_WAIT > steer.CONFIRM_WITHIN  # a waiting command outlasts the one before it


def test_freqtrade_calls_the_strategy_cleanup_at_a_clean_stop():
    """The clean-stop record (SmartPortfolio.ft_bot_cleanup) relies on Freqtrade's cleanup calling it; if an
    upgrade drops the call, `reset` falls back to the 2-minute rule (safe), and this test says so."""
    import inspect

    from freqtrade.freqtradebot import FreqtradeBot

    assert "self.strategy.ft_bot_cleanup()" in inspect.getsource(FreqtradeBot.cleanup)
