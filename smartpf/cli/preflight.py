"""``smartpf preflight -c CONFIG``: the checks to pass before a portfolio trades real money.

Each check prints one line, ``ok``, ``warn`` or ``FAIL``, with the number it checked: the settings (the
core's ``check_config``), ``dry_run`` false, exchange keys present, the REST API on 127.0.0.1 with real
credentials (the steering commands need it), the exchange reachable with those keys (ccxt, as Freqtrade
builds it), every pair a trading spot market, the stake currency's free balance at least the investment,
the investment above the minimum at live prices, and the key's permissions where the exchange reports
them (trading needed, withdrawals not). Exit 0 when nothing failed, 2 otherwise. Keys are never printed.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import Any

from smartpf.configfile import ConfigError, load_configs
from smartpf_core import check_config, investment_problems

PLACEHOLDERS = ("", "change-me", "change-me-to-a-long-random-secret-string")


class Report:
    def __init__(self, say: Callable[[str], None] = print) -> None:
        self.failed = 0
        self.say = say

    def ok(self, text: str) -> None:
        self.say(f"ok    {text}")

    def warn(self, text: str) -> None:
        self.say(f"warn  {text}")

    def fail(self, text: str) -> None:
        self.failed += 1
        self.say(f"FAIL  {text}")


def check_local(config: Mapping[str, Any], report: Report) -> Any:
    """What the config alone says: settings, dry_run, keys, REST API. Returns the spec (or None)."""
    result = check_config(dict(config))
    if result.errors:
        report.fail("settings: " + "; ".join(str(p) for p in result.errors))
    else:
        spec = result.spec
        report.ok(f"settings: {', '.join(f'{c} {p:g} %' for c, p in spec.allocations)}; investment "
                  f"{spec.investment:g} {spec.stake_currency}")
    if config.get("dry_run", True):
        report.fail("dry_run is true: set \"dry_run\": false to trade with real money")
    else:
        report.ok("dry_run is false")
    exchange = config.get("exchange") or {}
    missing = [k for k in ("key", "secret") if not str(exchange.get(k) or "").strip()]
    if missing:
        report.fail(f"exchange.{' and exchange.'.join(missing)}: empty; put the API key of {exchange.get('name')} "
                    "there (spot trading allowed, withdrawals not)")
    else:
        report.ok(f"exchange keys present for {exchange.get('name')}")
    api = config.get("api_server") or {}
    if not api.get("enabled"):
        report.fail("api_server.enabled is false: smartpf add/withdraw/set/terminate cannot reach the bot "
                    "(smartpf init writes it enabled on 127.0.0.1)")
    else:
        host = str(api.get("listen_ip_address") or "")
        weak = [k for k in ("username", "password", "jwt_secret_key") if str(api.get(k) or "") in PLACEHOLDERS]
        if weak:
            report.fail(f"api_server.{', api_server.'.join(weak)}: empty or a placeholder; set your own "
                        "(smartpf init generates them)")
        elif host not in ("127.0.0.1", "localhost", "::1"):
            report.warn(f"api_server.listen_ip_address = {host}: reachable from other machines; 127.0.0.1 is enough "
                        "for smartpf's commands")
        else:
            report.ok(f"REST API on {host}:{api.get('listen_port', 8080)} with credentials")
    return None if result.errors else result.spec


def check_exchange(config: Mapping[str, Any], spec: Any, report: Report, client: Any) -> None:
    """What the exchange says, with the config's keys."""
    import ccxt

    from smartpf.markets import DECIMAL_PLACES, TICK_SIZE, rules_from_ccxt_market

    name = (config.get("exchange") or {}).get("name")
    required = getattr(client, "requiredCredentials", {}) or {}
    extra = [k for k in ("password", "uid") if required.get(k) and not (config.get("exchange") or {}).get(k)]
    if extra:
        report.fail(f"exchange.{' and exchange.'.join(extra)}: {name} needs it with the key (OKX: the passphrase)")
    try:
        client.load_markets()
        balance = client.fetch_balance()
    except Exception as exc:  # noqa: BLE001 - any ccxt failure is one line
        report.fail(f"exchange {name}: cannot read the account with the config's keys ({type(exc).__name__}: "
                    f"{str(exc)[:200]})")
        return
    report.ok(f"exchange {name} reachable; the keys read the account")
    markets = {p: client.markets.get(p) for p in spec.pairs}
    absent = [p for p, m in markets.items() if not m or not m.get("active", True) or not m.get("spot", True)]
    if absent:
        report.fail(f"pairs not trading on {name}: {', '.join(absent)}")
        return
    report.ok(f"every pair is a trading spot market: {', '.join(spec.pairs)}")
    stake = spec.stake_currency
    free = float((balance.get("free") or {}).get(stake) or 0.0)
    if free + 1e-9 < spec.investment:
        report.fail(f"balance: {free:.2f} {stake} free, less than the investment {spec.investment:g} {stake} "
                    f"(deposit {spec.investment - free:.2f} more, or lower smart_portfolio.investment)")
    else:
        report.ok(f"balance: {free:.2f} {stake} free, at least the investment {spec.investment:g} {stake}")
    try:
        tickers = client.fetch_tickers(list(spec.pairs))
        prices = {p: float(tickers[p].get("last") or tickers[p].get("close") or 0.0) for p in spec.pairs}
    except Exception as exc:  # noqa: BLE001
        report.fail(f"prices: cannot read the tickers ({type(exc).__name__})")
        return
    if all(v > 0 for v in prices.values()):
        mode = TICK_SIZE if getattr(client, "precisionMode", ccxt.TICK_SIZE) == ccxt.TICK_SIZE else DECIMAL_PLACES
        rules = {p: rules_from_ccxt_market(m, mode) for p, m in markets.items()}
        minimum, problems = investment_problems(spec, rules, prices)
        errors = [str(p) for p in problems if p.level == "error"]
        if errors:
            report.fail("minimums: " + "; ".join(errors))
        else:
            report.ok(f"minimums: the investment {spec.investment:g} clears the minimum {minimum.initial:.2f} "
                      f"{stake} at live prices")
            for problem in problems:
                report.warn(str(problem).removeprefix("warning: "))
    else:
        report.fail(f"prices: no last price for {', '.join(p for p, v in prices.items() if v <= 0)}")
    check_permissions(client, balance, report)


