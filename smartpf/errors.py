"""Every error smartpf raises on purpose, under two roots (freqtrade's ``exceptions.py`` and ccxt's error tree
are the models): ``SmartpfError`` for the app (commands, files, the bot's memory) and ``ReplayError`` for the
offline replay exchange, which stands in for a real exchange and so has a tree of its own.

``smartpf`` turns any ``SmartpfError`` into one line ``smartpf COMMAND: message`` and exit code 2
(``smartpf.cli.main``); ``smartpf replay`` does the same for a ``ReplaySetupError``. Anything else is a bug: a
one-line "unexpected error" and exit 1. ``tests/unit/test_errors.py`` checks that every ``*Error`` /
``*Exception`` class in ``smartpf/`` descends from one of the two roots.

The classes of a single module's job stay in that module and descend from a class here:

    SmartpfError
    ├── UsageError                 bad input on the command line (smartpf.cli)
    │   ├── PortfolioCommandError  a portfolio command refused (smartpf.cli.portfolio)
    │   └── ReportCommandError     smartpf report refused (smartpf.cli.report)
    ├── ConfigError                a config file unreadable or not JSON (smartpf.configfile)
    ├── MarketsError               an exchange rules file (smartpf.markets)
    ├── CandleError                candles missing or unreadable (smartpf.backtest.candles)
    ├── SweepError                 a settings grid or window out of range (smartpf.research.sweep)
    ├── SourceError, ReportError   a report's input or output (smartpf.reporting)
    └── DatabaseError, StoreError, SaveError, StateFileError, HistoryUnreadable   the bot's memory
    ReplayError
    ├── ReplaySetupError           bad input to the replay exchange: one line, exit 2
    │   ├── ReplayUsageError       an option of smartpf replay (smartpf.replay.cli)
    │   └── DataError, LedgerError, ScenarioError, FaultError, ProtocolSetupError
    ├── Rejected                   the simulator refused an order (a front answers it in its venue's shape)
    ├── VenueError                 an error answer of a front: BinanceError, OkxError, XtError
    └── ReplayStartError           the replay server did not start (smartpf.replay.runner)
"""

from __future__ import annotations


class SmartpfError(Exception):
    """The root of the app's errors: said in one line, never as a traceback."""


class UsageError(SmartpfError):
    """Bad input from the user (an option, a file, a setting): printed as one line, exit code 2."""


class ReplayError(Exception):
    """The root of the replay exchange's errors."""


class ReplaySetupError(ReplayError, ValueError):
    """Bad input to the replay exchange (an option, the data, a scenario, a fault, a ledger): one line, exit 2."""


class ReplayUsageError(ReplaySetupError):
    """A bad command-line value of ``smartpf replay``."""


class VenueError(ReplayError):
    """An error answer of an exchange front, in its venue's shape (``status`` is the HTTP status)."""

    status: int
