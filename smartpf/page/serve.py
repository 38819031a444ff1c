"""``smartpf serve -c CONFIG [--host 127.0.0.1] [--port 8090]``: check that the page can be served safely and
that the bot's files can be read, then serve it until Ctrl-C."""

from __future__ import annotations

import argparse
import socket
import sys

from smartpf import paths
from smartpf.cli.portfolio import PortfolioCommandError, load_config
from smartpf.cli.portfolio import add_arguments as portfolio_arguments

from .guard import PASSWORD_ENV, GuardError, check_listen, page_password

DEFAULT_PORT = 8090


def add_arguments(parser: argparse.ArgumentParser) -> None:
    portfolio_arguments(parser)
    parser.add_argument("--host", default="127.0.0.1",
                        help=f"address to listen on (default 127.0.0.1; any other needs {PASSWORD_ENV})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--file", help="the config file the actions change (default: the last -c file with "
                        "smart_portfolio), as for smartpf add")
    parser.add_argument("--bot-url", help="the bot's REST API for the reloads (default: from the config's "
                        "api_server; http://user:password@host:port works too)")
    parser.add_argument("--datadir", default=str(paths.DEFAULT_DATADIR),
                        help="Freqtrade-format candles for the value-vs-HODL chart (smartpf fetch-data keeps them "
                        "up to date)")
    parser.add_argument("--timeframe", help="candle size of the chart (default: the config's timeframe)")


def prepare(args: argparse.Namespace) -> tuple[object, str | None]:
    """The app, checked: a safe address, a readable config and database. Bad input: PortfolioCommandError."""
    from .actions import Steering
    from .app import create_app
    from .guard import Guard
    from .reads import ReadError, Source

    password = page_password()
    try:
        check_listen(args.host, password)
    except GuardError as exc:
        raise PortfolioCommandError(str(exc)) from exc
    if not 0 < args.port < 65536:
        raise PortfolioCommandError(f"--port {args.port}: not a port (1 to 65535)")
    load_config(args)  # a config that cannot be read: one line now, not on every page
    source = Source(list(args.config), args.db_url, args.datadir, args.timeframe)
    try:
        source.read()
    except ReadError as exc:
        raise PortfolioCommandError(str(exc)) from exc
    except PortfolioCommandError as exc:
        if "no portfolio yet" not in str(exc):
            raise
        print(f"note: {exc}; the page says so until the bot has bought its basket", file=sys.stderr)
    return create_app(source, Steering(source, args.file, args.bot_url), Guard(password)), password


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    app, password = prepare(args)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        sock.close()
        raise PortfolioCommandError(f"--host {args.host} --port {args.port}: cannot listen there "
                                    f"({exc.strerror or exc})") from exc
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"smartpf serve: the portfolio page on http://{shown}:{args.port}/ "
          f"({'password from ' + PASSWORD_ENV if password else 'no password: loopback only'}); Ctrl-C stops it",
          file=sys.stderr)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[sock])
    return 0
