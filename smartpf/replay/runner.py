"""Start the real replay exchange as a subprocess, and freqtrade against it: ``smartpf ft-backtest`` runs
its backtests this way, and so do the tests, the benchmarks and scripts.

Usage::

    from smartpf.replay.runner import running_replay

    with running_replay(clock="replay", scenario={"flat": True, "events": [
            {"pair": "ETH/USDT", "at": "2m", "change_pct": 20}]}) as ex:
        ex.url                      # "http://127.0.0.1:43121"
        ex.port                     # 43121
        config = ex.config_for()    # user_data/config.replay.json with the port substituted (a dict)
        ex.write_config(tmp_path / "config.json", {"db_url": "sqlite:///..."})
        ex.set_faults(outage=True)  # POST /_smartpf/faults; also frozen=, latency_ms=, latency_paths=,
                                    #   fail_rate=, seed=; returns the new state
        ex.state()                  # GET /_smartpf/state: clock, times, faults, request counters
        ex.get("/api/v3/ticker/price", symbol="BTCUSDT")  # -> (status, decoded JSON or None)
        ex.log_text()               # the server's stderr so far (unknown paths, injected faults...)
        run_freqtrade("list-markets", "-c", cfg, "--userdir", userdir)  # the real program, captured
    # on exit: SIGINT, then SIGKILL after ``stop_timeout`` seconds

``running_replay`` keyword arguments (all optional): ``clock`` ("history" | "replay"), ``start``
(ISO 8601, replay clock), ``scenario`` (a path or a dict, written to a temp file), ``fail_rate``,
``seed``, ``latency_ms``, ``latency_paths`` (list), ``datadir``, ``markets``, ``pairs`` (list),
``timeframes`` (list), ``warmup`` (candles), ``protocol`` ("binance" | "okx" | "xt"; ``markets`` must then be
that exchange's ccxt file, and ``config_for()`` starts from user_data/config.replay-<protocol>.json),
``extra_args`` (list of more CLI arguments),
``startup_timeout`` (s), ``stop_timeout`` (s), ``log_requests`` (bool); with ``accounts=True`` the signed
API is on: ``balances`` ({"USDT": 10000}), ``fee``, ``fee_asset``, ``partial_fills``, ``ledger`` (a path), and
``ex.account()``, ``ex.deposit()``, ``ex.withdraw()``, ``ex.halt()``, ``ex.set_filters()`` drive it
(``ex.config_for(LIVE_CONFIGS[ex.protocol])`` is the dry_run false config of the server's protocol).
The server binds 127.0.0.1 on a free port (``--port 0``); its stderr goes to ``ex.log_path``.

``freqtrade_command(*args)`` / ``run_freqtrade(*args, timeout=...)`` run ``python -m freqtrade`` with
this interpreter (give ``--userdir``/``--datadir``/``--db-url`` in tmp so nothing lands in the repo).
"""

from __future__ import annotations

import copy
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from smartpf.errors import ReplayError
from smartpf.paths import REPO_ROOT, USER_DATA

REPLAY_CONFIG = USER_DATA / "config.replay.json"
REPLAY_LIVE_CONFIG = USER_DATA / "config.replay-live.json"  # dry_run false, for a server with accounts=True
# The dry_run false config of each --protocol (a server with accounts=True).
LIVE_CONFIGS = {"binance": REPLAY_LIVE_CONFIG, "okx": USER_DATA / "config.replay-live-okx.json",
                "xt": USER_DATA / "config.replay-live-xt.json"}
# The dry-run config of each --protocol: ``config_for()`` starts from the one of the server's protocol.
PROTOCOL_CONFIGS = {"binance": REPLAY_CONFIG, "okx": USER_DATA / "config.replay-okx.json",
                    "xt": USER_DATA / "config.replay-xt.json"}
CONFIG_ADDRESS = "127.0.0.1:8765"


class ReplayStartError(ReplayError, RuntimeError):
    """The server did not print its readiness line in time; the message holds its stderr."""


def _merge(base: dict, extra: dict) -> dict:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


