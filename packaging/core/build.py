"""Build the standard-library-only wheel of ``smartpf_core`` into ``dist/`` (``make core-wheel``).

The package is copied with this folder's ``pyproject.toml`` and ``README.md`` into a temporary folder and
built there with the virtualenv's setuptools (no download, no build leftovers in the repository).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def build(out: Path) -> Path:
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="smartpf-core-build-") as tmp:
        stage = Path(tmp)
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(HERE / name, stage / name)
        shutil.copytree(ROOT / "smartpf_core", stage / "smartpf_core",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        built = stage / "wheel"
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                        "--no-index", "-w", str(built), str(stage)], check=True)
        (wheel,) = built.glob("smartpf_core-*.whl")
        target = out / wheel.name
        shutil.copy(wheel, target)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "dist"), help="folder the wheel is written to (default: dist)")
    print(build(Path(parser.parse_args().out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
