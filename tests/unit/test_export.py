"""The export beside the trade database (``smartpf.freqtrade.export``): written only when the portfolio's state
changed, its finished records appended once each, never rewritten. Through the bot's own save path
(``PortfolioBot.persist``, what each dry-run or live loop calls) on a real Freqtrade trade database."""

from __future__ import annotations

import json

import pytest
from freqtrade.enums import RunMode
from freqtrade.persistence import Trade, init_db

from smartpf.freqtrade import door, export
from smartpf.freqtrade.export import Export, read_export, read_records, records_path
from smartpf.freqtrade.statefile import export_path
from smartpf.freqtrade.store import PortfolioStore
from tests.support.helpers import portfolio_bot, started, tick

PRICES = {"BTC/USDT": 100.0, "ETH/USDT": 10.0}


@pytest.fixture
def bot(tmp_path):
    init_db(f"sqlite:///{tmp_path / 'trades.sqlite'}")
    bot = portfolio_bot(tmp_path / "user_data", "export", RunMode.DRY_RUN)
    bot.store = PortfolioStore(door.own_session())
    bot.store.create_tables()
    bot.engine = started()
    bot.row = bot.store.create(bot.engine, "export")
    yield bot
    bot.store.session.close()
    Trade.session.remove()


def loop(bot, now: float, prices: dict[str, float]) -> None:
    """One loop as the bot runs it: the engine decides (its orders filled at once), then the bot saves."""
    decision = tick(bot.engine, now, prices)
    bot.persist(prices, now, decision.reason)


def stat(path):
    info = path.stat()
    return info.st_ino, info.st_mtime_ns, info.st_size


def test_quiet_loops_leave_the_export_alone_and_a_rebalance_appends_each_record_once(bot, monkeypatch):
    writes = []
    real = export.write_state
    monkeypatch.setattr(export, "write_state", lambda path, data: (writes.append(data), real(path, data)))
    loop(bot, 120.0, PRICES)
    path, records = bot.export.path, bot.export.records_path
    assert len(writes) == 1 and path.exists()
    before = stat(path), stat(records)
    for i in range(10):  # 10 quiet loops: prices wobble inside the threshold, the check time advances
        loop(bot, 180.0 + 60 * i, {"BTC/USDT": 100.0 + (i % 3) * 0.2, "ETH/USDT": 10.0})
    assert bot.engine.last_reason.code == "below_threshold"
    assert len(writes) == 1 and (stat(path), stat(records)) == before  # not rewritten, not even touched

    loop(bot, 900.0, {"BTC/USDT": 130.0, "ETH/USDT": 10.0})  # BTC +30 %: a rebalance, filled at once
    loop(bot, 960.0, {"BTC/USDT": 130.0, "ETH/USDT": 10.0})  # its buys
    for i in range(5):
        loop(bot, 1020.0 + 60 * i, {"BTC/USDT": 130.0, "ETH/USDT": 10.0})
    finished = [r.to_dict() for r in bot.engine.records if r.finished_at is not None]
    assert [r["kind"] for r in finished][-1] == "rebalance"
    lines = records.read_text().splitlines()
    assert [json.loads(line) for line in lines] == json.loads(json.dumps(finished, default=str))  # each once
    assert len(writes) >= 2 and writes[-1]["engine"]["seq"] == bot.engine.seq
    whole = read_export(bot.config["user_data_dir"], bot.row.id)
    assert [r["id"] for r in whole["engine"]["records"]] == [r.id for r in bot.engine.records]

    # a restart (a new Export on the same files) appends nothing it already holds
    again = Export(bot.config["user_data_dir"], bot.row.id, "export")
    again.write(bot.engine, bot.engine.last_reason, bot.details)
    assert records.read_text().splitlines() == lines


def test_a_record_line_cut_short_by_a_kill_is_skipped_and_the_next_record_starts_its_own_line(tmp_path):
    engine = started()
    path = records_path(tmp_path, engine.portfolio_id or "p")
    path.parent.mkdir(parents=True)
    path.write_text('{"id": "init1", "kind": "purch')  # a kill in the middle of the line
    out = Export(tmp_path, engine.portfolio_id or "p", "export")
    out.write(engine, engine.last_reason, None)
    assert [r["id"] for r in read_records(path)] == [r.id for r in engine.records if r.finished_at]
    assert export_path(tmp_path, engine.portfolio_id or "p").exists()
