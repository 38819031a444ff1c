"""One PNG per chart, drawn with matplotlib (offline, no browser needed; plotly's own exporter needs
Kaleido and a Chrome). The same series and the same sampled candles as the page's charts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .charts import (  # noqa: E402
    BAND,
    BUY,
    DRAW,
    FEES,
    HODL,
    SELL,
    VALUE,
    datetimes,
    premium_bars,
    premium_range,
    rebalance_trades,
)
from .inputs import ReportInput  # noqa: E402
from .sampling import sample_indices, with_trades  # noqa: E402
from .series import Series  # noqa: E402

DPI = 110


def write_pngs(data: ReportInput, series: Series, split: dict[str, Any], out: Path) -> list[Path]:
    cur = data.spec.stake_currency
    idx = sample_indices(series.value)
    trades = rebalance_trades(data, series)
    idx_t = with_trades(idx, np.array([i for i, *_ in trades], dtype=np.int64), len(series.value))
    x = _days(series.times[idx_t])
    paths = []

    fig, ax = plt.subplots(figsize=(11, 4.2))
    ax.plot(x, series.hodl[idx_t], color=HODL, lw=1, label="HODL (never rebalanced)")
    ax.plot(x, series.value[idx_t], color=VALUE, lw=1.6, label="Smart Portfolio")
    _finish(ax, f"Portfolio value vs HODL ({cur})", cur, legend=True)
    paths.append(_save(fig, out / "value.png"))

    pairs = [p for p in series.pairs if p in data.spec.weights or np.any(series.holdings[:, series.pairs.index(p)])]
    weights = series.weights_pct
    fig, axes = plt.subplots(max(1, len(pairs)), 1, figsize=(11, 1.2 + 1.8 * max(1, len(pairs))), sharex=True,
                             squeeze=False)
    for ax, pair in zip(axes[:, 0], pairs, strict=False):
        j = series.pairs.index(pair)
        target = data.spec.weights.get(pair, 0.0) * 100
        band = data.spec.band(pair) * 100
        ax.axhspan(max(0.0, target - band), target + band, color=BAND, zorder=0)
        ax.axhline(target, color=HODL, ls="--", lw=0.8)
        ax.plot(x, weights[idx_t, j], color=VALUE, lw=1)
        for side, color, marker in (("buy", BUY, "^"), ("sell", SELL, "v")):
            at = np.array([i for i, p, s, *_ in trades if p == pair and s == side], dtype=np.int64)
            if len(at):
                ax.scatter(_days(series.times[at]), weights[at, j], color=color, marker=marker,
                           s=14, zorder=3, label=f"rebalance {side}")
        ax.set_ylabel(f"{pair.split('/')[0]} %")
        ax.grid(alpha=0.3)
    axes[0, 0].set_title("Each coin's weight against its target band, with the rebalances", loc="left")
    _dateaxis(axes[-1, 0])
    paths.append(_save(fig, out / "weights.png"))

    fig, ax = plt.subplots(figsize=(11, 3.2))
    xd = _days(series.times[idx])
    ax.fill_between(xd, -series.drawdown_pct[idx], 0, color=DRAW, alpha=0.35, lw=0)
    ax.plot(xd, -series.drawdown_pct[idx], color=DRAW, lw=0.8)
    _finish(ax, "Drawdown from the highest value so far (%)", "%")
    paths.append(_save(fig, out / "drawdown.png"))

    fig, ax = plt.subplots(figsize=(11, 3.2))
    ax.step(x, series.fees[idx_t], where="post", color=FEES, lw=1.2)
    _finish(ax, f"Cumulative fees ({cur})", cur)
    paths.append(_save(fig, out / "fees.png"))

    fig, ax = plt.subplots(figsize=(11, 4.2))
    labels, bottoms, heights, colors, texts = premium_bars(split)
    bars = ax.bar(range(len(labels)), heights, bottom=bottoms, color=colors)
    for bar, text in zip(bars, texts, strict=True):
        ax.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_y() + bar.get_height()), ha="center",
                    va="bottom", fontsize=9)
    ax.set_xticks(range(len(labels)), labels, fontsize=9)
    ax.set_ylim(*premium_range(split))
    ax.set_title(f"Premium over HODL, split ({cur})", loc="left")
    ax.set_ylabel(cur)
    ax.grid(axis="y", alpha=0.3)
    paths.append(_save(fig, out / "premium.png"))
    return paths


def _days(seconds: np.ndarray) -> np.ndarray:
    """matplotlib's date numbers (days since its epoch), as a plain float array: no per-point conversion."""
    return mdates.date2num(datetimes(seconds))


def _dateaxis(ax: Any) -> None:
    ax.xaxis_date()
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _finish(ax: Any, title: str, ylabel: str, legend: bool = False) -> None:
    ax.set_title(title, loc="left")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    _dateaxis(ax)
    if legend:
        ax.legend(loc="upper left", frameon=False)


def _save(fig: Any, path: Path) -> Path:
    # fixed margins (tight_layout measures every tick label: as long as drawing the figure again) and a
    # light PNG compression: together half the time of the PNGs on 8 years of candles
    inches = fig.get_size_inches()
    fig.subplots_adjust(left=0.95 / inches[0], right=1 - 0.25 / inches[0], top=1 - 0.45 / inches[1],
                        bottom=0.55 / inches[1], hspace=0.12)
    fig.savefig(path, dpi=DPI, pil_kwargs={"compress_level": 3})
    plt.close(fig)
    return path
