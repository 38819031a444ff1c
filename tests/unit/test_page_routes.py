"""The portfolio page's routes with FastAPI's TestClient, against a stopped bot's database: what it shows, the
JSON API (and `--url` reading it), the password, the CSRF token, POST only, the Host check, and bad input."""

from __future__ import annotations

import argparse
import base64
import html as markup
import json
import re

import pytest
from fastapi.testclient import TestClient

from smartpf.cli import main
from smartpf.page import actions, serve
from smartpf.page.guard import PASSWORD_ENV
from tests.support.stopped_bot import ASSETS, stopped_bot

LOOPBACK = "http://127.0.0.1:8090"


@pytest.fixture(scope="module")
def bot(tmp_path_factory, datadir):
    folder = tmp_path_factory.mktemp("stopped")
    config, url, run = stopped_bot(folder, datadir)
    return argparse.Namespace(config=config, url=url, run=run, datadir=datadir, folder=folder)


def make_app(bot, password=None, host="127.0.0.1", monkeypatch=None):
    if monkeypatch is not None:
        if password is None:
            monkeypatch.delenv(PASSWORD_ENV, raising=False)
        else:
            monkeypatch.setenv(PASSWORD_ENV, password)
    args = argparse.Namespace(config=[str(bot.config)], db_url=bot.url, host=host, port=8090, file=None,
                              bot_url=None, datadir=str(bot.datadir), timeframe=None)
    app, _ = serve.prepare(args)
    return app


@pytest.fixture(scope="module")
def client(bot):
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(PASSWORD_ENV, raising=False)
        yield TestClient(make_app(bot), base_url=LOOPBACK)


