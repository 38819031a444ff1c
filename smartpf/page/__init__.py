"""``smartpf serve``: the portfolio page. Rendered on the server (FastAPI, Jinja2, uvicorn); it reads the trade
database as ``smartpf status / why / records / report`` do and steers the bot through the steering commands'
own checked path (``smartpf.cli.steering``). ``status``, ``why`` and ``records`` read its JSON API with ``--url``.

Modules: ``serve`` (the command), ``app`` (the routes), ``guard`` (password, CSRF, host), ``reads`` (the
figures, through the status, records and report code), ``actions`` (the forms, through ``smartpf.cli.steering``),
``remote`` (``--url`` for the CLI).
"""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    """Register ``smartpf serve`` and give ``status``, ``why`` and ``records`` their ``--url`` (they must be
    registered already)."""
    from . import remote, serve

    p: argparse.ArgumentParser = sub.add_parser(
        "serve", help="the portfolio page: status, value vs HODL, records, and forms to add, withdraw, set or "
        "terminate (127.0.0.1 by default)")
    serve.add_arguments(p)
    p.set_defaults(func=serve.cmd_serve)
    for name in ("status", "why", "records"):
        remote.attach(sub.choices[name])
