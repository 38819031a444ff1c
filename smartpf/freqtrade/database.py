"""Open the trade database for a ``smartpf`` command: read-only for the commands that only read, through
Freqtrade's ``init_db`` (its migrations) only for the ones that write; one line, exit 2, for a database
that is missing, corrupt, locked, unreachable or whose driver is not installed.

A URL is never printed with its password (``shown``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

POSTGRES_EXTRA = "pip install 'smartpf[postgres]'"


class DatabaseError(Exception):
    """The trade database cannot be used; the message names it (without a password) and why."""


def shown(url: str) -> str:
    """``url`` with any password replaced by ``***``: safe to print."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<an unreadable URL>"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def reason(exc: BaseException) -> str:
    """The driver's own first line (no SQL statement, no parameters)."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


def _driver_missing(url: str, exc: BaseException) -> DatabaseError:
    return DatabaseError(f"--db-url {shown(url)}: the PostgreSQL driver is not installed ({exc}); install the "
                         f"optional extra: {POSTGRES_EXTRA}")


def _sqlite_path(url: str) -> Path | None:
    if url.startswith("sqlite:///") and url != "sqlite:///":
        return Path(url[len("sqlite:///"):].split("?", 1)[0])
    return None


def check_exists(url: str) -> None:
    path = _sqlite_path(url)
    if path is not None and not path.exists():
        raise DatabaseError(f"--db-url {shown(url)}: no trade database there (relative paths are taken from "
                            f"{Path.cwd()}); pass the bot's --db-url")
    if path is not None:
        try:
            with path.open("rb") as handle:
                head = handle.read(16)
        except OSError as exc:
            raise DatabaseError(f"--db-url {shown(url)}: cannot be read ({exc.strerror or exc})") from exc
        if head and head != b"SQLite format 3\x00":
            raise DatabaseError(f"--db-url {shown(url)}: not an SQLite database (corrupt, or another file)")


def open_read_only(url: str) -> Any:
    """A SQLAlchemy engine that cannot write: SQLite opened with ``mode=ro``, PostgreSQL in read-only
    transactions. Freqtrade's tables are read as they are (no migration)."""
    from sqlalchemy import create_engine

    check_exists(url)
    path = _sqlite_path(url)
    try:
        if path is not None:
            target = quote(str(path.resolve()))
            return create_engine(f"sqlite:///file:{target}?mode=ro&uri=true", connect_args={"timeout": 5})
        if url.startswith(("postgresql", "postgres")):
            return create_engine(url, connect_args={"options": "-c default_transaction_read_only=on"})
        return create_engine(url)
    except ImportError as exc:
        raise _driver_missing(url, exc) from exc
    except Exception as exc:  # noqa: BLE001 - a URL SQLAlchemy cannot use: one line
        raise DatabaseError(f"--db-url {shown(url)}: {reason(exc)}") from exc


def bind_freqtrade(engine: Any) -> None:
    """Point Freqtrade's models at ``engine`` without its ``init_db`` (which creates and migrates tables)."""
    from freqtrade.persistence import Order, Trade
    from freqtrade.persistence.pairlock import PairLock
    from sqlalchemy.orm import scoped_session, sessionmaker

    Trade.session = scoped_session(sessionmaker(bind=engine, autoflush=False))
    Order.session = Trade.session
    PairLock.session = Trade.session


def init_read_write(url: str) -> None:
    """Freqtrade's own ``init_db`` (creates and migrates its tables), as the bot does at start."""
    from freqtrade.exceptions import OperationalException
    from freqtrade.persistence import init_db

    check_exists(url)
    try:
        init_db(url)
    except ImportError as exc:
        raise _driver_missing(url, exc) from exc
    except OperationalException as exc:
        raise DatabaseError(f"--db-url {shown(url)}: {str(exc).splitlines()[0]}") from exc
    except (sqlite3.Error, Exception) as exc:  # noqa: BLE001 - corrupt, locked, unreachable: one line
        raise DatabaseError(f"--db-url {shown(url)}: {reason(exc)}") from exc
