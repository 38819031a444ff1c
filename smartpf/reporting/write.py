"""Write a report folder: ``report.html``, one PNG per chart and ``report.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from smartpf.errors import SmartpfError

from .charts import build_charts
from .inputs import ReportInput
from .page import render_page
from .pngs import write_pngs
from .premium import premium_split
from .series import rebuild
from .totals import totals

REPORT_FILE = "report.html"
JSON_FILE = "report.json"


class ReportError(SmartpfError):
    """The report cannot be written (a folder, a file): one message."""


def write_report(data: ReportInput, out: str | Path, console: Console | None = None) -> dict[str, Any]:
    """Everything into ``out``; returns ``report.json``'s content (the totals and the premium split)."""
    folder = Path(out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"--out {folder}: cannot make the folder ({exc.strerror or exc})") from exc
    if not folder.is_dir():
        raise ReportError(f"--out {folder}: not a folder")
    console = console or Console(stderr=True)
    with Progress(TextColumn("[bold]report[/] {task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task("values", total=5)
        series = rebuild(data)
        if abs(series.cash_gap) > 0.01:
            data.notes.append(f"The records explain the cash only to {series.cash_gap:+.2f} "
                              f"{data.spec.stake_currency}: money moved outside them (an investment change not "
                              "recorded as an operation); the value line may be off by that much before it.")
        split = premium_split(data, series)
        figures = totals(data, series)
        progress.update(task, advance=1, description="charts")
        charts = build_charts(data, series, split)
        progress.update(task, advance=1, description="page")
        page = render_page(data, figures, split, charts)
        progress.update(task, advance=1, description="PNGs")
        try:
            (folder / REPORT_FILE).write_text(page, encoding="utf-8")
            pngs = write_pngs(data, series, split, folder)
        except OSError as exc:
            raise ReportError(f"--out {folder}: cannot write the report ({exc.strerror or exc})") from exc
        progress.update(task, advance=1, description="json")
        result = {"source": data.source, "totals": figures, "premium_split": split,
                  "page": str(folder / REPORT_FILE), "pngs": [str(p) for p in pngs], "candles": len(series.value),
                  "notes": list(data.notes)}
        (folder / JSON_FILE).write_text(json.dumps(result, indent=2), encoding="utf-8")
        progress.update(task, advance=1)
    return result
