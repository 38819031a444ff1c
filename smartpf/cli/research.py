"""The research commands: ``sweep``, ``recommend``, ``whatif`` and ``study`` (settings compared over history on
the fast engine). Their work is in ``smartpf.research``; this module only names the commands."""

from __future__ import annotations

import argparse

from smartpf.cli.inputs import MARKETS_HELP, config_arg
from smartpf.cli.portfolio import add_arguments as portfolio_arguments
from smartpf.research import recommend, study, sweep, whatif


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="many settings x baskets x windows on the fast engine, in parallel; ranked")
    config_arg(p)
    sweep.add_arguments(p, MARKETS_HELP)
    p.set_defaults(func=sweep.cmd_sweep)

    p = sub.add_parser("recommend", help="rank settings for the config's basket over many windows, with the evidence")
    config_arg(p)
    recommend.add_arguments(p, MARKETS_HELP)
    p.set_defaults(func=recommend.cmd_recommend)

    p = sub.add_parser("whatif", help="the running portfolio's own life (start, deposits, withdrawals) replayed "
                       "under other settings, beside what it really made")
    portfolio_arguments(p)
    whatif.add_arguments(p, MARKETS_HELP)
    p.set_defaults(func=whatif.cmd_whatif)

    p = sub.add_parser("study", help="the rebalancing study: random baskets x settings x one-year windows -> "
                       "docs/research.md")
    study.add_arguments(p)
    p.set_defaults(func=study.cmd_study)