class ReplayExchange:
    """A running replay server (see the module docstring)."""

    def __init__(self, process: subprocess.Popen, readiness: str, log_path: Path, protocol: str = "binance") -> None:
        self.process = process
        self.protocol = protocol
        self.readiness = readiness
        self.log_path = log_path
        self.url = readiness.split(" on ", 1)[1].split()[0]
        parsed = urllib.parse.urlsplit(self.url)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = int(parsed.port or 0)
        self.token: str | None = None  # sent as X-Smartpf-Token when the server wants one

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def get(self, path: str, timeout: float = 10.0, **params: object) -> tuple[int, object]:
        """GET a path; returns (HTTP status, decoded JSON body or None)."""
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        return self._request("GET", path + (f"?{query}" if query else ""), None, timeout)

    def _request(self, method: str, path: str, body: dict | None, timeout: float) -> tuple[int, object]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["X-Smartpf-Token"] = self.token
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        return status, (json.loads(raw) if raw else None)

    def post(self, path: str, body: dict, timeout: float = 10.0) -> tuple[int, object]:
        return self._request("POST", path, body, timeout)

    def account(self) -> dict:
        """GET /_smartpf/account: balances, orders, trades and rejections (``accounts=True``)."""
        status, body = self.get("/_smartpf/account")
        assert status == 200 and isinstance(body, dict), (status, body)
        return body

    def _admin(self, path: str, body: dict) -> dict:
        status, answer = self.post(path, body)
        if status != 200:
            raise ValueError(f"{path} {body} refused: {answer}")
        assert isinstance(answer, dict)
        return answer

    def deposit(self, asset: str, amount: float) -> dict:
        return self._admin("/_smartpf/deposit", {"asset": asset, "amount": amount})

    def withdraw(self, asset: str, amount: float) -> dict:
        return self._admin("/_smartpf/withdraw", {"asset": asset, "amount": amount})

    def halt(self, symbol: str, halted: bool = True) -> dict:
        return self._admin("/_smartpf/halt", {"symbol": symbol, "halted": halted})

    def set_filters(self, symbol: str, filters: dict) -> dict:
        """Change the rules the exchange enforces (not the exchangeInfo the bot has loaded)."""
        return self._admin("/_smartpf/filters", {"symbol": symbol, "filters": filters})

    def state(self) -> dict:
        status, body = self.get("/_smartpf/state")
        assert status == 200 and isinstance(body, dict), (status, body)
        return body

    def set_faults(self, **changes: object) -> dict:
        """Switch faults at run time: outage, frozen (bools), latency_ms, latency_paths, fail_rate, seed."""
        status, body = self._request("POST", "/_smartpf/faults", changes, 10.0)
        if status != 200:
            raise ValueError(f"set_faults({changes}) refused: {body}")
        assert isinstance(body, dict)
        return body

    def config_for(self, base: str | Path | dict | None = None, overrides: dict | None = None) -> dict:
        """A Freqtrade config (default: the dry-run config of the server's protocol, e.g.
        user_data/config.replay.json) pointed at this server, with ``overrides`` deep-merged in."""
        if base is None:
            base = PROTOCOL_CONFIGS[self.protocol]
        config = copy.deepcopy(base) if isinstance(base, dict) else json.loads(Path(base).read_text())
        config = json.loads(json.dumps(config).replace(CONFIG_ADDRESS, self.address))
        return _merge(config, overrides or {})

    def write_config(self, path: str | Path, overrides: dict | None = None,
                     base: str | Path | dict | None = None) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.config_for(base, overrides), indent=2))
        return path

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> int:
        """SIGINT, then SIGKILL after ``timeout`` seconds; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode


def replay_args(clock: str = "history", start: str | None = None, scenario: str | Path | None = None,
                fail_rate: float | None = None, seed: int | None = None, latency_ms: int | None = None,
                latency_paths: list[str] | None = None, datadir: str | Path | None = None,
                markets: str | Path | None = None, pairs: list[str] | None = None,
                timeframes: list[str] | None = None, warmup: int | None = None,
                log_requests: bool = False, accounts: bool = False, balances: dict[str, float] | None = None,
                fee_asset: str | None = None, partial_fills: int | None = None, ledger: str | Path | None = None,
                fee: float | None = None, protocol: str = "binance", port: int = 0,
                lost_response_rate: float | None = None, order_error_rate: float | None = None,
                order_errors: list[str] | None = None, expire_after_partial: bool = False,
                idle_timeout: float | None = None, max_connections: int | None = None,
                admin_token: str | None = None) -> list[str]:
    """Command-line arguments for ``python -m smartpf.replay`` (port 0, 127.0.0.1)."""
    args = ["--port", str(port), "--host", "127.0.0.1", "--clock", clock, "--protocol", protocol]
    if accounts:
        args.append("--accounts")
        for asset, amount in (balances or {}).items():
            args += ["--balance", f"{asset}={amount}"]
    for option, value in (("--start", start), ("--scenario", scenario), ("--fail-rate", fail_rate),
                          ("--seed", seed), ("--latency", latency_ms), ("--datadir", datadir),
                          ("--markets", markets), ("--warmup", warmup), ("--fee-asset", fee_asset),
                          ("--partial-fills", partial_fills), ("--ledger", ledger), ("--fee", fee),
                          ("--lost-response-rate", lost_response_rate), ("--order-error-rate", order_error_rate),
                          ("--idle-timeout", idle_timeout), ("--max-connections", max_connections),
                          ("--admin-token", admin_token)):
        if value is not None:
            args += [option, str(value)]
    if expire_after_partial:
        args.append("--expire-after-partial")
    for option, items in (("--latency-paths", latency_paths), ("--pairs", pairs), ("--timeframes", timeframes),
                          ("--order-errors", order_errors)):
        if items:
            args += [option, ",".join(items)]
    if log_requests:
        args.append("--log-requests")
    return args


@contextmanager
def running_replay(*, scenario: str | Path | dict | None = None, extra_args: list[str] | None = None,
                   startup_timeout: float = 60.0, stop_timeout: float = 10.0,
                   **options: object) -> Iterator[ReplayExchange]:
    """Run ``python -m smartpf.replay --port 0 ...`` until the block ends (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="smartpf-replay-") as tmp:
        if isinstance(scenario, dict):
            path = Path(tmp) / "scenario.json"
            path.write_text(json.dumps(scenario))
            scenario = path
        log_path = Path(tmp) / "replay.log"
        cmd = [sys.executable, "-m", "smartpf.replay", *replay_args(scenario=scenario, **options),  # type: ignore[arg-type]
               *(extra_args or [])]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, cwd=REPO_ROOT, env=env, text=True)
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline() if proc.stdout else ""),
                                  daemon=True)
        reader.start()
        reader.join(startup_timeout)
        ready = lines[0].strip() if lines else ""
        if " on http://" not in ready:
            if proc.poll() is None:
                proc.kill()
            proc.wait(5)
            raise ReplayStartError(f"replay server did not start (rc={proc.returncode}): {ready}\n"
                                   f"{log_path.read_text(errors='replace')}")
        ex = ReplayExchange(proc, ready, log_path, str(options.get("protocol", "binance")))
        ex.token = options.get("admin_token")  # type: ignore[assignment]
        try:
            yield ex
        finally:
            ex.stop(stop_timeout)
            if proc.stdout:
                proc.stdout.close()


