"""examples/research.py runs as a script: it backtests its basket over the 2021 hourly candles (a DataFrame)
through the core's public API, writes the PNG of value against HODL, and agrees with ``simulate``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "research.py"


def test_research_example_plots_value_against_hodl(tmp_path):
    out = tmp_path / "value-vs-hodl.png"
    run = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "8747 hourly candles of BTC/USDT, ETH/USDT, ADA/USDT, XRP/USDT" in run.stdout
    assert "simulate agrees" in run.stdout  # the notebook's own loop and simulate() give the same figures
    assert "20 rebalances" in run.stdout, run.stdout
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
