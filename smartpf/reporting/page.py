"""``report.html``: one self-contained page (plotly's script inlined once, no CDN, no network)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment

from .charts import Chart
from .inputs import ReportInput
from .totals import SPLIT_LABELS, rows

EXPLAIN = {
    "value": "The portfolio's value at every candle close, against the same initial basket never rebalanced.",
    "weights": "The blue line is the coin's share of the portfolio; the shaded band is where no rebalance is due "
               "(target ± threshold), the dashed line the target. Triangles: the rebalances' buys and sells.",
    "drawdown": "How far the value stood below its highest close so far.",
    "fees": "Every fee paid, the initial purchase included.",
    "premium": "From HODL to the portfolio's value: what the rebalances did with every order they planned (valued "
               "at the last prices), minus the orders the exchange's minimums left undone, minus the fees after the "
               "initial purchase. The parts add up to the premium.",
}

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
 body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328; margin: 0;
        background: #f6f8fa; }
 main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
 h1 { font-size: 26px; margin: 8px 0 4px; } h2 { font-size: 18px; margin: 0 0 6px; }
 .sub { color: #59636e; margin: 0 0 20px; }
 .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; margin: 0 0 20px; }
 .card { background: #fff; border: 1px solid #d1d9e0; border-radius: 8px; padding: 12px 14px; }
 .card .label { color: #59636e; font-size: 13px; } .card .figure { font-size: 20px; font-weight: 600; }
 .card .note { color: #59636e; font-size: 12px; }
 .pos { color: #1a7f37; } .neg { color: #cf222e; }
 section { background: #fff; border: 1px solid #d1d9e0; border-radius: 8px; padding: 16px 18px; margin: 0 0 18px; }
 section p { color: #59636e; margin: 0 0 8px; font-size: 14px; }
 table { border-collapse: collapse; font-size: 14px; } td, th { padding: 4px 14px 4px 0; text-align: left; }
 td.num { text-align: right; font-variant-numeric: tabular-nums; } tr.total td { font-weight: 600;
 border-top: 1px solid #d1d9e0; }
 .split { margin: 4px 0 0; }
 .notes { font-size: 13px; color: #59636e; } footer { font-size: 12px; color: #59636e; margin-top: 24px; }
</style></head>
<body><main>
<h1>{{ title }}</h1>
<p class="sub">{{ source }} · {{ period }} · {{ portfolio }}</p>
<div class="cards">
{% for label, figure, note in totals %}
 <div class="card"><div class="label">{{ label }}</div>
 <div class="figure {{ signs[label] }}">{{ figure }}</div><div class="note">{{ note }}</div></div>
{% endfor %}
</div>
{% for chart in charts %}
<section id="{{ chart.name }}"><h2>{{ chart.title }}</h2><p>{{ chart.explain }}</p>
{% if chart.name == "premium" %}<div class="split"><table>
{% for label, amount in split %}<tr><td>{{ label }}</td><td class="num">{{ amount }}</td></tr>{% endfor %}
<tr class="total"><td>Premium over HODL</td><td class="num">{{ premium }}</td></tr>
</table></div>{% endif %}
{{ chart.html | safe }}
</section>
{% endfor %}
{% if notes %}<section class="notes"><h2>Notes</h2><ul>{% for n in notes %}<li>{{ n }}</li>{% endfor %}</ul>
</section>{% endif %}
<footer>Made by smartpf report. Values at candle closes, before any exit fee. The charts of long runs show the lowest
and highest value of each stretch of candles and every trade; the figures above count every candle.</footer>
</main></body></html>
"""


def render_page(data: ReportInput, totals: dict[str, Any], split: dict[str, Any], charts: list[Chart]) -> str:
    cur = data.spec.stake_currency
    spec = data.spec
    rule = (f"threshold {spec.describe_threshold()}" if spec.mode == "proportional"
            else f"every {spec.to_dict()['interval']}")
    portfolio = ", ".join(f"{c} {p:g} %" for c, p in spec.allocations) + f"; {spec.mode}, {rule}"
    table = rows(totals)
    signs = {label: "" for label, _, _ in table}
    signs["Profit"] = _sign(totals["profit"])
    signs["Premium over HODL"] = _sign(totals["premium"])
    rendered = []
    for k, chart in enumerate(charts):
        html = chart.figure.to_html(full_html=False, include_plotlyjs=k == 0, div_id=f"chart-{chart.name}",
                                    config={"displaylogo": False, "responsive": True})
        rendered.append({"name": chart.name, "title": chart.title, "explain": EXPLAIN.get(chart.name, ""),
                         "html": html})
    return Environment(autoescape=True).from_string(TEMPLATE).render(
        title=data.title, source=data.source, period=f"{_day(totals['start'])} → {_day(totals['end'])}",
        portfolio=portfolio,
        totals=table, signs=signs, premium=f"{split['premium']:+,.2f} {cur}",
        split=[(label, f"{_signed(split[key])} {cur}") for key, label in SPLIT_LABELS.items()],
        charts=rendered, notes=data.notes)


def _day(text: str | None) -> str:
    """2024-01-01T00:00:00Z -> 2024-01-01 00:00 UTC."""
    return "?" if not text else text.replace("T", " ").removesuffix(":00Z") + " UTC"


def _signed(value: float) -> str:
    return "0.00" if abs(value) < 0.005 else f"{value:+,.2f}"


def _sign(value: float) -> str:
    return "pos" if value > 0 else "neg" if value < 0 else ""
