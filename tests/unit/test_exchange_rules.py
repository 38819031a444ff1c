"""Market rules of twelve exchanges: read one way, checked against each exchange's raw fields, and
every order the core emits on them passes ccxt's own precision functions and the stated limits."""

from __future__ import annotations

import json
from dataclasses import replace

import ccxt
import pytest

from smartpf import paths
from smartpf.cli import main
from smartpf.markets import (
    CCXT,
    DECIMAL_PLACES,
    EXCHANGE_INFO,
    TICK_SIZE,
    MarketsError,
    exchange_info_from_markets,
    load_rules,
    markets_from_json,
    read_exchange_info,
    rules_from_ccxt_market,
    rules_from_exchange_info,
)
from smartpf.replay.exchange.data import load_market_data
from smartpf_core import Engine, MarketRules, Reserves, Snapshot, min_order_value, minimum_investment, plan_initial
from tests.support.exchanges import (
    DATA,
    EXCHANGES,
    RAW_STEPS,
    REFERENCE_PRICES,
    active_pairs,
    basket_spec,
    market,
    markets,
    on_tick,
    problems,
    raw,
)
from tests.support.helpers import fill_all

SPOT_USDT = {  # every spot USDT market in the files, and which of them the exchange marks inactive
    "binance": 7, "okx": 7, "xt": 6, "kraken": 6, "bybit": 7, "gate": 7, "kucoin": 7, "coinbase": 5, "bitget": 7,
    "htx": 7, "bitmart": 7, "mexc": 9,
}
MEXC_INACTIVE = {"BTC/USDT", "ETH/USDT", "ADA/USDT", "LTC/USDT", "XRP/USDT", "SOL/USDT", "TRX/USDT"}


def prices_for(name: str, pairs, scale: float = 1.0) -> dict[str, float]:
    return {p: on_tick(REFERENCE_PRICES[p.split("/")[0]] * scale, markets(name).rules[p].price_tick) for p in pairs}


# ------------------------------------------------------------------ reading
@pytest.mark.parametrize("name", EXCHANGES)
def test_every_spot_usdt_market_is_read(name):
    read = markets(name)
    assert read.format == CCXT
    assert len(read.rules) == SPOT_USDT[name]
    assert read.inactive == (MEXC_INACTIVE if name == "mexc" else set())
    for pair, rule in read.rules.items():
        assert rule.amount_step > 0 and rule.price_tick > 0, pair
        assert rule.min_notional > 0 or rule.min_amount > 0, f"{name} {pair} states no minimum at all"


def test_precision_mode_is_recognised_and_matches_ccxt():
    """binance.json is an older snapshot in DECIMAL_PLACES; every other file (and every ccxt 4.5.90
    class, binance included) is TICK_SIZE."""
    for name in EXCHANGES:
        expected = DECIMAL_PLACES if name == "binance" else TICK_SIZE
        assert markets(name).precision_mode == expected, name
        cls = getattr(ccxt, name, None)
        assert (cls is None) == (name == "bitmart")
        if cls is not None:
            assert cls().precisionMode == ccxt.TICK_SIZE


@pytest.mark.parametrize("name", EXCHANGES)
def test_steps_match_the_exchanges_own_raw_fields(name):
    for pair, rule in markets(name).rules.items():
        amount_step, price_tick = RAW_STEPS[name](market(name, pair)["info"])
        assert rule.amount_step == pytest.approx(amount_step, rel=1e-12), (name, pair)
        assert rule.price_tick == pytest.approx(price_tick, rel=1e-12), (name, pair)


def test_bitmart_against_its_raw_fields():
    """No ccxt class to parse it with: every unified value checked against bitmart's own fields."""
    for pair, rule in markets("bitmart").rules.items():
        info = market("bitmart", pair)["info"]
        assert info["trade_status"] == "trading" and pair not in markets("bitmart").inactive
        assert rule.min_amount == float(info["base_min_size"])
        assert rule.min_notional == float(info["min_buy_amount"]) == float(info["min_sell_amount"])
        assert rule.amount_step == float(info["quote_increment"])
        assert rule.price_tick == pytest.approx(10.0 ** -int(info["price_max_precision"]))
        assert f"{info['base_currency']}/{info['quote_currency']}" == pair


