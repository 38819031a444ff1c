"""``smartpf status / why / records --url URL``: read a portfolio from a ``smartpf serve`` page's JSON API
instead of the trade database, and print exactly what the local command prints. The password comes from
``SMARTPF_PAGE_PASSWORD`` (never from the command line, never printed)."""

from __future__ import annotations

import argparse
import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from smartpf.cli.portfolio import PortfolioCommandError, why_lines, write_records
from smartpf.cli.view import format_view, records_csv

from .guard import PASSWORD_ENV, page_password

TIMEOUT = 150.0  # seconds: the page answers after a change it is applying (up to steer's confirmation time)


def attach(parser: argparse.ArgumentParser) -> None:
    """Give a read command ``--url``; ``-c`` is then not needed."""
    parser.add_argument("--url", help=f"read from a `smartpf serve` page at URL instead of the database "
                        f"(password: the environment variable {PASSWORD_ENV})")
    for action in parser._actions:
        if action.dest == "config":
            action.required = False
    local: Callable[[argparse.Namespace], int] = parser.get_default("func")
    command = parser.prog.split()[-1]

    def run(args: argparse.Namespace) -> int:
        if args.url is None:
            if not args.config:
                raise PortfolioCommandError("give -c CONFIG (the bot's trade database) or --url (a smartpf serve "
                                            "page)")
            return local(args)
        if args.config or args.db_url:
            raise PortfolioCommandError("--url reads a smartpf serve page: give it alone, without -c or --db-url")
        return REMOTE[command](args)

    parser.set_defaults(func=run)


def fetch(url: str, path: str, query: dict[str, str] | None = None) -> dict[str, Any]:
    """GET the page's ``path`` as JSON; a refusal or a failure is one line (exit 2)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as exc:
        raise PortfolioCommandError(f"--url: not a URL ({exc})") from None
    if parts.username is not None or parts.password is not None:
        raise PortfolioCommandError(f"--url: put the page's password in {PASSWORD_ENV}, not in the URL")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PortfolioCommandError(f"--url {url}: give the page's address, such as http://127.0.0.1:8090")
    full = url.rstrip("/") + path + (("?" + urllib.parse.urlencode(query)) if query else "")
    headers = {"Accept": "application/json"}
    password = page_password()
    if password is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"smartpf:{password}".encode()).decode()
    try:
        with urllib.request.urlopen(urllib.request.Request(full, headers=headers), timeout=TIMEOUT) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            raise PortfolioCommandError(f"the page at {url} needs its password: set {PASSWORD_ENV}" + (
                " (the one set was refused)" if password else "")) from None
        try:
            said = json.loads(exc.read()).get("error")
        except (ValueError, AttributeError):
            said = None
        raise PortfolioCommandError(said or f"the page at {url} answered HTTP {exc.code} to {path}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PortfolioCommandError(f"no smartpf serve page answers at {url} ({reason})") from None
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict) or "portfolio_id" not in data:
        raise PortfolioCommandError(f"{url}{path} is not a smartpf serve page's API (no portfolio in its answer)")
    return data


def remote_status(args: argparse.Namespace) -> int:
    data = fetch(args.url, "/api/portfolio")
    portfolio_id, currency = data.pop("portfolio_id"), data.pop("stake_currency", "")
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(format_view(data, str(currency), str(portfolio_id), time.time()))
    return 0


def remote_why(args: argparse.Namespace) -> int:
    data = fetch(args.url, "/api/why")
    print("\n".join(why_lines(str(data["portfolio_id"]), list(data.get("reasons") or []), data.get("rejected"))))
    return 0


def remote_records(args: argparse.Namespace) -> int:
    data = fetch(args.url, "/api/records", {"since": args.since} if args.since else None)
    return write_records(records_csv(list(data.get("records") or [])), args.csv)


REMOTE: dict[str, Callable[[argparse.Namespace], int]] = {"status": remote_status, "why": remote_why,
                                                           "records": remote_records}
