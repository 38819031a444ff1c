"""The core's own distribution (`make core-wheel`): a wheel with no dependencies that installs into a bare
virtualenv, with nothing but the standard library beside it, and runs an engine there."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "packaging" / "core" / "build.py"

# Runs in the fresh virtualenv, isolated (-I: no PYTHONPATH, no current folder on the path).
DRIVE = textwrap.dedent("""
    import importlib.metadata, json, sys
    import smartpf_core
    from smartpf_core import Engine, Fill, MarketRules, Snapshot, parse_settings

    assert smartpf_core.__file__.startswith(sys.prefix), smartpf_core.__file__
    assert importlib.metadata.requires("smartpf_core") is None
    spec = parse_settings({"smart_portfolio": {"assets": {"BTC": 50, "ETH": 50}, "investment": 1000}}).spec
    engine = Engine(spec, {p: MarketRules(min_notional=5, amount_step=0.0001) for p in spec.pairs})
    prices = {"BTC/USDT": 50000.0, "ETH/USDT": 2000.0}
    for order in engine.step(Snapshot(1767225600, prices)).orders:
        engine.order_placed(order.id)
        engine.on_fill(Fill(order.id, order.amount, order.price, order.value * 0.001, 1767225601))
    decision = engine.step(Snapshot(1767225660, prices))
    engine = Engine.from_dict(json.loads(json.dumps(engine.to_dict())))
    outside = sorted(m.split(".")[0] for m in sys.modules
                     if m.split(".")[0] not in (*sys.stdlib_module_names, "__main__", "smartpf_core"))
    print(engine.status, decision.reason.code, round(engine.value(prices)), outside)
""")


def pip(python: Path, *args: str) -> list[str]:
    """This virtualenv's pip, acting on the environment of ``python``."""
    return [sys.executable, "-m", "pip", "--python", str(python), *args]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, str(BUILD), "--out", str(out)], check=True, timeout=300)
    (built,) = out.glob("*.whl")
    return built


def test_the_wheel_is_named_by_the_apps_version_and_has_no_dependencies(wheel):
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert wheel.name == f"smartpf_core-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(f"smartpf_core-{version}.dist-info/METADATA").decode()
        names = set(archive.namelist())
    assert "Name: smartpf_core" in metadata and f"Version: {version}" in metadata
    assert "Requires-Dist" not in metadata
    # every module of the package (at any depth) and its type marker, nothing of the app
    sources = {p.relative_to(ROOT).as_posix() for p in (ROOT / "smartpf_core").rglob("*.py")}
    assert sources | {"smartpf_core/py.typed"} <= names
    assert not [n for n in names if not n.startswith(("smartpf_core/", f"smartpf_core-{version}.dist-info/"))]


def test_the_wheel_installs_alone_and_runs_an_engine(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)  # a bare interpreter: not even pip or setuptools
    python = env_dir / "bin" / "python"
    install = subprocess.run(pip(python, "install", "--no-index", "--quiet", str(wheel)), capture_output=True,
                             text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    listed = subprocess.run(pip(python, "list", "--format=freeze"), capture_output=True, text=True, timeout=120)
    assert [line.split("==")[0] for line in listed.stdout.split()] == ["smartpf_core"]  # nothing came with it
    run = subprocess.run([str(python), "-I", "-c", DRIVE], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().split(maxsplit=3) == ["running", "below_threshold", "999", "[]"]
