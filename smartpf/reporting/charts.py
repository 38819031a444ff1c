"""The charts, as plotly figures (the library Freqtrade's own plot commands use)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .inputs import ReportInput
from .sampling import sample_indices, with_trades
from .series import Series
from .totals import SPLIT_LABELS

VALUE, HODL, BUY, SELL, BAND, FEES, DRAW = "#1f6feb", "#8b949e", "#1a7f37", "#cf222e", "#ddf4ff", "#9a6700", "#cf222e"
LAYOUT: dict[str, Any] = {"template": "plotly_white", "margin": {"l": 70, "r": 30, "t": 60, "b": 40},
                          "hovermode": "x unified", "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom",
                                                               "x": 0, "xanchor": "left"}}


@dataclass(frozen=True)
class Chart:
    name: str  # the PNG's file name, without .png
    title: str
    figure: go.Figure


def datetimes(seconds: np.ndarray) -> np.ndarray:
    return (np.asarray(seconds, dtype=np.float64) * 1000).astype("datetime64[ms]")


def _ms(seconds: np.ndarray) -> np.ndarray:
    """Times for plotly: epoch milliseconds on a date axis, sent as a compact binary array (a date string
    per point would make an 8-year page three times heavier)."""
    return np.asarray(seconds, dtype=np.float64) * 1000.0


def build_charts(data: ReportInput, series: Series, split: dict[str, Any]) -> list[Chart]:
    cur = data.spec.stake_currency
    idx = sample_indices(series.value)
    rebalance = rebalance_trades(data, series)
    note = marked_trades_note(data)
    if note and note not in data.notes:
        data.notes.append(note)
    idx_trades = with_trades(idx, np.array([i for i, *_ in rebalance], dtype=np.int64), len(series.value))
    charts = [
        Chart("value", f"Portfolio value vs HODL ({cur})", _value(series, idx_trades, cur)),
        Chart("premium", f"Premium over HODL, split ({cur})", _premium(split, cur)),
        Chart("weights", "Each coin's weight against its target band, with the rebalances",
              _weights(data, series, idx_trades, rebalance)),
        Chart("drawdown", "Drawdown from the highest value so far (%)", _drawdown(series, idx)),
        Chart("fees", f"Cumulative fees ({cur})", _fees(series, idx_trades, cur)),
    ]
    return charts


MAX_MARKERS = 4000  # trade markers on the weights chart; beyond, an evenly spread selection (the page says so)


def rebalance_trades(data: ReportInput, series: Series) -> list[tuple[int, str, str, float, str]]:
    """(candle, pair, side, amount, hover text) of the trades after the initial purchase, at most
    ``MAX_MARKERS`` of them (evenly spread over the run when there are more)."""
    out = []
    k = 0
    for record in data.records:
        for t in record.trades:
            i = int(series.trade_index[k])
            k += 1
            if record.kind == "initial":
                continue
            out.append((i, t.pair, t.side, t.amount, f"{record.kind} {record.id} ({record.trigger})"))
    if len(out) > MAX_MARKERS:
        keep = np.unique(np.linspace(0, len(out) - 1, MAX_MARKERS).round().astype(np.int64))
        out = [out[k] for k in keep.tolist()]
    return [(i, pair, side, amount, f"{text}: {side} {amount:.8g}") for i, pair, side, amount, text in out]


def marked_trades_note(data: ReportInput) -> str | None:
    """The page's note when the weights chart marks only part of the trades."""
    count = sum(len(r.trades) for r in data.records if r.kind != "initial")
    if count <= MAX_MARKERS:
        return None
    return (f"The weights chart marks {MAX_MARKERS:,} of the {count:,} trades after the initial purchase, evenly "
            "spread over the run (zoom in on a stretch of a shorter run to see every one).")


def _value(series: Series, idx: np.ndarray, cur: str) -> go.Figure:
    x = _ms(series.times[idx])
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=series.hodl[idx], name="HODL (never rebalanced)", line={"color": HODL}))
    fig.add_trace(go.Scatter(x=x, y=series.value[idx], name="Smart Portfolio", line={"color": VALUE, "width": 2}))
    fig.update_layout(**LAYOUT, height=420, yaxis_title=cur)
    fig.update_xaxes(type="date")
    return fig


