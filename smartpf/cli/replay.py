"""``smartpf replay``: the offline replay exchange (``smartpf.replay.cli`` parses and runs it; ``python -m
smartpf.replay`` is the same program on its own)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    try:
        from smartpf.replay import cli as replay_cli
    except ImportError:
        replay_cli = None
    if replay_cli is not None:
        p = sub.add_parser("replay", help="run the offline replay exchange (Binance, OKX or XT API)")
        replay_cli.add_arguments(p)
        p.set_defaults(func=replay_cli.run)
