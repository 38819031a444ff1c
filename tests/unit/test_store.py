"""The portfolio in the trade database, the version-1 import, and order ownership: without Freqtrade running."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import sessionmaker

from smartpf.freqtrade.memory import highest_seq, recall
from smartpf.freqtrade.reconcile import find_ft_order, reconcile
from smartpf.freqtrade.statefile import StateFileError
from smartpf.freqtrade.store import ACTIVE, PortfolioRow, PortfolioStore, RecordRow, StoreError
from smartpf_core import Engine
from smartpf_core.startup import NEW, REFUSE, RESUME
from tests.support.helpers import RULES, make_spec, started, tick


@pytest.fixture
def store(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'trades.sqlite'}")
    session = sessionmaker(bind=engine)()
    s = PortfolioStore(session)
    s.create_tables()
    yield s
    session.close()


def test_a_portfolio_round_trips_through_the_database(store):
    engine = started()
    engine.identify("p1")
    row = store.create(engine, "bot")
    tick(engine, 1000, {"BTC/USDT": 120.0, "ETH/USDT": 10.0})  # a rebalance: sell phase filled
    store.save(row, engine)
    loaded = store.load(store.active())
    assert loaded.to_dict() == engine.to_dict()
    assert [r.kind for r in loaded.records] == [r.kind for r in engine.records]


def test_records_are_appended_and_the_state_rewritten_only_when_it_changed(store):
    engine = started()
    row = store.create(engine, "bot")
    assert engine.portfolio_id == row.id and len(row.id) == 12
    rows = store.session.execute(select(RecordRow)).scalars().all()
    assert [r.op_id for r in rows] == ["init1"]  # the finished initial purchase
    assert store.save(row, engine) is False  # nothing changed: nothing written
    engine.records[0].reason = "rewritten"  # a finished record is never rewritten
    store.save(row, engine)
    (saved,) = store.session.execute(select(RecordRow)).scalars().all()
    assert json.loads(saved.data)["reason"] != "rewritten"


def test_the_sequence_never_goes_back(store):
    engine = started()
    row = store.create(engine, "bot")
    row.seq = 40  # the database has seen operation 40
    store.session.commit()
    assert store.load(row).seq == 40


def test_an_unreadable_saved_state_names_the_portfolio(store):
    row = store.create(started(), "bot")
    row.state = "{not json"
    with pytest.raises(StoreError, match=f"portfolio {row.id}"):
        store.load(row)


def test_one_active_portfolio_and_archived_ones_stay_readable(store):
    first = store.create(started(), "bot")
    store.archive(first)
    assert store.active() is None
    second = store.create(started(), "bot")
    assert store.active().id == second.id and first.id != second.id
    assert store.records(first.id)[0].kind == "initial"
    assert [r.status for r in store.all()] == ["archived", ACTIVE]


# ------------------------------------------------------------------ the version-1 file
def v1_file(tmp_path, engine: Engine) -> object:
    data = engine.to_dict()
    data.pop("portfolio_id")
    data["version"] = 1
    path = tmp_path / "smartpf" / "bot.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps({"engine": data}))
    return path


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"), (b'{"engine": {"vers', "is not valid JSON"), (b"\xff\xfe{}", "is not UTF-8"),
    (b"null", "holds null"), (b"[1, 2]", r"holds \[1, 2\]"), (b'{"engine": null}', "is not a smartpf state"),
    (b'{"engine": {"version": 1}}', "is not a smartpf state"),
])
def test_an_unreadable_state_file_is_named(tmp_path, store, content, message):
    path = tmp_path / "smartpf" / "bot.json"
    path.parent.mkdir()
    path.write_bytes(content)
    with pytest.raises(StateFileError, match=message) as info:
        recall(store, {}, [], path, "bot")
    assert str(path) in str(info.value)


def test_a_version_1_file_whose_trades_are_in_the_database_is_imported_once(tmp_path, store):
    engine = started()
    path = v1_file(tmp_path, engine)
    tags = ["smartpf-entry", "smartpf-entry", "rb2:sell:ETH/USDT", "rb2:buy:BTC/USDT"]
    memory = recall(store, dict(engine.holdings), tags, path, "bot")
    assert memory.decision.action == RESUME and memory.row is not None
    assert memory.engine.seq >= 2  # an older backup: never reuse rb2
    assert not path.exists() and any("imported the state file" in n for n in memory.notes)
    again = recall(store, dict(engine.holdings), tags, path, "bot")  # the file is gone: the database is the truth
    assert again.row.id == memory.row.id and again.decision.action == RESUME


def test_another_bots_file_or_one_from_another_database_is_not_imported(tmp_path, store):
    other = started(make_spec(assets={"BTC": 50, "SOL": 50}), {"BTC/USDT": 100.0, "SOL/USDT": 20.0})
    path = v1_file(tmp_path, other)
    mine = {"BTC/USDT": 5.0, "ETH/USDT": 50.0}
    memory = recall(store, mine, ["smartpf-entry"], path, "bot")
    assert memory.engine is None and memory.decision.action == REFUSE and path.exists()
    assert "does not describe this trade database" in memory.notes[0]
    # a new database (no trade at all): the file is not this database's; a new portfolio
    fresh = recall(store, {}, [], path, "bot")
    assert fresh.decision.action == NEW and fresh.engine is None


def test_highest_seq_reads_every_operation_kind():
    assert highest_seq(["init1:buy:BTC/USDT@p", "rb12:sell:ETH/USDT", "dep3:buy:X", None, "smartpf-entry",
                        "wd4:sell:Y", "exit13:sell:Z", "force_exit"]) == 13


# ------------------------------------------------------------------ ownership of orders
def ft_order(side, tag, when, filled=1.0, price=100.0, status="closed"):
    return SimpleNamespace(ft_order_side=side, ft_order_tag=tag, status=status, safe_filled=filled, safe_price=price,
                           order_date=datetime.fromtimestamp(when, UTC).replace(tzinfo=None), order_filled_date=None)


def test_an_older_order_with_the_same_tag_is_never_booked():
    """The restored-backup case: rb2 happened (0.0195 ETH @ 2556.72); the sequence went back, a new rb2 was
    placed (0.0248 @ 3323.74), then a crash. Only the order placed after the operation started is booked."""
    engine = started(make_spec(assets={"BTC": 50, "ETH": 50}), {"BTC/USDT": 30000.0, "ETH/USDT": 2500.0})
    decision = tick(engine, 10_000, {"BTC/USDT": 30000.0, "ETH/USDT": 2900.0}, fill=False)
    (sell,) = decision.orders
    old = ft_order("sell", sell.id, when=5_000, filled=0.0195, price=2556.72)
    new = ft_order("sell", sell.id, when=10_001, filled=0.0248, price=3323.74)
    trade = SimpleNamespace(orders=[old, new], entry_side="buy", fee_open=0.001, fee_close=0.001)
    found, _ = find_ft_order(sell, [trade], 10_000)
    assert found is new
    cash = engine.cash
    reconcile(engine, {"ETH/USDT": [trade]}, 10_002, 10_000)
    assert engine.cash == pytest.approx(cash + 0.0248 * 3323.74 * 0.999)
    trade.orders = [old]  # only the old one: nothing booked, the order was never placed
    assert find_ft_order(sell, [trade], 10_000) is None


def test_an_entry_of_another_portfolio_is_not_ours():
    engine = Engine(make_spec(), RULES, portfolio_id="mine")
    orders = engine.step(__import__("smartpf_core").Snapshot(100, {"BTC/USDT": 100.0, "ETH/USDT": 10.0})).orders
    theirs = SimpleNamespace(orders=[ft_order("buy", "smartpf-entry@theirs", when=101)], entry_side="buy",
                             fee_open=0.001, fee_close=0.001)
    ours = SimpleNamespace(orders=[ft_order("buy", "smartpf-entry@mine", when=101, filled=49.9, price=10.0)],
                           entry_side="buy", fee_open=0.001, fee_close=0.001)
    reconcile(engine, {"BTC/USDT": [theirs], "ETH/USDT": [ours]}, 102, 100)
    status = {o.pair: engine.order_status(o.id) for o in orders}
    assert status == {"BTC/USDT": "planned", "ETH/USDT": "filled"}


def test_rows_use_portable_types():
    """SQLite and PostgreSQL: no dialect-specific column type."""
    for table in (PortfolioRow.__table__, RecordRow.__table__):
        for column in table.columns:
            assert type(column.type).__module__ == "sqlalchemy.sql.sqltypes", column
