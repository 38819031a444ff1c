"""`make test` works on a clone with no ../shared beside it: `make data` fetches what the tests read.

The clone is `git clone` of this repository's HEAD (commit first: uncommitted changes are not in it) into a
temp folder, so nothing named ``shared`` is beside it. ``make data`` runs there with EXCHANGE_API pointed at a
running ``smartpf replay`` (which serves this checkout's data, all markets), then ``pytest -m "not e2e"``.

The clone reuses this virtualenv instead of installing one: ``make VENV=<this venv> -o <venv>/bin/.installed``
(``-o`` tells make the install stamp is up to date, so the venv is never re-installed from the clone), and
``PYTHONPATH=<clone>`` so every process imports the clone's ``smartpf`` and ``tests``, not this checkout's
editable install (whose ``../shared`` would otherwise be found).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from smartpf import paths
from smartpf.replay.runner import running_replay
from tests.support import datasets

pytestmark = pytest.mark.e2e


def test_a_clone_without_shared_fetches_its_data_then_passes(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(paths.REPO_ROOT), str(clone)], check=True, timeout=120)
    assert not (clone.parent / "shared").exists()
    venv = Path(sys.prefix)
    env = {k: v for k, v in os.environ.items() if k not in ("SMARTPF_SHARED", "PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONPATH"] = str(clone)
    python = str(venv / "bin" / "python")

    where = subprocess.run([python, "-c", "from smartpf import paths; print(paths.DEFAULT_DATADIR, "
                            "paths.DEFAULT_MARKETS)"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert where.stdout.split() == [str(clone / "user_data/data/binance"),
                                    str(clone / "user_data/data/binance-exchangeInfo.json")], where

    with running_replay(clock="history", extra_args=["--all-markets"]) as ex:
        make = subprocess.run([shutil.which("make") or "make", "-o", f"{venv}/bin/.installed", "data",
                               f"VENV={venv}", f"EXCHANGE_API={ex.url}"],
                              cwd=clone, env=env, capture_output=True, text=True, timeout=900)
    assert make.returncode == 0, make.stdout[-3000:] + make.stderr[-3000:]
    fetched = clone / "user_data" / "data" / "binance"
    assert (clone / "user_data" / "data" / "binance-exchangeInfo.json").is_file()
    assert {p.name for p in fetched.iterdir()} == {datasets.candle_path(fetched, pair, tf).name
                                                   for pair, tf in datasets.spans()}

    again = subprocess.run(["make", "-o", f"{venv}/bin/.installed", "data", f"VENV={venv}",
                            "EXCHANGE_API=http://127.0.0.1:9"], cwd=clone, env=env, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0 and "every candle file the tests read is in" in again.stdout, again.stderr[-2000:]

    tests = subprocess.run([python, "-m", "pytest", "-m", "not e2e", "-q", "-x", "-p", "no:cacheprovider"],
                           cwd=clone, env=env, capture_output=True, text=True, timeout=1800)
    assert tests.returncode == 0, tests.stdout[-5000:] + tests.stderr[-2000:]
    assert " passed" in tests.stdout and "failed" not in tests.stdout