def check_permissions(client: Any, balance: Mapping[str, Any], report: Report) -> None:
    """The key's own restrictions where the exchange reports them (Binance: apiRestrictions, else the
    account's canTrade); elsewhere say that they must be checked on the exchange's API page."""
    restrictions = None
    if hasattr(client, "sapi_get_account_apirestrictions"):
        try:
            restrictions = client.sapi_get_account_apirestrictions()
        except Exception:  # noqa: BLE001 - not every Binance-compatible endpoint serves it
            restrictions = None
    if isinstance(restrictions, dict):
        if not restrictions.get("enableSpotAndMarginTrading"):
            report.fail("key permissions: spot trading is not enabled on this API key")
        else:
            report.ok("key permissions: spot trading enabled")
        if restrictions.get("enableWithdrawals"):
            report.warn("key permissions: withdrawals are enabled on this API key; the bot never needs them: "
                        "turn them off")
        else:
            report.ok("key permissions: withdrawals disabled (not needed)")
        return
    info = balance.get("info") if isinstance(balance.get("info"), dict) else {}
    if "canTrade" in info:
        if info.get("canTrade"):
            report.ok("key permissions: the account may trade (canTrade); that the key cannot withdraw is not "
                      "reported here: check it on the exchange's API page")
        else:
            report.fail("key permissions: the account may not trade (canTrade false)")
        return
    report.warn("key permissions: not reported by this exchange; check on its API page that the key may trade "
                "spot and may not withdraw")


def cmd_preflight(args: argparse.Namespace) -> int:
    from smartpf.cli.reconcile import exchange_client
    from smartpf.errors import UsageError

    try:
        config = load_configs(args.config)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    report = Report()
    spec = check_local(config, report)
    if spec is not None and (config.get("exchange") or {}).get("name"):
        check_exchange(config, spec, report, exchange_client(config))
    if report.failed:
        print(f"preflight: {report.failed} check(s) failed; fix them before going live (docs/going-live.md)")
        return 2
    print("preflight: ready to go live (start small; docs/going-live.md)")
    return 0
