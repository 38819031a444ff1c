"""Where the bot's memory lives: tables of smartpf's own in Freqtrade's trade database.

The portfolio belongs to the trades it manages, so it is kept beside them: another database (a new
dry-run, the switch to live, a deleted file) can never pick it up, and a backup of the database
restores trades and portfolio together. Two tables, portable between SQLite and PostgreSQL:

- ``smartpf_portfolio``: one row per portfolio, at most one ``active``; the engine state (without its
  finished records) as versioned JSON, rewritten only when it changed, and the operation sequence.
- ``smartpf_record``: the finished operations (trading records), append-only.
- ``smartpf_view``: one small row per portfolio, rewritten every loop: the prices the bot used and
  when, its latest reasons for not rebalancing, and the last settings change it rejected, so that
  ``smartpf status`` and ``why`` work with the bot stopped.

Everything here goes through a SQLAlchemy session: Freqtrade's own (``Trade.session``) in the bot,
one opened on the same URL by the ``smartpf`` commands.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Float, Integer, String, Text, func, inspect, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from smartpf.errors import SmartpfError
from smartpf_core import Engine
from smartpf_core.portfolio import migrate_state
from smartpf_core.records import OperationRecord

SCHEMA_VERSION = 1  # of these tables; the engine state inside carries its own version (STATE_VERSION)
ACTIVE, ARCHIVED = "active", "archived"


class Base(DeclarativeBase):
    """smartpf's own metadata: Freqtrade's migrations never see these tables."""


class PortfolioRow(Base):
    __tablename__ = "smartpf_portfolio"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    bot_name: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16), index=True)  # active | archived
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    archived_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    schema_version: Mapped[int] = mapped_column(Integer, default=SCHEMA_VERSION)
    seq: Mapped[int] = mapped_column(Integer, default=0)  # never goes back: operation ids never repeat
    records_saved: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(Text)


class RecordRow(Base):
    __tablename__ = "smartpf_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    portfolio_id: Mapped[str] = mapped_column(String(32), index=True)
    position: Mapped[int] = mapped_column(Integer)
    op_id: Mapped[str] = mapped_column(String(64))
    data: Mapped[str] = mapped_column(Text)


class ViewRow(Base):
    __tablename__ = "smartpf_view"

    portfolio_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    prices: Mapped[str] = mapped_column(Text, default="{}")  # pair -> price the bot used at its last loop
    prices_at: Mapped[float | None] = mapped_column(Float, nullable=True)  # epoch seconds of that loop
    reasons: Mapped[str] = mapped_column(Text, default="[]")  # the latest reasons for not rebalancing
    rejected: Mapped[str | None] = mapped_column(Text, nullable=True)  # the last settings change refused
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class RunRow(Base):
    """Whether the portfolio's bot is running: when it last started and when it last stopped cleanly (a kill
    leaves ``stopped_at`` older than ``started_at``), so that ``smartpf reset`` need not guess from the age."""

    __tablename__ = "smartpf_run"

    portfolio_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    started_at: Mapped[float] = mapped_column(Float)
    stopped_at: Mapped[float | None] = mapped_column(Float, nullable=True)


REASONS_KEPT = 10


class StoreError(SmartpfError):
    """The stored portfolio cannot be read; the message names the portfolio and the database."""


class SaveError(SmartpfError):
    """A write did not reach the database (disk full, locked, unreachable). The store's session is rolled back
    and usable: what was not saved is written again by the next save."""


def new_portfolio_id() -> str:
    return uuid.uuid4().hex[:12]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # naive UTC, as Freqtrade stores its dates


class PortfolioStore:
    def __init__(self, session: Any, read_only: bool = False) -> None:
        self.session = session
        self.read_only = read_only  # a command that only reads: tables never created, a missing one is empty

    def create_tables(self) -> None:
        Base.metadata.create_all(self.session.get_bind())

    def _missing(self, table: str) -> bool:
        return self.read_only and not inspect(self.session.get_bind()).has_table(table)

    # reading
    def active(self) -> PortfolioRow | None:
        if self._missing(PortfolioRow.__tablename__):
            return None
        rows = self.session.execute(select(PortfolioRow).where(PortfolioRow.status == ACTIVE)
                                    .order_by(PortfolioRow.created_at)).scalars().all()
        return rows[-1] if rows else None

    def all(self) -> list[PortfolioRow]:
        if self._missing(PortfolioRow.__tablename__):
            return []
        return list(self.session.execute(select(PortfolioRow).order_by(PortfolioRow.created_at)).scalars())

    def load(self, row: PortfolioRow) -> Engine:
        """The engine as saved, its records complete, its sequence never behind the database's."""
        try:
            data = json.loads(row.state)
            tail = [OperationRecord.from_dict(r) for r in data.pop("records_tail", [])]
            engine = Engine.from_dict(migrate_state(data))
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"portfolio {row.id}: the saved state cannot be read ({exc})") from exc
        engine.identify(row.id, row.seq, [*self.records(row.id), *tail])
        return engine

    def records(self, portfolio_id: str) -> list[OperationRecord]:
        rows = self.session.execute(select(RecordRow).where(RecordRow.portfolio_id == portfolio_id)
                                    .order_by(RecordRow.position)).scalars()
        return [OperationRecord.from_dict(json.loads(r.data)) for r in rows]

    # writing
    def create(self, engine: Engine, bot_name: str) -> PortfolioRow:
        if not engine.portfolio_id:
            engine.identify(new_portfolio_id())
        now = _now()
        row = PortfolioRow(id=engine.portfolio_id, bot_name=bot_name, status=ACTIVE, created_at=now, updated_at=now,
                           schema_version=SCHEMA_VERSION, seq=engine.seq, records_saved=0, state="")
        self.session.add(row)
        self.save(row, engine)
        return row

    def save(self, row: PortfolioRow, engine: Engine) -> bool:
        """Append the newly finished records and rewrite the state if it changed. True if anything was written."""
        wrote = False
        records = engine.records
        while row.records_saved < len(records) and records[row.records_saved].finished_at is not None:
            record = records[row.records_saved]
            self.session.add(RecordRow(portfolio_id=row.id, position=row.records_saved, op_id=record.id,
                                       data=json.dumps(record.to_dict(), default=str)))
            row.records_saved += 1
            wrote = True
        data = engine.to_dict(records=False)
        data["records_tail"] = [r.to_dict() for r in records[row.records_saved:]]
        state = json.dumps(data, default=str, sort_keys=True)
        if state != row.state or engine.seq > row.seq:
            row.state = state
            row.seq = max(row.seq, engine.seq)
            row.updated_at = _now()
            wrote = True
        if wrote:
            self._commit()
        return wrote

    def _commit(self) -> None:
        """Commit, or roll back and raise SaveError: the rows fall back to what the database holds, so the
        next save writes the unsaved records and state again (never twice: ``records_saved`` came back too)."""
        try:
            self.session.commit()
        except SQLAlchemyError as exc:
            self.session.rollback()
            cause = getattr(exc, "orig", None) or exc
            raise SaveError(f"{type(cause).__name__}: {str(cause).splitlines()[0]}") from exc

    def archive(self, row: PortfolioRow) -> None:
        row.status = ARCHIVED
        row.archived_at = _now()
        self.session.commit()

    # the view: rewritten every loop, never the truth about holdings
    def view(self, portfolio_id: str) -> ViewRow | None:
        if self._missing(ViewRow.__tablename__):
            return None
        return self.session.get(ViewRow, portfolio_id)

    def save_view(self, portfolio_id: str, prices: dict[str, float] | None = None, at: float | None = None,
                  reason: dict[str, Any] | None = None, rejected: dict[str, Any] | None = None) -> None:
        row = self.view(portfolio_id)
        if row is None:
            row = ViewRow(portfolio_id=portfolio_id, prices="{}", reasons="[]", updated_at=_now())
            self.session.add(row)
        if prices:
            row.prices = json.dumps(prices)
            row.prices_at = at
        if reason is not None:
            reasons = json.loads(row.reasons or "[]")
            if reasons and reasons[-1].get("code") == reason.get("code"):
                reasons[-1] = reason  # the same reason again: keep its latest numbers
            else:
                reasons.append(reason)
            row.reasons = json.dumps(reasons[-REASONS_KEPT:], default=str)
        if rejected is not None:
            row.rejected = json.dumps(rejected, default=str)
        row.updated_at = _now()
        self._commit()

    # the bot's runs
    def mark_run(self, portfolio_id: str, started: float | None = None, stopped: float | None = None) -> None:
        row = self.session.get(RunRow, portfolio_id)
        if row is None:
            row = RunRow(portfolio_id=portfolio_id, started_at=started or 0.0)
            self.session.add(row)
        if started is not None:
            row.started_at, row.stopped_at = started, None
        if stopped is not None:
            row.stopped_at = stopped
        self.session.commit()

    def stopped_cleanly(self, portfolio_id: str) -> bool:
        """True when the bot's last run ended with a clean stop (nothing saved since, bar the stop itself)."""
        row = self.session.get(RunRow, portfolio_id)
        return row is not None and row.stopped_at is not None and row.stopped_at >= row.started_at

    def count_records(self, portfolio_id: str) -> int:
        return int(self.session.execute(select(func.count()).select_from(RecordRow)
                                        .where(RecordRow.portfolio_id == portfolio_id)).scalar_one())
