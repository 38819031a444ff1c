"""What the portfolio says through its host's own channels: exit reasons, messages and the periodic report.

A host such as Freqtrade groups its statistics by exit reason and sends every strategy message to the
user's chat: the rules for what those say live here, the host only passes them on. Exit reasons are a
few stable kinds (``smartpf_rebalance``...), so that statistics group them; the operation id stays in the
order's own tag. Which message is sent follows ``smart_portfolio.messages``; a rebalance worth less than
``smart_portfolio.message_min_value`` is not announced (it is still logged and recorded).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .events import Notice, Reason
from .intervals import parse_interval
from .records import OperationRecord
from .spec import Problem

REBALANCE = "smartpf_rebalance"
TAKE_PROFIT = "smartpf_take_profit"
STOP_LOSS = "smartpf_stop_loss"
TERMINATE = "smartpf_terminate"
WITHDRAW = "smartpf_withdraw"
EXIT_KINDS = (REBALANCE, TAKE_PROFIT, STOP_LOSS, TERMINATE, WITHDRAW)

_EXIT_TRIGGERS = {"take_profit": TAKE_PROFIT, "stop_loss": STOP_LOSS}
_PREFIX_KINDS = {"init": "initial", "rb": "rebalance", "dep": "deposit", "wd": "withdraw", "exit": "exit"}


def exit_kind(operation_kind: str, trigger: str = "") -> str:
    """The stable exit reason of a sell made by an operation of ``operation_kind`` started by ``trigger``.
    A deposit's or an initial purchase's sells (there are none today) keep the targets: a rebalance."""
    if operation_kind == "withdraw":
        return WITHDRAW
    if operation_kind == "exit":
        return _EXIT_TRIGGERS.get(trigger, TERMINATE)
    return REBALANCE


def exit_kind_of(order_id: str, records: Sequence[OperationRecord]) -> str | None:
    """The exit reason of the engine order ``order_id`` (``rb12:sell:ETH/USDT@<portfolio>``), from its
    operation's record (which says what triggered an exit); None for an id that is no operation's."""
    op_id = order_id.partition(":")[0]
    prefix = op_id.rstrip("0123456789")
    if not op_id or prefix == op_id or prefix not in _PREFIX_KINDS:
        return None
    for record in reversed(records):  # the operation under way is the last one
        if record.id == op_id:
            return exit_kind(record.kind, record.trigger)
    return exit_kind(_PREFIX_KINDS[prefix])


# ------------------------------------------------------------------ which message is sent
MESSAGE_LEVELS = ("all", "operations", "errors")
CHANNEL_KEYS = ("report_every", "messages", "message_min_value")

ERROR, OPERATION, INFO = "error", "operation", "info"
_NOTICE_CLASS = {
    "rejected": ERROR, "stale_started": ERROR, "stale_ended": ERROR, "diverged": ERROR, "withdrawal_short": ERROR,
    "targets_changed": OPERATION, "investment_changed": OPERATION, "exit_rules_changed": OPERATION,
}
_REASON_CLASS = {"stale_price": ERROR, "missing_price": ERROR, "price_unconfirmed": ERROR, "diverged": ERROR}
_REBALANCE_NOTICES = ("rebalance_started", "rebalance_finished")


@dataclass(frozen=True)
class ChannelSettings:
    """``report_every``: seconds between two portfolio reports (None: no report). ``messages``: all,
    operations or errors. ``message_min_value``: a rebalance trading less (in the stake currency) is not
    announced."""

    report_every: int | None = None
    messages: str = "all"
    message_min_value: float = 0.0


def channel_settings(section: Any) -> tuple[ChannelSettings, list[Problem]]:
    """The channel settings of a ``smart_portfolio`` section, and a problem naming each bad value."""
    problems: list[Problem] = []
    if not isinstance(section, Mapping):
        return ChannelSettings(), problems
    every_raw = section.get("report_every")
    every = None
    if every_raw is not None:
        try:
            every = parse_interval(every_raw)
        except ValueError as exc:
            problems.append(Problem("smart_portfolio.report_every", every_raw, f"{exc}, or null for no report"))
    level = section.get("messages", "all")
    if level not in MESSAGE_LEVELS:
        problems.append(Problem("smart_portfolio.messages", level, "must be 'all', 'operations' or 'errors'"))
        level = "all"
    minimum_raw = section.get("message_min_value", 0)
    minimum = 0.0
    if isinstance(minimum_raw, bool) or not isinstance(minimum_raw, int | float) or \
            not math.isfinite(minimum_raw) or minimum_raw < 0:
        problems.append(Problem("smart_portfolio.message_min_value", minimum_raw,
                                "must be a number of the stake currency, 0 or more (default 0: every rebalance)"))
    else:
        minimum = float(minimum_raw)
    return ChannelSettings(every, level, minimum), problems


def _shown(klass: str, level: str) -> bool:
    return level == "all" or klass == ERROR or (level == "operations" and klass == OPERATION)


def announce_notice(notice: Notice, settings: ChannelSettings) -> bool:
    """Whether ``notice`` is sent to the user's channels (it is always logged). Operations (started,
    finished, deposits, withdrawals, the exit) are shown unless only errors are asked for; a rebalance
    worth less than the minimum is never announced."""
    if notice.kind in _REBALANCE_NOTICES:
        value = notice.data.get("value")
        if isinstance(value, int | float) and value < settings.message_min_value:
            return False
    return _shown(_NOTICE_CLASS.get(notice.kind, OPERATION), settings.messages)


def announce_reason(reason: Reason, settings: ChannelSettings) -> bool:
    """Whether a "no rebalance" reason is sent: price problems always, the others only with ``all``."""
    return _shown(_REASON_CLASS.get(reason.code, INFO), settings.messages)


# ------------------------------------------------------------------ the periodic report
def report_due(last: float | None, now: float, every: int | None) -> bool:
    """A report is due when ``now`` has crossed a multiple of ``every`` (UTC-aligned: "1d" reports at
    midnight) since the last one; the first period after a start only starts the count."""
    if every is None or last is None:
        return False
    return math.floor(now / every) > math.floor(last / every)


def portfolio_report(portfolio_id: str, details: Mapping[str, Any], currency: str) -> str:
    """One message: value, profit against HODL, each coin's weight against its target and band, cash."""
    hodl = details.get("hodl_profit_pct")
    coins = ", ".join(
        f"{c['pair'].split('/')[0]} {c['actual_pct']:.2f} % (target {c['target_pct']:g}, band "
        f"{c['band_low_pct']:g}-{c['band_high_pct']:g})" for c in details.get("coins", ()))
    return (f"portfolio {portfolio_id}: value {details['value']:.2f} {currency}, profit {details['profit_pct']:+.2f} %"
            f" (HODL {'n/a' if hodl is None else f'{hodl:+.2f} %'}); {coins}; cash {details['cash']:.2f} {currency};"
            f" {details.get('rebalances', 0)} rebalances")
