"""The portfolio page in a real browser (headless Chromium): against a stopped bot's database the page names
every coin and draws the report's value-vs-HODL chart; against a running `freqtrade trade --dry-run` on the
replay exchange, with a password, the page names every coin and submitting "add 200" in its form raises the
investment, confirmed from the trade database (the deposit's orders, the saved settings)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from smartpf.page.guard import PASSWORD_ENV
from smartpf.replay.runner import running_replay
from tests.support.cdp import Browser
from tests.support.dryrun import DryRun, free_port
from tests.support.stopped_bot import ASSETS, stopped_bot

SMARTPF = str(Path(sys.executable).parent / "smartpf")
PASSWORD = "page-secret-for-tests"
COINS_JS = "Array.from(document.querySelectorAll('tr.coin')).map(r => r.dataset.coin)"


class Page:
    """``smartpf serve`` as a user starts it, on a free port."""

    def __init__(self, config: Path, db_url: str, workdir: Path, password: str | None = None, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.password = password
        env = {k: v for k, v in os.environ.items() if k != PASSWORD_ENV}
        if password:
            env[PASSWORD_ENV] = password
        self.log = workdir / "serve.log"
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([SMARTPF, "serve", "-c", str(config), "--db-url", db_url, "--port",
                                          str(self.port), *extra], stdout=log, stderr=subprocess.STDOUT, env=env,
                                         cwd=workdir)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                self.get("/api/why")
                return
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        self.stop()
        raise AssertionError("smartpf serve did not answer: " + self.log.read_text())

    def headers(self) -> dict[str, str]:
        if not self.password:
            return {}
        return {"Authorization": "Basic " + base64.b64encode(f"me:{self.password}".encode()).decode()}

    def get(self, path: str) -> dict:
        request = urllib.request.Request(self.url + path, headers=self.headers())
        with urllib.request.urlopen(request, timeout=150) as answer:
            return json.loads(answer.read())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)


@pytest.mark.e2e
def test_a_stopped_bots_page_names_every_coin_and_draws_the_chart(tmp_path, datadir):
    config, db_url, _run = stopped_bot(tmp_path, datadir)
    page = Page(config, db_url, tmp_path, None, "--datadir", str(datadir))
    browser = Browser(tmp_path / "profile")
    try:
        browser.call("Page.navigate", url=page.url + "/")
        coins = browser.wait_for("the coins", f"document.readyState === 'complete' && {COINS_JS}", 60)
        assert sorted(coins) == sorted(ASSETS)
        # plotly drew the chart (its SVG layers), from the script the page serves
        assert browser.wait_for("the chart", "document.querySelectorAll('#chart-value .main-svg').length", 60) >= 2
        assert browser.evaluate("document.querySelectorAll('#chart-value .scatterlayer .trace').length") >= 2
        assert browser.evaluate("document.getElementById('status').textContent") == "stopped"
    finally:
        browser.close()
        page.stop()


@pytest.mark.e2e
def test_add_200_from_the_page_raises_the_running_bots_investment(tmp_path):
    pairs = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    with running_replay(clock="replay", scenario={"flat": True}, pairs=pairs) as ex:
        bot = DryRun(ex, tmp_path, {"assets": {"BTC": 40, "ETH": 30, "SOL": 30}, "investment": 1000,
                                    "threshold": 3})
        bot.start()
        page = browser = None
        try:
            bot.wait_for("the basket", lambda: len(bot.filled("smartpf-entry")) == 3)
            page = Page(bot.config_path, bot.url(), tmp_path, PASSWORD)
            bot.wait_for("the basket booked", lambda: page.get("/api/portfolio")["status"] == "running"
                         and page.get("/api/portfolio")["prices_at"])
            browser = Browser(tmp_path / "profile")
            browser.call("Network.enable")
            browser.call("Network.setExtraHTTPHeaders", headers=page.headers())  # the password, as a user types it
            browser.call("Page.navigate", url=page.url + "/")
            coins = browser.wait_for("the coins", f"document.readyState === 'complete' && {COINS_JS}", 60)
            assert sorted(coins) == ["BTC", "ETH", "SOL"]
            assert browser.evaluate("document.getElementById('invested').textContent") == "1,000.00"
            browser.evaluate("document.getElementById('add-amount').value = '200'; "
                             "document.getElementById('add-submit').click(); true")
            outcome = browser.wait_for("the outcome", "document.getElementById('outcome') && "
                                       "document.getElementById('outcome').textContent", 150)
            assert outcome.startswith("Done: investment raised by 200"), outcome
            assert "the bot reloaded and took it" in outcome
            # the evidence: the bot saved the new settings and bought with the deposit
            saved = json.loads(bot.sql("SELECT state FROM smartpf_portfolio WHERE status = 'active'")[0]["state"])
            assert saved["spec"]["investment"] == 1200 and saved["spec"]["generation"] == 1
            bot.wait_for("the deposit's orders", lambda: len(bot.filled("dep")) >= 1)
            assert page.get("/api/portfolio")["invested"] == 1200
            assert json.loads(bot.config_path.read_text())["smart_portfolio"]["investment"] == 1200
            browser.call("Page.navigate", url=page.url + "/")
            browser.wait_for("the page again", "document.getElementById('invested') && "
                             "document.getElementById('invested').textContent === '1,200.00'", 60)
            # the command line reads the same page remotely, with the password from the environment
            env = dict(os.environ, **{PASSWORD_ENV: PASSWORD})
            remote = subprocess.run([SMARTPF, "status", "--url", page.url, "--json"], capture_output=True,
                                    text=True, timeout=150, env=env)
            assert remote.returncode == 0, remote.stderr
            assert json.loads(remote.stdout)["invested"] == 1200 and PASSWORD not in remote.stdout + remote.stderr
        finally:
            if browser is not None:
                browser.close()
            if page is not None:
                page.stop()
            bot.stop()