def freqtrade_command(*args: str | Path) -> list[str]:
    """``[python, -m, freqtrade, *args]`` with the current interpreter (the project's virtualenv)."""
    return [sys.executable, "-m", "freqtrade", *map(str, args)]


def freqtrade_env(**extra: str) -> dict[str, str]:
    """The environment for a freqtrade subprocess: unbuffered, and a console so wide that Freqtrade's rich
    logging never wraps a line (its width otherwise depends on how the tests were started)."""
    return {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "1000", **extra}


SHUTDOWN_MARK = "worker found ... calling exit"  # Freqtrade's first line once SIGINT reached the worker


def before_shutdown(log: str) -> str:
    """A bot's log without its shutdowns (each from the moment a SIGINT reached the worker to the next
    start, if the log holds several runs). A SIGINT that lands in the middle of a database query leaves
    Freqtrade's own cleanup logging a traceback ("Error during cleanup"); that is Freqtrade shutting down,
    not the bot failing, so tests look for tracebacks everywhere else."""
    return re.sub(re.escape(SHUTDOWN_MARK) + r".*?(?=- freqtrade - INFO - freqtrade \d|\Z)", "", log, flags=re.DOTALL)


def run_freqtrade(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run freqtrade to completion, capturing stdout/stderr as text."""
    return subprocess.run(freqtrade_command(*args), capture_output=True, text=True, timeout=timeout,
                          env=freqtrade_env())
