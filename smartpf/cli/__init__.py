"""The ``smartpf`` command line: one parser, one module per command group (freqtrade's ``commands/`` is the
model), and the one place where an error becomes a message and an exit code.

- ``configuration``: validate, presets, init, minimum, fetch-data, preflight
- ``backtest``: backtest, ft-backtest, report
- ``portfolio``: adopt, reset, status, why, records, reconcile (``reconcile``)
- ``steering``: add, withdraw, set, terminate
- ``research``: sweep, recommend, whatif, study (the work itself is in ``smartpf.research``)
- ``replay``: the offline replay exchange

Exit codes: 0 success, 2 bad input (a config, an option, a file, a database that cannot be used: any
``SmartpfError``), 1 anything unexpected; ``reconcile`` exits 3 when the exchange, the database and the portfolio
differ. Bad input is reported in one line per problem, never as a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys

from smartpf.cli import backtest, configuration, portfolio, replay, research, steering
from smartpf.errors import SmartpfError, UsageError

__all__ = ["BAD_INPUT", "UsageError", "build_parser", "main"]

BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smartpf", description="Smart Portfolio: a crypto rebalancing bot.")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (configuration, backtest, portfolio, steering, research, replay):
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe (`smartpf status | head`) shows here, not at exit
        return code
    except SmartpfError as exc:  # the one place bad input becomes a line and exit 2
        print(f"smartpf {args.command}: {exc}", file=sys.stderr)
        return BAD_INPUT
    except BrokenPipeError:
        # the reader went away (`| head`): end quietly, and keep Python's exit flush from complaining
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if _is_database_error(exc):
            from smartpf.cli.portfolio import OPENED
            from smartpf.freqtrade.door import reason

            where = f" {OPENED[0]}" if OPENED else ""
            print(f"smartpf {args.command}: the trade database{where} cannot be used: {reason(exc)}",
                  file=sys.stderr)
            return BAD_INPUT
        return _unexpected(args, exc)


def _is_database_error(exc: BaseException) -> bool:
    """A corrupt, locked or unreachable database (SQLAlchemy's or the driver's error), not a bug of ours."""
    import sqlite3

    try:
        from sqlalchemy.exc import SQLAlchemyError
    except ImportError:
        return isinstance(exc, sqlite3.Error)
    return isinstance(exc, SQLAlchemyError | sqlite3.Error)


def _unexpected(args: argparse.Namespace, exc: Exception) -> int:
    """Last resort: a message, not a traceback (SMARTPF_DEBUG=1 shows it)."""
    if os.environ.get("SMARTPF_DEBUG"):
        raise exc
    print(f"smartpf {args.command}: unexpected error: {type(exc).__name__}: {exc} "
          "(set SMARTPF_DEBUG=1 for details)", file=sys.stderr)
    return 1