def _weights(data: ReportInput, series: Series, idx: np.ndarray,
             trades: list[tuple[int, str, str, float, str]]) -> go.Figure:
    pairs = [p for p in series.pairs if p in data.spec.weights or np.any(series.holdings[:, series.pairs.index(p)])]
    weights = series.weights_pct
    fig = make_subplots(rows=max(1, len(pairs)), cols=1, shared_xaxes=True, vertical_spacing=0.03,
                        subplot_titles=[p.split("/")[0] for p in pairs])
    x = _ms(series.times[idx])
    shapes: list[dict[str, Any]] = []
    for row, pair in enumerate(pairs, start=1):
        j = series.pairs.index(pair)
        target = data.spec.weights.get(pair, 0.0) * 100
        band = data.spec.band(pair) * 100
        low, high = max(0.0, target - band), target + band
        fig.add_trace(go.Scatter(x=x, y=weights[idx, j], name=f"{pair.split('/')[0]} weight", showlegend=False,
                                 line={"color": VALUE, "width": 1.2},
                                 hovertemplate=f"{pair.split('/')[0]} %{{y:.2f}} % (target {target:g} %, band "
                                               f"{low:g}-{high:g} %)<extra></extra>"), row=row, col=1)
        axis = "" if row == 1 else str(row)
        shapes += [  # the band and the target, across the subplot's width (one layout update for all)
            {"type": "rect", "xref": f"x{axis} domain", "x0": 0, "x1": 1, "yref": f"y{axis}", "y0": low, "y1": high,
             "fillcolor": BAND, "opacity": 0.9, "line": {"width": 0}, "layer": "below"},
            {"type": "line", "xref": f"x{axis} domain", "x0": 0, "x1": 1, "yref": f"y{axis}", "y0": target,
             "y1": target, "line": {"color": HODL, "dash": "dash", "width": 1}, "layer": "below"}]
        for side, color, symbol in (("buy", BUY, "triangle-up"), ("sell", SELL, "triangle-down")):
            mine = [(i, text) for i, p, s, _, text in trades if p == pair and s == side]
            if not mine:
                continue
            at = np.array([i for i, _ in mine], dtype=np.int64)
            fig.add_trace(go.Scatter(x=_ms(series.times[at]), y=weights[at, j], mode="markers",
                                     name=f"rebalance {side}", legendgroup=side, showlegend=row == 1,
                                     marker={"color": color, "symbol": symbol, "size": 7},
                                     text=[t for _, t in mine], hovertemplate="%{text}<extra></extra>"),
                          row=row, col=1)
        fig.update_yaxes(title_text="%", row=row, col=1)
    fig.update_layout(**{**LAYOUT, "hovermode": "closest"}, height=120 + 170 * max(1, len(pairs)), shapes=shapes)
    fig.update_xaxes(type="date")
    return fig


def _drawdown(series: Series, idx: np.ndarray) -> go.Figure:
    fig = go.Figure(go.Scatter(x=_ms(series.times[idx]), y=-series.drawdown_pct[idx], name="drawdown",
                               fill="tozeroy", line={"color": DRAW, "width": 1}))
    fig.update_layout(**LAYOUT, height=320, yaxis_title="%", showlegend=False)
    fig.update_xaxes(type="date")
    return fig


def _fees(series: Series, idx: np.ndarray, cur: str) -> go.Figure:
    fig = go.Figure(go.Scatter(x=_ms(series.times[idx]), y=series.fees[idx], name="fees", line_shape="hv",
                               line={"color": FEES}))
    fig.update_layout(**LAYOUT, height=320, yaxis_title=cur, showlegend=False)
    fig.update_xaxes(type="date")
    return fig


SHORT = {"rebalancing": "Rebalancing", "left_undone_by_minimums": "Minimums: left undone", "fees": "Fees",
         "exit": "Exit", "other": "Other"}


def premium_steps(split: dict[str, Any]) -> list[tuple[str, float]]:
    """(short label, amount) of the parts worth a bar: rebalancing and fees always, the others when not 0."""
    return [(SHORT[k], float(split[k])) for k in SPLIT_LABELS
            if k in ("rebalancing", "left_undone_by_minimums", "fees") or abs(split[k]) >= 0.005]


def premium_bars(split: dict[str, Any]) -> tuple[list[str], list[float], list[float], list[str], list[str]]:
    """The waterfall from HODL to the portfolio's value: labels, bases, heights, colours, texts."""
    steps = premium_steps(split)
    labels = ["HODL", *[label for label, _ in steps], "Smart Portfolio"]
    bases, heights, colors = [0.0], [float(split["hodl_value"])], [HODL]
    level = float(split["hodl_value"])
    for _, v in steps:
        bases.append(level if v >= 0 else level + v)
        heights.append(abs(v))
        colors.append(BUY if v >= 0 else SELL)
        level += v
    bases.append(0.0)
    heights.append(float(split["value"]))
    colors.append(VALUE)
    texts = [f"{split['hodl_value']:,.2f}", *[f"{v:+,.2f}" for _, v in steps], f"{split['value']:,.2f}"]
    return labels, bases, heights, colors, texts


def premium_range(split: dict[str, Any]) -> tuple[float, float]:
    """A y range that shows the steps (bars from 0 would flatten them)."""
    steps = premium_steps(split)
    low = min(split["hodl_value"], split["value"])
    high = max(split["hodl_value"], split["value"])
    span = max(high - low, sum(abs(v) for _, v in steps), 1e-9)
    return max(0.0, low - 1.2 * span), high + 1.2 * span


def _premium(split: dict[str, Any], cur: str) -> go.Figure:
    labels, bases, heights, colors, texts = premium_bars(split)
    fig = go.Figure(go.Bar(x=labels, y=heights, base=bases, marker_color=colors, text=texts, textposition="outside",
                           hovertemplate="%{x}: %{text}<extra></extra>"))
    fig.update_layout(**{**LAYOUT, "hovermode": "closest"}, height=420, yaxis_title=cur, showlegend=False,
                      yaxis_range=list(premium_range(split)))
    return fig