def test_binance_decimal_places_equal_its_raw_exchange_info():
    """The same markets read both ways: ccxt's DECIMAL_PLACES snapshot and the raw exchangeInfo in its info."""
    body = {"symbols": [m["info"] for m in raw("binance").values()]}
    assert markets_from_json(body).format == EXCHANGE_INFO
    # the maximum quantity aside: this older snapshot's unified limits lack some MARKET_LOT_SIZE maxima
    assert without_max(rules_from_exchange_info(body)) == without_max(markets("binance").rules)
    assert replace(markets("binance").rules["BTC/USDT"], max_amount=0) == MarketRules(5.0, 1e-05, 1e-05, 0.01)
    assert replace(markets("binance").rules["XRP/USDT"], max_amount=0) == MarketRules(5.0, 1.0, 1.0, 0.0001)


def without_max(rules):
    return {p: replace(r, max_amount=0) for p, r in rules.items()}


def test_a_mode_the_raw_filters_contradict_is_refused():
    data = json.loads(json.dumps(raw("binance")))
    data["BTC/USDT"]["precision"]["amount"] = 4  # says step 0.0001; LOT_SIZE.stepSize says 0.00001
    with pytest.raises(MarketsError, match="BTC/USDT.*DECIMAL_PLACES.*LOT_SIZE.stepSize is 1e-05"):
        markets_from_json(data, "bad.json")


def test_entries_keyed_by_id_and_non_spot_markets():
    htx = raw("htx")["BTC/USDT"]
    data = {"btcusdt": htx, "BTC/USDT:USDT": {**htx, "spot": False, "type": "swap", "symbol": "BTC/USDT:USDT"}}
    read = markets_from_json(data)
    assert list(read.rules) == ["BTC/USDT"]  # named by base/quote, not by the key; the swap left out


def test_missing_limits_are_recorded_and_read_as_none():
    assert markets("kraken").missing["BTC/USDT"] == ("cost.min",)
    assert markets("okx").missing["BTC/USDT"] == ("cost.min",)
    assert markets("xt").missing["BTC/USDT"] == ("amount.min",)
    assert markets("bitget").missing["BTC/USDT"] == ("amount.min",)  # stated as 0
    assert markets("kraken").rules["BTC/USDT"].min_notional == 0.0
    assert markets("bitget").rules["BTC/USDT"].min_amount == 0.0


def test_no_cost_minimum_still_gets_the_configured_min_trade():
    rule = markets("kraken").rules["BTC/USDT"]  # amount.min 0.0001, no cost minimum
    price = 37000.0
    assert min_order_value(rule, price, 10.0, Reserves()) == 10.0  # min_trade, not 0.0001 x 37000 x 1.05
    plan = plan_initial({"BTC/USDT": 1.0}, 8.0, {"BTC/USDT": price}, {"BTC/USDT": rule}, 10.0, Reserves(), 0.0, 8.0)
    assert not plan.orders and plan.skipped[0].minimum == 10.0
    plan = plan_initial({"BTC/USDT": 1.0}, 12.0, {"BTC/USDT": price}, {"BTC/USDT": rule}, 10.0, Reserves(), 0.0, 12.0)
    assert plan.orders and not problems("kraken", "BTC/USDT", "buy", plan.orders[0].amount, price)


def test_the_adapter_reads_a_market_as_freqtrade_gives_it():
    """Freqtrade's ccxt is in TICK_SIZE mode: the adapter's default. A DECIMAL_PLACES market needs the mode."""
    okx = market("okx", "BTC/USDT")
    assert rules_from_ccxt_market(okx) == markets("okx").rules["BTC/USDT"]
    binance = market("binance", "BTC/USDT")
    assert rules_from_ccxt_market(binance, DECIMAL_PLACES) == markets("binance").rules["BTC/USDT"]


@pytest.mark.parametrize("name", EXCHANGES)
def test_replay_serves_any_exchange_as_exchange_info_that_ccxt_reads_back(name):
    """The replay exchange speaks Binance: a ccxt file is rendered as exchangeInfo, and ccxt's binance
    class parses it back into the same rules (and the inactive markets as inactive)."""
    body = exchange_info_from_markets(markets(name))
    assert rules_from_exchange_info(body) == markets(name).rules
    parser = ccxt.binance()
    parser.options.update(crossMarginPairsData=[], isolatedMarginPairsData=[])  # what loadMarkets would fetch
    for entry in body["symbols"]:
        parsed = parser.parse_market(entry)
        pair = f"{entry['baseAsset']}/{entry['quoteAsset']}"
        assert rules_from_ccxt_market(parsed) == markets(name).rules[pair], (name, pair)
        assert parsed["active"] == (pair not in markets(name).inactive)


