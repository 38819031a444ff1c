"""Run inside bt's own virtualenv (bt is not a dependency of smartpf): a threshold rebalance with bt.

Usage: python bt_runner.py PRICES.csv WEIGHTS.json TOLERANCE FEE CAPITAL
PRICES.csv: an ``epoch`` column (seconds) and one column per pair, the price bt decides and trades at.
Prints JSON: the final value, the dates (epoch seconds) bt traded on, and bt's version.
"""

import json
import sys

import bt
import pandas as pd


def main() -> None:
    prices_path, weights_path, tolerance, fee, capital = sys.argv[1:6]
    frame = pd.read_csv(prices_path)
    frame.index = pd.to_datetime(frame.pop("epoch"), unit="s")
    weights = json.loads(open(weights_path).read())
    fee = float(fee)
    strategy = bt.Strategy("threshold", [
        bt.algos.SelectAll(),
        bt.algos.WeighSpecified(**weights),
        bt.algos.RunIfOutOfBounds(float(tolerance)),
        bt.algos.Rebalance(),
    ])
    test = bt.Backtest(strategy, frame, initial_capital=float(capital), integer_positions=False,
                       commissions=lambda quantity, price: abs(quantity) * price * fee, progress_bar=False)
    result = bt.run(test)
    values = result.backtests["threshold"].strategy.values
    transactions = result.get_transactions()
    dates = sorted({int(pd.Timestamp(d).timestamp()) for d in transactions.index.get_level_values(0)})
    print(json.dumps({"final_value": float(values.iloc[-1]), "trade_dates": dates, "bt_version": bt.__version__}))


if __name__ == "__main__":
    main()
