"""``smartpf ft-backtest``: the real thing, offline. Starts the replay exchange on the candles, runs
``freqtrade backtesting`` with SmartPortfolio on the user's config, and prints the portfolio summary
(``smartpf-summary.json``) — the same figures as ``smartpf backtest``."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from smartpf import paths
from smartpf.backtest.report import format_summary
from smartpf.replay.runner import run_freqtrade, running_replay
from smartpf_core import PortfolioSpec


def replay_exchange_section(user: dict[str, Any], replay: dict[str, Any]) -> dict[str, Any]:
    """The user's exchange settings with ccxt pointed at the replay server (public data only)."""
    exchange = dict(user.get("exchange", {}))
    for key in ("ccxt_config", "ccxt_async_config", "enable_ws", "only_from_ccxt", "name"):
        exchange[key] = replay["exchange"][key]
    exchange.update({"key": "", "secret": ""})
    return exchange


def run(config: dict[str, Any], spec: PortfolioSpec, datadir: str, markets: str, timerange: str | None,
        timeframe: str | None, export_dir: str | None, report: str | None = None) -> int:
    """Run with a config already read and validated (``smartpf.cli``)."""
    pairs = ",".join(spec.pairs)
    with tempfile.TemporaryDirectory(prefix="smartpf-ft-") as tmp, \
            running_replay(clock="history", datadir=datadir, markets=markets) as ex:
        work = Path(tmp)
        run_config = dict(config)
        run_config["exchange"] = replay_exchange_section(config, ex.config_for())
        run_config.update({
            "strategy": "SmartPortfolio", "strategy_path": str(paths.REPO_ROOT / "strategies"),
            "exportdirectory": export_dir or str(work / "results"), "dry_run": True,
            "db_url": f"sqlite:///{work / 'unused.sqlite'}",
        })
        if timeframe:
            run_config["timeframe"] = timeframe
        (work / "user_data").mkdir()
        config_file = work / "config.json"
        config_file.write_text(json.dumps(run_config))
        args = ["backtesting", "-c", str(config_file), "--userdir", str(work / "user_data"), "--datadir", datadir,
                "--cache", "none", "--export", "none"]
        if timerange:
            args += ["--timerange", timerange]
        print(f"smartpf: freqtrade backtesting SmartPortfolio ({pairs}) offline against the replay exchange ...",
              flush=True)
        proc = run_freqtrade(*args, timeout=3600)
        summary_file = Path(run_config["exportdirectory"]) / "smartpf-summary.json"
        if proc.returncode != 0 or not summary_file.exists():
            print(proc.stdout[-3000:], proc.stderr[-6000:], sep="\n", file=sys.stderr)
            print(f"smartpf ft-backtest: freqtrade backtesting failed (exit {proc.returncode})", file=sys.stderr)
            return proc.returncode or 1
        summary = json.loads(summary_file.read_text())
        if report:
            _report(str(summary_file), datadir, report)
    print(format_summary(summary, spec).replace("(smartpf core simulator)", "(freqtrade backtesting, SmartPortfolio)"))
    if export_dir:
        print(f"  summary file  {summary_file}")
    return 0


def _report(summary_file: str, datadir: str, out: str) -> None:
    """``--report DIR``: the same page as ``smartpf report --freqtrade-result``, before the folder goes."""
    from smartpf.reporting.sources import freqtrade_input
    from smartpf.reporting.write import write_report

    result = write_report(freqtrade_input(summary_file, datadir), out)
    print(f"wrote {result['page']} and {len(result['pngs'])} PNGs", file=sys.stderr)


def add_arguments(parser: Any) -> None:
    parser.add_argument("-c", "--config", action="append", required=True, metavar="CONFIG",
                        help="Freqtrade config file; repeat to merge several, later files win")
    parser.add_argument("--datadir", default=str(paths.DEFAULT_DATADIR),
                        help="Freqtrade-format candles (default: the shared or fetched Binance data)")
    parser.add_argument("--markets", default=str(paths.DEFAULT_MARKETS),
                        help="exchange rules the replay exchange serves (exchangeInfo or ccxt markets JSON)")
    parser.add_argument("--timerange", help="YYYYMMDD-YYYYMMDD, as in Freqtrade")
    parser.add_argument("--timeframe", help="candle size, default the config's timeframe")
    parser.add_argument("--export-dir", help="where to keep smartpf-summary.json (default: a temporary folder)")
    parser.add_argument("--report", metavar="DIR", help="write DIR/report.html, one PNG per chart and report.json")