def token(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_the_page_shows_the_stopped_bots_portfolio(client, bot, capsys):
    page = client.get("/")
    assert page.status_code == 200, page.text
    html = page.text
    for coin in ASSETS:
        assert f'data-coin="{coin}"' in html
    engine = bot.run.engine
    assert engine.to_dict()["started_at"]
    assert "stopped" in html and "every coin is inside its band" in html and "largest_deviation=1.25" in html
    assert 'id="chart-value"' in html and "/plotly.min.js" in html  # the report's chart, its script served apart
    assert "40.00 %" in html and "38.00–42.00 %" in html  # BTC's target and band (threshold 2 points)
    assert html.count('name="csrf"') == html.count("<form") == 4  # add, withdraw, set, terminate
    assert 'href="/records.csv"' in html
    # the same figures as `smartpf status --json`
    assert main(["status", "-c", str(bot.config), "--db-url", bot.url, "--json"]) == 0
    local = json.loads(capsys.readouterr().out)
    api = client.get("/api/portfolio").json()
    assert api.pop("portfolio_id") and api.pop("stake_currency") == "USDT"
    assert {k: v for k, v in api.items() if k != "next_check"} == {
        k: v for k, v in local.items() if k != "next_check"}
    assert f"{local['value']:,.2f} USDT" in html
    assert client.get("/plotly.min.js").text.startswith("/**")


def test_records_csv_and_why_are_the_commands_own(client, bot, capsys, tmp_path):
    assert main(["records", "-c", str(bot.config), "--db-url", bot.url]) == 0
    local = capsys.readouterr().out
    csv = client.get("/records.csv")
    assert csv.status_code == 200 and csv.text == local and csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    rows = client.get("/api/records").json()["records"]
    assert len(rows) == len(local.splitlines()) - 1 == bot.run.orders
    since = rows[-1]["time"]
    assert len(client.get("/api/records", params={"since": since}).json()["records"]) >= 1
    bad = client.get("/api/records", params={"since": "yesterday"})
    assert bad.status_code == 400 and "--since 'yesterday'" in bad.json()["error"]
    why = client.get("/api/why").json()
    assert why["reasons"][0]["code"] == "below_threshold" and why["rejected"] is None


def test_the_cli_reads_the_api_with_url(client, bot, capsys, monkeypatch, tmp_path):
    """`status / why / records --url` print exactly what the local commands print (the HTTP call goes to the
    TestClient)."""
    from smartpf.page import remote

    def fetch(url, path, query=None):
        assert url == LOOPBACK
        answer = client.get(path, params=query)
        assert answer.status_code == 200, answer.text
        return answer.json()

    monkeypatch.setattr(remote, "fetch", fetch)
    local_args = ["-c", str(bot.config), "--db-url", bot.url]
    for command, extra in (("status", ["--json"]), ("why", []), ("records", []),
                           ("records", ["--since", "2024-01-20T00:00Z"])):
        assert main([command, *local_args, *extra]) == 0
        local = capsys.readouterr().out
        assert main([command, "--url", LOOPBACK, *extra]) == 0
        remote_out = capsys.readouterr().out
        if command == "status":
            local, remote_out = (json.loads(t) for t in (local, remote_out))
            local.pop("next_check"), remote_out.pop("next_check")
        assert remote_out == local, command
    assert main(["status", "--url", LOOPBACK]) == 0
    assert "BTC" in capsys.readouterr().out
    assert main(["status", "--url", LOOPBACK, "-c", str(bot.config)]) == 2
    assert "give it alone" in capsys.readouterr().err


def test_url_errors_are_one_line_and_never_show_the_password(bot, capsys, monkeypatch):
    import threading

    import uvicorn

    monkeypatch.setenv(PASSWORD_ENV, "a-good-secret")
    app = make_app(bot, "a-good-secret", "127.0.0.1")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            thread.join(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        assert main(["why", "--url", url]) == 0
        assert "below_threshold" in capsys.readouterr().out
        monkeypatch.setenv(PASSWORD_ENV, "not-the-secret")
        assert main(["status", "--url", url]) == 2
        err = capsys.readouterr().err
        assert "needs its password" in err and "refused" in err and "secret" not in err.replace(PASSWORD_ENV, "")
        monkeypatch.delenv(PASSWORD_ENV)
        assert main(["records", "--url", url]) == 2
        assert f"set {PASSWORD_ENV}" in capsys.readouterr().err
        assert main(["status", "--url", f"http://user:pw@127.0.0.1:{port}"]) == 2
        err = capsys.readouterr().err
        assert "not in the URL" in err and "pw" not in err
        assert main(["status", "--url", "ftp://x"]) == 2
        assert main(["status", "--url", f"{url}/nothing-here"]) == 2
        assert "Traceback" not in capsys.readouterr().err
    finally:
        server.should_exit = True
        thread.join(10)


def test_a_password_is_required_when_set(bot, monkeypatch):
    client = TestClient(make_app(bot, "correct horse", "0.0.0.0", monkeypatch), base_url="http://192.0.2.7:8090")
    for path in ("/", "/api/portfolio", "/api/records", "/api/why", "/records.csv", "/plotly.min.js"):
        answer = client.get(path)
        assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Basic"), path
    wrong = base64.b64encode(b"smartpf:wrong horse").decode()
    assert client.get("/", headers={"Authorization": f"Basic {wrong}"}).status_code == 401
    assert client.get("/", headers={"Authorization": "Basic !!!"}).status_code == 401
    assert client.get("/", headers={"Authorization": "Bearer correct horse"}).status_code == 401
    assert client.post("/actions/add", data={"amount": "5"}).status_code == 401
    page = client.get("/", auth=("anyone", "correct horse"))
    assert page.status_code == 200 and "correct horse" not in page.text
    assert client.get("/api/portfolio", auth=("smartpf", "correct horse")).json()["stake_currency"] == "USDT"


def test_other_hosts_need_a_password_and_bad_input_exits_2(bot, monkeypatch, capsys, tmp_path):
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    base = ["serve", "-c", str(bot.config), "--db-url", bot.url]
    for host in ("0.0.0.0", "192.168.1.5", "::"):
        assert main([*base, "--host", host]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and PASSWORD_ENV in err and f"--host {host}" in err
    monkeypatch.setenv(PASSWORD_ENV, "short")
    assert main([*base, "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert "at least 8" in err and "short" not in err.replace("shortest", "")
    monkeypatch.delenv(PASSWORD_ENV)
    assert main([*base, "--port", "70000"]) == 2
    assert "--port 70000" in capsys.readouterr().err
    assert main(["serve", "-c", str(tmp_path / "missing.json")]) == 2
    assert "missing.json" in capsys.readouterr().err
    assert main(["serve", "-c", str(bot.config), "--db-url", f"sqlite:///{tmp_path / 'none.sqlite'}"]) == 2
    err = capsys.readouterr().err
    assert "no trade database there" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as exit_:
        main([*base, "--port", "eighty"])
    assert exit_.value.code == 2


def test_without_a_password_only_loopback_names_are_answered(bot, monkeypatch):
    """A DNS-rebinding site (its own name resolving to 127.0.0.1) is refused."""
    app = make_app(bot, None, "127.0.0.1", monkeypatch)
    assert TestClient(app, base_url="http://localhost:8090").get("/api/why").status_code == 200
    assert TestClient(app, base_url="http://[::1]:8090").get("/api/why").status_code == 200
    assert TestClient(app, base_url="http://evil.example:8090").get("/api/why").status_code == 421


def test_forms_need_the_csrf_token_and_post(client, monkeypatch):
    calls = []
    monkeypatch.setattr(actions.Steering, "run", lambda self, kind, form: calls.append((kind, form)) or
                        actions.Outcome(True, f"{kind} applied"))
    csrf = token(client.get("/").text)
    for kind in ("add", "withdraw", "set", "terminate"):
        assert client.get(f"/actions/{kind}").status_code == 405  # a link or an image cannot change anything
        missing = client.post(f"/actions/{kind}", data={"amount": "5", "how": "sell", "confirm": "yes"})
        assert missing.status_code == 403 and "token" in missing.text
        forged = client.post(f"/actions/{kind}", data={"csrf": "x" * 43, "amount": "5", "how": "sell",
                                                       "confirm": "yes"})
        assert forged.status_code == 403
    other_site = client.post("/actions/add", data={"csrf": csrf, "amount": "5"},
                             headers={"Origin": "https://evil.example"})
    assert other_site.status_code == 403
    hidden = client.post("/actions/add", data={"csrf": csrf, "amount": "5"}, headers={"Origin": "null"})
    assert hidden.status_code == 403
    assert calls == []
    # a browser sends the page's own Origin with a form only under this policy (no-referrer would send "null")
    page = client.get("/")
    assert page.headers["referrer-policy"] == "same-origin" and page.headers["x-frame-options"] == "DENY"
    done = client.post("/actions/add", data={"csrf": csrf, "amount": "200"}, headers={"Origin": LOOPBACK})
    assert done.status_code == 200 and "add applied" in done.text
    assert calls == [("add", {"amount": "200"})]
    assert client.post("/actions/nothing", data={"csrf": csrf}).status_code == 404
    big = client.post("/actions/add", data={"csrf": csrf, "amount": "1" * 20000})
    assert big.status_code == 413


def test_terminate_asks_for_a_confirmation_first(client, monkeypatch):
    calls = []
    monkeypatch.setattr(actions.Steering, "run", lambda self, kind, form: calls.append((kind, form)) or
                        actions.Outcome(True, "terminate with sell: written"))
    csrf = token(client.get("/").text)
    ask = client.post("/actions/terminate", data={"csrf": csrf, "how": "sell"})
    assert ask.status_code == 200 and calls == []
    assert "sold at market to USDT" in ask.text and "BTC" in ask.text
    assert 'name="confirm" value="yes"' in ask.text and token(ask.text) == csrf
    keep = client.post("/actions/terminate", data={"csrf": csrf, "how": "keep"})
    assert "stay in the account" in keep.text and calls == []
    assert client.post("/actions/terminate", data={"csrf": csrf, "how": "burn"}).status_code == 400
    done = client.post("/actions/terminate", data={"csrf": csrf, "how": "sell", "confirm": "yes"})
    assert done.status_code == 200 and calls == [("terminate", {"how": "sell", "confirm": "yes"})]


@pytest.mark.parametrize("kind, form, said", [
    ("add", {"amount": ""}, "amount: empty"),
    ("add", {"amount": "ten"}, "not a number"),
    ("add", {"amount": "-5"}, "must be more than 0"),
    ("withdraw", {"amount": "nan"}, "not a number"),
    ("set", {}, "nothing to set"),
    ("set", {"threshold": "x"}, "threshold 'x': not a number"),
    ("set", {"threshold_type": "sideways"}, "absolute or relative"),
    ("set", {"take_profit": "lots"}, "--take-profit 'lots': not a number"),
])
def test_bad_form_input_is_one_message_and_changes_nothing(client, bot, kind, form, said):
    """Refused before anything is written (the stopped bot's config stays as it was)."""
    before = bot.config.read_text()
    csrf = token(client.get("/").text)
    answer = client.post(f"/actions/{kind}", data={"csrf": csrf, **form})
    text = markup.unescape(answer.text)
    assert answer.status_code == 400 and said in text and "Traceback" not in text
    assert 'id="outcome"' in text
    assert bot.config.read_text() == before


def test_a_change_the_stopped_bot_cannot_take_is_refused_and_restored(client, bot):
    """The steering path itself (no mock): the REST API does not answer, so the file is restored."""
    before = bot.config.read_text()
    csrf = token(client.get("/").text)
    answer = client.post("/actions/add", data={"csrf": csrf, "amount": "200"})
    said = re.search(r'id="outcome"[^>]*>(.*?)</p>', markup.unescape(answer.text), re.S).group(1)
    assert answer.status_code == 400, said
    assert "no bot answers" in said and "restored" in said and "serve --bot-url" in said, said
    assert bot.config.read_text() == before


def test_one_change_at_a_time(client, bot):
    csrf = token(client.get("/").text)
    before = bot.config.read_text()
    with actions.ACTION_LOCK:  # a change still being applied
        answer = client.post("/actions/withdraw", data={"csrf": csrf, "amount": "10"})
    assert answer.status_code == 400 and "still being applied" in answer.text
    assert bot.config.read_text() == before


def test_a_database_without_a_portfolio_is_said_on_the_page(tmp_path, monkeypatch, capsys):
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    from smartpf.freqtrade.store import PortfolioStore

    db = tmp_path / "empty.sqlite"
    session = sessionmaker(bind=create_engine(f"sqlite:///{db}"))()
    PortfolioStore(session).create_tables()
    session.close()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"stake_currency": "USDT", "timeframe": "1h", "dry_run": True,
                                  "smart_portfolio": {"assets": ASSETS, "investment": 1000}}))
    bot = argparse.Namespace(config=config, url=f"sqlite:///{db}", datadir=tmp_path)
    client = TestClient(make_app(bot, None, "127.0.0.1", monkeypatch), base_url=LOOPBACK)
    assert "holds no portfolio yet" in capsys.readouterr().err
    page = client.get("/")
    assert page.status_code == 404 and "no portfolio yet" in page.text
    assert client.get("/api/portfolio").json()["error"].endswith("start the bot")


def test_without_the_candles_the_page_says_why_there_is_no_chart(bot, monkeypatch, tmp_path):
    empty = argparse.Namespace(config=bot.config, url=bot.url, datadir=tmp_path)
    page = TestClient(make_app(empty, None, "127.0.0.1", monkeypatch), base_url=LOOPBACK).get("/")
    assert page.status_code == 200
    said = markup.unescape(page.text)
    assert "No chart: --datadir" in said and "chart-value" not in said and "/plotly.min.js" not in said
    assert 'data-coin="BTC"' in said  # the rest of the page is there


def test_the_guard_words():
    from smartpf.page.guard import Guard, GuardError, check_listen, is_loopback

    assert all(is_loopback(h) for h in ("127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]", "LOCALHOST"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.5", "example.com", "localhost.evil.com"))
    check_listen("127.0.0.1", None)
    with pytest.raises(GuardError):
        check_listen("0.0.0.0", None)
    guard = Guard("pässword:with:colons")
    basic = "Basic " + base64.b64encode("anyone:pässword:with:colons".encode()).decode()
    assert guard.authorised(basic) and not guard.authorised(basic[:-4]) and not guard.authorised(None)
    assert guard.host_ok("evil.example")  # with a password any name may be used (a LAN name, a proxy)
    assert not Guard(None).host_ok("127.0.0.1.evil.example:8090") and Guard(None).host_ok("127.0.0.1:8090")
    assert Guard(None).csrf != Guard(None).csrf and len(guard.csrf) >= 40
    assert guard.same_origin(None, "h:1") and guard.same_origin("http://h:1", "h:1")
    assert not guard.same_origin("null", "h:1") and not guard.same_origin("http://other:1", "h:1")
