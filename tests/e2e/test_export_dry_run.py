"""End-to-end, offline: in a real ``freqtrade trade --dry-run`` the export beside the trade database is rewritten
only when the portfolio changed (not over 10 quiet loops), and after a rebalance its records file holds every
record once. Freqtrade loops every second here (``process_throttle_secs``), so the quiet loops take seconds."""

from __future__ import annotations

import json
import time

import pytest

from smartpf.freqtrade.export import records_path
from smartpf.freqtrade.statefile import export_path
from smartpf.replay.runner import running_replay
from tests.support.dryrun import DryRun

pytestmark = pytest.mark.e2e
BASKET = {"assets": {"BTC": 50, "ETH": 50}, "investment": 1000, "threshold": 1}


def loop_time(bot: DryRun) -> float | None:
    """When the bot's latest loop ran (each loop saves its prices in the view, with the loop's time)."""
    rows = bot.sql("SELECT prices_at FROM smartpf_view")
    return rows[0]["prices_at"] if rows else None


def what_changes(path) -> tuple:
    """What may make a loop rewrite the export: the reason's code, the operation, the status, the settings."""
    data = json.loads(path.read_text())
    engine = data["engine"]
    return ((data.get("reason") or {}).get("code"), engine["seq"], json.dumps(engine["op"]), engine["status"],
            json.dumps(engine["spec"]), len(engine["records"]))


def quiet_loops(bot: DryRun, path, loops: int, timeout: float = 150) -> None:
    """Wait for ``loops`` loops in a row that leave the export alone. A rewrite is allowed only with a change
    (a new reason, an operation moving on; the window then starts again); one without a change fails."""
    stamp, changes, seen = path.stat().st_mtime_ns, what_changes(path), set()
    deadline = time.monotonic() + timeout
    while len(seen) <= loops:  # the loop that wrote the baseline, then ``loops`` more
        assert time.monotonic() < deadline, f"only {len(seen)} quiet loops in {timeout} s"
        if path.stat().st_mtime_ns != stamp:
            now = what_changes(path)
            assert now != changes, "the export was rewritten by a quiet loop"
            stamp, changes, seen = path.stat().st_mtime_ns, now, set()
        if (at := loop_time(bot)) is not None:
            seen.add(at)
        time.sleep(0.2)


def test_the_export_is_left_alone_by_quiet_loops_and_holds_each_record_once(tmp_path):
    scenario = {"flat": True, "events": [{"pair": "ETH/USDT", "at": "40s", "change_pct": 20}]}
    with running_replay(clock="replay", scenario=scenario, pairs=["BTC/USDT", "ETH/USDT"]) as ex:
        bot = DryRun(ex, tmp_path, dict(BASKET), internals={"process_throttle_secs": 1})
        bot.start()
        try:
            bot.wait_for("the rebalance done", lambda: (engine := bot.state().get("engine")) and engine["op"] is None
                         and any(r["kind"] == "rebalance" for r in engine["records"]))
            pid = bot.active_id()
            path, records = export_path(bot.user_data, pid), records_path(bot.user_data, pid)
            appended = records.stat().st_mtime_ns
            quiet_loops(bot, path, 10)
            assert records.stat().st_mtime_ns == appended  # nothing appended again

            lines = [json.loads(line) for line in records.read_text().splitlines()]
            ids = [r["id"] for r in lines]
            assert len(ids) == len(set(ids)), ids  # every record once
            assert [r["kind"] for r in lines] == ["initial", "rebalance"]
            saved = bot.sql("SELECT op_id FROM smartpf_record ORDER BY position")
            assert ids == [r["op_id"] for r in saved]  # the same records as the trade database, in order
        finally:
            rc = bot.stop()
        assert rc == 130