def test_files_in_either_format_through_the_one_reader(tmp_path):
    path = tmp_path / "okx.json"
    path.write_text((DATA / "okx.json").read_text(encoding="utf-8"), encoding="utf-8")
    assert load_rules(path) == markets("okx").rules
    assert read_exchange_info(path)["symbols"][0]["symbol"] == "BTCUSDT"
    (tmp_path / "bad.json").write_text('{"BTC/USDT": {"id": "x"}}', encoding="utf-8")
    with pytest.raises(MarketsError, match="neither a Binance exchangeInfo body .* nor ccxt markets"):
        load_rules(tmp_path / "bad.json")
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(MarketsError, match="not a readable JSON"):
        load_rules(tmp_path / "broken.json")


# ------------------------------------------------------------------ orders the core emits
def _orders_of_a_basket(name, weights, investment, prices, moves):
    """Initial purchase, then a rebalance after each price move, with immediate fills: every order."""
    spec = basket_spec(weights, investment)
    engine = Engine(spec, {p: markets(name).rules[p] for p in weights})
    emitted, now = [], 0.0
    for move in [{}, *moves]:
        prices = {p: on_tick(prices[p] * move.get(p, 1.0), markets(name).rules[p].price_tick) for p in prices}
        for _ in range(3):  # sells, then the buys they fund, then nothing
            decision = engine.step(Snapshot(now, prices))
            emitted += [(o, prices[o.pair]) for o in decision.orders]
            fill_all(engine, decision, prices, now)
            now += 60.0
    return spec, engine, emitted


@pytest.mark.parametrize("name", EXCHANGES)
def test_every_active_market_small_and_large_orders_are_sendable(name):
    """Each active spot USDT market in a two-coin basket, at the minimum investment and at 50 000
    USDT, with a rise and a fall: every order as the core emits it is accepted unchanged by ccxt."""
    pairs = active_pairs(name)
    assert pairs, name
    for pair in pairs:
        other = next(p for p in pairs if p != pair) if len(pairs) > 1 else None
        if other is None:
            continue
        weights = {pair: 60, other: 40}
        prices = prices_for(name, weights)
        rules = {p: markets(name).rules[p] for p in weights}
        least = minimum_investment(basket_spec(weights, 1000), rules, prices).initial
        for investment in (least, 50_000.0):
            _, engine, emitted = _orders_of_a_basket(name, weights, investment, prices,
                                                     [{pair: 1.3}, {pair: 0.6}, {other: 1.5}])
            initial = [o for o, _ in emitted if o.op_id == emitted[0][0].op_id]
            assert {o.pair for o in initial} == set(weights), (name, pair, investment)
            for order, price in emitted:
                assert order.price == price
                assert problems(name, order.pair, order.side, order.amount, order.price) == [], (name, investment)
            if investment > least:
                assert any(o.side == "sell" for o, _ in emitted), (name, pair)


def test_mexc_inactive_markets_are_left_out_and_explained(capsys, tmp_path):
    assert active_pairs("mexc") == ["ATLAS/USDT", "PYTH/USDT"]
    assert markets("mexc").active_rules().keys() == {"ATLAS/USDT", "PYTH/USDT"}
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"stake_currency": "USDT", "smart_portfolio": {
        "assets": {"BTC": 40, "XRP": 30, "ADA": 30}, "investment": 1000}}), encoding="utf-8")
    prices = ["--price", "BTC/USDT=37000", "--price", "XRP/USDT=0.6", "--price", "ADA/USDT=0.38"]
    assert main(["minimum", "-c", str(config), "--markets", str(DATA / "mexc.json"), *prices]) == 0
    err = capsys.readouterr().err
    assert "BTC/USDT is marked inactive (not trading)" in err and "will not start" in err


def test_minimum_and_backtest_take_a_ccxt_file(capsys, tmp_path):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"stake_currency": "USDT", "smart_portfolio": {
        "assets": {"BTC": 40, "XRP": 30, "ADA": 30}, "investment": 1000}}), encoding="utf-8")
    prices = ["--price", "BTC/USDT=37000", "--price", "XRP/USDT=0.6", "--price", "ADA/USDT=0.38"]
    assert main(["minimum", "-c", str(config), "--markets", str(DATA / "kraken.json"), *prices]) == 0
    captured = capsys.readouterr()
    assert "BTC/USDT 37000, XRP/USDT 0.6, ADA/USDT 0.38 (--price)" in captured.out
    assert "states no minimum order cost; the configured min_trade 5 applies" in captured.err
    with pytest.raises(SystemExit) as exit_:
        main(["minimum", "-c", str(config), "--markets", str(DATA / "xt.json"), "--price", "BTC/USDT=x"])
    assert exit_.value.code == 2 and "expected PAIR=PRICE" in capsys.readouterr().err
    ltc = tmp_path / "ltc.json"
    ltc.write_text(json.dumps({"stake_currency": "USDT", "smart_portfolio": {
        "assets": {"BTC": 50, "LTC": 50}, "investment": 1000}}), encoding="utf-8")
    assert main(["minimum", "-c", str(ltc), "--markets", str(DATA / "coinbase.json"), "--price", "BTC/USDT=1"]) == 2
    assert "coinbase.json: no exchange rules for LTC/USDT" in capsys.readouterr().err


