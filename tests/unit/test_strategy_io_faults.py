"""I/O faults never stop the bot or spoil Freqtrade's session (issue 18 items 6 and 7), without Freqtrade running:
the bot's own save path (``PortfolioBot.persist``, the strategy's host) on a real SQLite database with a fault injected
below SQLAlchemy (the driver answers "database or disk is full", as SQLite does on a full disk), and an export
path that cannot be written."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from freqtrade.enums import RunMode
from freqtrade.persistence import Trade, init_db
from freqtrade.persistence.pairlock import PairLock
from sqlalchemy import event
from sqlalchemy.orm import Session

from smartpf.freqtrade import door as ftdoor
from smartpf.freqtrade.statefile import export_path, read_state
from smartpf.freqtrade.store import PortfolioStore, SaveError
from tests.support.helpers import portfolio_bot, started, tick

PRICES = {"BTC/USDT": 100.0, "ETH/USDT": 10.0}


class DiskFull:
    """Fails every write to smartpf's tables while ``on``, as SQLite does when the disk is full."""

    def __init__(self, engine) -> None:
        self.on = False
        self.failed = 0
        event.listen(engine, "before_cursor_execute", self._check)

    def _check(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if self.on and statement.lstrip().upper().startswith(("INSERT", "UPDATE")) and "smartpf_" in statement:
            self.failed += 1
            raise sqlite3.OperationalError("database or disk is full")


@pytest.fixture
def bot(tmp_path):
    """A SmartPortfolio that has just saved a running portfolio through its own session (``ftdoor.own_session``)
    on a real Freqtrade trade database (``init_db``), whose own session is ``Trade.session``."""
    init_db(f"sqlite:///{tmp_path / 'trades.sqlite'}")
    strategy = portfolio_bot(tmp_path / "user_data", "io-faults", RunMode.DRY_RUN)
    strategy.store = PortfolioStore(ftdoor.own_session())
    strategy.store.create_tables()
    strategy.engine = started()
    strategy.row = strategy.store.create(strategy.engine, "io-faults")
    db = Trade.session.get_bind()
    fault = DiskFull(db)
    yield SimpleNamespace(strategy=strategy, fault=fault, db=db, tmp_path=tmp_path)
    event.remove(db, "before_cursor_execute", fault._check)
    strategy.store.session.close()
    Trade.session.remove()


def warnings(caplog, fragment: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and fragment in r.getMessage()]


def test_a_failed_save_is_rolled_back_said_once_retried_and_freqtrades_session_stays_usable(bot, caplog):
    caplog.set_level(logging.INFO)
    strategy, engine = bot.strategy, bot.strategy.engine
    bot.fault.on = True
    for t in (120, 180, 240):  # a rebalance and more loops while the disk is full
        tick(engine, t, {"BTC/USDT": 130.0, "ETH/USDT": 10.0} if t == 120 else PRICES)
        strategy.persist(PRICES, float(t), engine.last_reason)  # never raises
    assert bot.fault.failed >= 3
    assert len(warnings(caplog, "cannot save the portfolio to the trade database")) == 1  # said once
    assert "database or disk is full" in warnings(caplog, "cannot save")[0]
    # Freqtrade's own session on the same database is untouched: it reads and commits as before
    Trade.session.add(PairLock(pair="BTC/USDT", reason="io test", side="*", lock_time=datetime.now(UTC),
                               lock_end_time=datetime.now(UTC) + timedelta(minutes=1), active=True))
    Trade.commit()
    assert Trade.get_trades_proxy() == [] and len(PairLock.get_all_locks().all()) == 1

    bot.fault.on = False  # space again: the next loop saves everything the failed ones could not, once
    strategy.persist(PRICES, 300.0, engine.last_reason)
    fresh = PortfolioStore(Session(bot.db))
    loaded = fresh.load(fresh.active())
    assert loaded.to_dict() == engine.to_dict()
    assert [r.id for r in fresh.records(engine.portfolio_id)] == [r.id for r in engine.records if r.finished_at]
    assert fresh.view(engine.portfolio_id).prices_at == 300.0
    assert any("saved to the trade database again" in r.getMessage() for r in caplog.records)


def test_the_store_rolls_back_its_own_session_and_names_the_error(bot):
    store, engine = bot.strategy.store, bot.strategy.engine
    bot.fault.on = True
    tick(engine, 120, {"BTC/USDT": 130.0, "ETH/USDT": 10.0})
    with pytest.raises(SaveError, match="OperationalError: database or disk is full"):
        store.save(bot.strategy.row, engine)
    bot.fault.on = False
    assert store.save(bot.strategy.row, engine) is True  # the same session works at once
    assert [r.id for r in store.records(engine.portfolio_id)] == [r.id for r in engine.records if r.finished_at]


@pytest.mark.parametrize("blocker", ["directory", "parent is a file"])
def test_an_export_that_cannot_be_written_is_a_warning_said_once(bot, caplog, blocker):
    caplog.set_level(logging.INFO)
    strategy = bot.strategy
    path = export_path(strategy.config["user_data_dir"], strategy.row.id)
    if blocker == "directory":
        path.mkdir(parents=True)
    else:
        path.parent.parent.mkdir(parents=True)
        path.parent.write_text("not a folder")
    for t in (60.0, 120.0, 180.0):
        strategy.persist(PRICES, t, strategy.engine.last_reason)  # never raises
    assert len(warnings(caplog, "cannot write the export")) == 1
    fresh = PortfolioStore(Session(bot.db))
    assert fresh.view(strategy.row.id).prices_at == 180.0  # the database save went on
    if blocker == "directory":
        path.rmdir()
        strategy.persist(PRICES, 240.0, strategy.engine.last_reason)
        assert read_state(path)["portfolio_id"] == strategy.row.id
        assert any("is written again" in r.getMessage() for r in caplog.records)
