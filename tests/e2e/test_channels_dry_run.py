"""End-to-end, offline: the portfolio inside Freqtrade's own channels, on one real dry-run.

A webhook (Freqtrade's own) posts to a server of this test: it receives the portfolio's messages (filtered by
``smart_portfolio.messages`` / ``message_min_value``), the periodic report and the exit fills with their
stable exit reasons. Freqtrade's REST API shows the custom data and the chart columns.
"""

from __future__ import annotations

import base64
import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from smartpf.freqtrade.channels import PLOT_CONFIG
from smartpf.replay.runner import before_shutdown, running_replay
from tests.support.dryrun import DryRun, free_port

pytestmark = pytest.mark.e2e


class Inbox(BaseHTTPRequestHandler):
    posts: list[dict] = []  # noqa: RUF012 - shared by the server's handlers

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        Inbox.posts.append(json.loads(body or b"{}"))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def rest(bot: DryRun, path: str):
    token = base64.b64encode(b"smartpf:smartpf").decode()
    request = urllib.request.Request(f"http://127.0.0.1:{bot.port}/api/v1/{path}",
                                     headers={"Authorization": f"Basic {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_custom_data_exit_reasons_messages_report_and_chart(tmp_path):
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Inbox)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Inbox.posts = []
    webhook = {"enabled": True, "url": f"http://127.0.0.1:{port}/", "format": "json", "retries": 0, "timeout": 5,
               "allow_custom_messages": True,
               "strategy_msg": {"kind": "message", "text": "{msg}"},
               "exit_fill": {"kind": "exit_fill", "pair": "{pair}", "reason": "{exit_reason}"}}
    section = {"assets": {"BTC": 50, "ETH": 50}, "investment": 1000, "threshold": 1,
               "report_every": "1m", "messages": "operations", "message_min_value": 1000000}
    scenario = {"flat": True, "events": [{"pair": "ETH/USDT", "at": "30s", "change_pct": 20}]}
    texts = lambda: [p["text"] for p in Inbox.posts if p.get("kind") == "message"]  # noqa: E731
    try:
        with running_replay(clock="replay", scenario=scenario, pairs=["BTC/USDT", "ETH/USDT"]) as ex:
            bot = DryRun(ex, tmp_path, section, webhook=webhook)
            bot.start()
            try:
                bot.wait_for("the rebalance buy", lambda: any(o["ft_order_side"] == "buy" for o in bot.filled("rb")))
                pid = bot.active_id()
                bot.wait_for("the periodic report", lambda: any(t.startswith(f"smartpf: portfolio {pid}: value")
                                                               for t in texts()), timeout=150)
                bot.wait_for("the exit fill", lambda: any(p.get("kind") == "exit_fill" for p in Inbox.posts))
                sell, buy = bot.filled("rb")
                # the order tag is still the engine order id (the memory matches it); the exit reason is the kind
                assert sell["ft_order_tag"].startswith("rb") and sell["ft_order_tag"].endswith(f":sell:ETH/USDT@{pid}")
                reasons = {r["pair"]: r["exit_reason"] for r in bot.sql("SELECT pair, exit_reason FROM trades")}
                assert reasons == {"BTC/USDT": None, "ETH/USDT": "smartpf_rebalance"}
                fills = [(p["pair"], p["reason"]) for p in Inbox.posts if p.get("kind") == "exit_fill"]
                assert fills == [("ETH/USDT", "smartpf_rebalance")]

                # messages = operations, and the rebalance (about 100 USDT) is below message_min_value: the
                # initial purchase is announced, the rebalance only logged
                assert "smartpf: buying the basket for 1000 USDT" in texts()
                assert any(t.startswith("smartpf: initial init1 done") for t in texts())
                op = sell["ft_order_tag"].split(":")[0]
                bot.wait_for("the rebalance's end, logged", lambda: bot.says(f"rebalance {op} done"), timeout=60)
                assert not any("rebalance rb" in t for t in texts()), texts()

                # custom data, as Telegram's /list_custom_data and REST show it
                data = {row["trade_id"]: {d["key"]: d["value"] for d in row["custom_data"]}
                        for row in rest(bot, "trades/open/custom-data")}
                pairs = {t["id"]: t["pair"] for t in bot.sql("SELECT id, pair FROM trades")}
                by_pair = {pairs[i]: d for i, d in data.items()}
                assert by_pair["ETH/USDT"] == {"smartpf_portfolio": pid, "smartpf_target_pct": 50.0,
                                               "smartpf_band_pct": [49.0, 51.0],
                                               "smartpf_last_operation": sell["ft_order_tag"]}
                assert by_pair["BTC/USDT"]["smartpf_last_operation"] == buy["ft_order_tag"]
                # written only when it changes: the portfolio id was never written twice
                rows = bot.sql("SELECT cd_key, updated_at FROM trade_custom_data")
                assert {r["cd_key"]: r["updated_at"] for r in rows}["smartpf_portfolio"] is None

                # the chart: FreqUI's plot config and each candle's weight against target and band
                assert rest(bot, "plot_config") == PLOT_CONFIG
                candles = rest(bot, "pair_candles?pair=ETH/USDT&timeframe=1m")
                columns = candles["columns"]
                last = dict(zip(columns, candles["data"][-1], strict=True))
                assert last["smartpf_target"] == 50.0 and last["smartpf_band_low"] == 49.0
                assert 45.0 < last["smartpf_weight"] < 55.0
            finally:
                rc = bot.stop()
            assert rc == 130
            assert "Traceback" not in before_shutdown(bot.log())
    finally:
        server.shutdown()
