"""What the page shows, read from the trade database by the same code as ``smartpf status``, ``why``,
``records`` and ``report``: one read per request, the database opened read-only and closed again.

Freqtrade's models are bound process-wide (``Trade.session``), so reads and actions take turns (``DB_LOCK``)."""

from __future__ import annotations

import argparse
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from smartpf.backtest.report import tidy
from smartpf.cli.portfolio import PortfolioCommandError, parse_since, portfolio_and_config, status_view, why_of
from smartpf.cli.view import record_rows
from smartpf.errors import SmartpfError

DB_LOCK = threading.RLock()
CHART_EVERY = 300.0  # seconds: the chart is rebuilt after a new record, else at most this often


class ReadError(SmartpfError):
    """The database cannot be read (missing, corrupt, locked): one message, shown on the page."""


@dataclass
class Snapshot:
    """One read of the portfolio: everything the page and the API need."""
    portfolio_id: str
    active: bool
    currency: str
    view: dict[str, Any]
    reasons: list[dict[str, Any]]
    rejected: dict[str, Any] | None
    records: list[dict[str, Any]]
    key: tuple[Any, ...] = field(default=())  # the chart's: a new record, or CHART_EVERY later

    def api_portfolio(self) -> dict[str, Any]:
        return {"portfolio_id": self.portfolio_id, "stake_currency": self.currency, **tidy(self.view)}


@dataclass
class Source:
    """The bot's config files and database, as the CLI commands take them."""
    config: list[str]
    db_url: str | None = None
    datadir: str = ""
    timeframe: str | None = None
    _chart: tuple[tuple[Any, ...], str] | None = None

    def args(self, **more: Any) -> argparse.Namespace:
        return argparse.Namespace(config=list(self.config), db_url=self.db_url, **more)

    def read(self, since: str | None = None) -> Snapshot:
        after = parse_since(since)
        with DB_LOCK:
            try:
                config, _url, store, row, engine = portfolio_and_config(self.args())
            except PortfolioCommandError:
                raise
            except Exception as exc:  # noqa: BLE001 - a database error: one line, as the CLI says it
                raise ReadError(database_problem(exc)) from exc
            try:
                now = time.time()
                view = status_view(config, store, row, engine, now)
                reasons, rejected = why_of(store, row)
                key = (row.id, len(engine.records), int(now // CHART_EVERY))
                return Snapshot(row.id, row.status == "active", engine.spec.stake_currency, view, reasons, rejected,
                                record_rows(engine.records, after), key)
            except Exception as exc:  # noqa: BLE001
                raise ReadError(database_problem(exc)) from exc
            finally:
                _close(store)

    def chart(self, snapshot: Snapshot) -> str:
        """The report's value-vs-HODL chart (a plotly div, its script served apart), or why there is none."""
        if self._chart is not None and self._chart[0] == snapshot.key:
            return self._chart[1]
        html = self._render_chart()
        self._chart = (snapshot.key, html)
        return html

    def _render_chart(self) -> str:
        from markupsafe import escape

        from smartpf.cli.report import ReportCommandError, bot_report_input
        from smartpf.reporting.charts import build_charts
        from smartpf.reporting.premium import premium_split
        from smartpf.reporting.series import rebuild
        from smartpf.reporting.sources import SourceError

        with DB_LOCK:
            try:
                data = bot_report_input(self.args(datadir=self.datadir, timeframe=self.timeframe))
            except (ReportCommandError, SourceError, PortfolioCommandError) as exc:
                return f'<p class="note">No chart: {escape(str(exc))}.</p>'
            except Exception as exc:  # noqa: BLE001
                return f'<p class="note">No chart: {escape(database_problem(exc))}.</p>'
            finally:
                release_session()
        series = rebuild(data)
        value = build_charts(data, series, premium_split(data, series))[0]
        return str(value.figure.to_html(full_html=False, include_plotlyjs=False, div_id="chart-value",
                                        config={"displaylogo": False, "responsive": True}))


def database_problem(exc: BaseException) -> str:
    from smartpf.cli.portfolio import OPENED
    from smartpf.freqtrade.door import reason

    if isinstance(exc, PortfolioCommandError):
        return str(exc)
    where = f" {OPENED[0]}" if OPENED else ""
    return f"the trade database{where} cannot be used: {reason(exc)}"


def _close(store: Any) -> None:
    """Close the read's session and its engine (a page read many times must not keep files open)."""
    session = getattr(store, "session", None)
    bind = session.get_bind() if session is not None else None
    if session is not None:
        session.close()
    if bind is not None:
        bind.dispose()
    release_session()


def release_session() -> None:
    from freqtrade.persistence import Trade

    session = getattr(Trade, "session", None)
    if session is not None and hasattr(session, "remove"):
        session.remove()