def test_backtest_with_a_ccxt_file(capsys, datadir, tmp_path):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"stake_currency": "USDT", "timeframe": "1h", "smart_portfolio": {
        "assets": {"BTC": 40, "XRP": 30, "ADA": 30}, "investment": 1000}}), encoding="utf-8")
    args = ["backtest", "-c", str(config), "--datadir", str(datadir), "--timerange", "20240101-20240201", "--json"]
    assert main([*args, "--markets", str(DATA / "okx.json")]) == 0
    okx = json.loads(capsys.readouterr().out)
    assert main([*args, "--markets", str(DATA / "kraken.json")]) == 0
    kraken = json.loads(capsys.readouterr().out)
    assert okx.keys() == kraken.keys() and okx != kraken  # different steps, different fills


def test_the_check_itself_catches_what_an_exchange_would_refuse():
    """``problems`` is the oracle of these tests: it must see an off-step amount, an off-tick price and a limit."""
    assert problems("binance", "BTC/USDT", "buy", 0.001, 37000.0) == []
    assert "amount_to_precision" in problems("binance", "BTC/USDT", "buy", 0.0010001, 37000.0)[0]
    assert "price_to_precision" in problems("okx", "BTC/USDT", "buy", 0.001, 37000.05)[0]
    assert "cost 3.7 below the minimum 5" in problems("bybit", "BTC/USDT", "buy", 0.0001, 37000.0)[0]
    assert "amount 100.0 above the maximum 83" in problems("bybit", "BTC/USDT", "sell", 100.0, 37000.0)[0]
    assert "amount 0.001 below the minimum 0.01" in problems("kraken", "ETH/USDT", "buy", 0.001, 2000.0)[0]
    assert any("amount_to_precision" in p for p in problems("bitmart", "DOGE/USDT", "buy", 100.5, 0.08))


def test_the_readme_exchanges_table_is_what_smartpf_minimum_computes(capsys, tmp_path):
    """The figures in the README's "Exchanges" table, recomputed with the command it shows."""
    readme = (paths.REPO_ROOT / "docs" / "exchanges.md").read_text(encoding="utf-8")
    table = readme.split("## Exchanges", 1)[1].split("| exchange | rule tests |", 1)[1].split("\n\n", 1)[0]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()[2:]]
    assert [r[0] for r in rows] == list(EXCHANGES)
    config = tmp_path / "basket.json"
    config.write_text(json.dumps({"stake_currency": "USDT", "fee": 0.001, "smart_portfolio": {
        "assets": {"BTC": 40, "XRP": 30, "ADA": 30}, "investment": 1000}}), encoding="utf-8")
    for name, _, _, initial, rebalance, binding, _ in rows:
        assert main(["minimum", "-c", str(config), "--markets", str(DATA / f"{name}.json"),
                     "--price", "BTC/USDT=78314.31", "--price", "XRP/USDT=1.4532", "--price", "ADA/USDT=0.2723"]) == 0
        out = capsys.readouterr().out
        assert f"minimum investment: {initial.strip('()').replace(',', '')} USDT" in out, name
        assert f"binding coin {binding}/USDT" in out, name
        assert f"rebalance minimum:  {rebalance.strip('()').replace(',', '')} USDT" in out, name


def test_the_replay_exchange_loads_a_ccxt_file(datadir):
    info, pairs = load_market_data(datadir, DATA / "kraken.json", ["BTC/USDT", "XRP/USDT"], ["1h"])
    assert [s["symbol"] for s in info["symbols"]] == ["BTCUSDT", "XRPUSDT"]
    assert pairs["BTCUSDT"].step == 1e-08 and pairs["BTCUSDT"].tick == 0.1
    assert pairs["XRPUSDT"].step == 1e-08 and pairs["XRPUSDT"].tick == 1e-05
