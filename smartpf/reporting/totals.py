"""The totals table: the run's figures as the engine counted them (the summary), on the page, in the
terminal (rich) and in ``report.json``."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from .inputs import ReportInput
from .series import Series

TOTALS_KEYS = ("final_value", "profit", "profit_pct", "hodl_value", "hodl_profit_pct", "premium", "premium_pct",
               "rebalances", "orders", "fees", "turnover", "max_drawdown_pct")


def totals(data: ReportInput, series: Series) -> dict[str, Any]:
    s = data.summary
    invested = float(s.get("invested", data.spec.investment))
    value = float(s["final_value"])
    hodl = float(s["hodl_value"])
    drawdown = s.get("max_drawdown_pct")
    if drawdown is None:  # a running bot: from the rebuilt values
        drawdown = float(series.drawdown_pct.max()) if len(series.value) else 0.0
    return {
        "start": s.get("start"),
        "end": s.get("end"),
        "stake_currency": data.spec.stake_currency,
        "invested": invested,
        "final_value": value,
        "profit": value - invested,
        "profit_pct": (value - invested) / invested * 100 if invested else 0.0,
        "hodl_value": hodl,
        "hodl_profit_pct": (hodl - invested) / invested * 100 if invested else 0.0,
        "premium": value - hodl,
        "premium_pct": (value - hodl) / hodl * 100 if hodl else 0.0,
        "rebalances": int(s["rebalances"]),
        "orders": int(s["orders"]),
        "fees": float(s["fees"]),
        "turnover": float(s["turnover"]),
        "max_drawdown_pct": float(drawdown),
    }


def rows(t: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, figure, note) for the page and the terminal."""
    cur = t["stake_currency"]
    return [
        ("Value", f"{t['final_value']:,.2f} {cur}", f"invested {t['invested']:,.2f} {cur}"),
        ("Profit", f"{t['profit']:+,.2f} {cur}", f"{t['profit_pct']:+.2f} %"),
        ("HODL", f"{t['hodl_value']:,.2f} {cur}", f"{t['hodl_profit_pct']:+.2f} % (the basket, never rebalanced)"),
        ("Premium over HODL", f"{t['premium']:+,.2f} {cur}", f"{t['premium_pct']:+.2f} % of HODL"),
        ("Rebalances", f"{t['rebalances']:,}", ""),
        ("Orders", f"{t['orders']:,}", "initial purchase included"),
        ("Fees", f"{t['fees']:,.2f} {cur}", ""),
        ("Turnover", f"{t['turnover']:,.2f} {cur}", "traded value, both sides"),
        ("Max drawdown", f"{t['max_drawdown_pct']:.2f} %", "at candle closes"),
    ]


SPLIT_LABELS = {
    "rebalancing": "Rebalancing (every planned order, at later prices)",
    "left_undone_by_minimums": "Left undone by minimums (skipped orders)",
    "fees": "Fees after the initial purchase",
    "exit": "Exit (take-profit / stop-loss / terminate)",
    "other": "Other (investment changes, rounding)",
}


def print_tables(data: ReportInput, t: dict[str, Any], split: dict[str, Any], console: Console) -> None:
    table = Table(title=f"{data.title} — {t['start']} → {t['end']}", title_justify="left")
    table.add_column("Total")
    table.add_column("Figure", justify="right")
    table.add_column("", style="dim")
    for label, figure, note in rows(t):
        table.add_row(label, figure, note)
    console.print(table)
    cur = t["stake_currency"]
    split_table = Table(title="Premium over HODL, split", title_justify="left")
    split_table.add_column("Part")
    split_table.add_column(cur, justify="right")
    for key, label in SPLIT_LABELS.items():
        split_table.add_row(label, f"{split[key]:+,.2f}")
    split_table.add_row("Premium over HODL", f"{split['premium']:+,.2f}", style="bold")
    console.print(split_table)
