"""report.html in a real browser: headless Chromium (the Debian package, `make system-deps`) opens it from a
file:// URL with every network request refused; the charts must render (plotly's SVG elements in the DOM)
and the screenshot must show them (not a blank page)."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from smartpf.cli import main
from tests.unit.test_backtest import config_file

CHARTS = ("value", "weights", "drawdown", "fees", "premium")
OFFLINE = ["--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
           "--host-resolver-rules=MAP * ~NOTFOUND"]


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("no chromium: install the system packages with `make system-deps` (apt-get install chromium)")


def headless(tmp_path, *args, timeout=180):
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=15000", *OFFLINE,
           *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def report_page(tmp_path_factory, datadir):
    tmp = tmp_path_factory.mktemp("browser")
    path = config_file(tmp, {"BTC": 25, "ETH": 25, "SOL": 25, "XRP": 25}, threshold=2)
    assert main(["backtest", "-c", path, "--datadir", str(datadir), "--timerange", "20240101-20240301",
                 "--report", str(tmp / "report")]) == 0
    return tmp / "report" / "report.html"


def test_the_charts_render_offline(report_page, tmp_path):
    proc = headless(tmp_path, "--dump-dom", report_page.as_uri())
    assert proc.returncode == 0, proc.stderr[-3000:]
    dom = proc.stdout
    for name in CHARTS:
        start = dom.index(f'id="chart-{name}"')
        chart = dom[start:start + 200_000]
        assert 'class="main-svg"' in chart, f"chart {name} did not render"
    assert dom.count('class="main-svg"') >= 2 * len(CHARTS)  # plotly draws two SVG layers per chart
    assert dom.count('class="scatterlayer') >= 4 and 'class="barlayer' in dom
    assert "Premium over HODL" in dom


def test_the_screenshot_shows_the_charts(report_page, tmp_path):
    shot = tmp_path / "page.png"
    proc = headless(tmp_path, "--hide-scrollbars", "--window-size=1280,3600", f"--screenshot={shot}",
                    report_page.as_uri())
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-3000:]
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=float)
    assert pixels.shape[:2] == (3600, 1280)
    assert pixels.std() > 20  # not a blank page
    # the charts' lines: the blue of the portfolio line covers a good part of the page
    blue = (np.abs(pixels[..., 0] - 0x1F) < 40) & (np.abs(pixels[..., 1] - 0x6F) < 40) & (pixels[..., 2] > 200)
    assert blue.sum() > 5000
