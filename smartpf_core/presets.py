"""Ready portfolios for beginners (the product's "AI Recommend" tab): pick one, enter an amount, start."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    description: str
    assets: dict[str, float]
    mode: str = "proportional"
    threshold: float = 1.0
    interval: str = "1d"

    def settings(self, investment: float) -> dict[str, Any]:
        """A complete ``smart_portfolio`` section for this preset."""
        section: dict[str, Any] = {"assets": dict(self.assets), "investment": investment, "mode": self.mode}
        if self.mode == "proportional":
            section.update({"threshold": self.threshold, "threshold_type": "absolute", "check_interval": "1m"})
        else:
            section["interval"] = self.interval
        section["min_trade"] = 5
        section["on_exit"] = "sell"
        return section


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("btc-eth", "BTC/ETH 50/50", "The two largest coins, equal weight; the classic pair to rebalance.",
               {"BTC": 50, "ETH": 50}),
        Preset("majors", "Majors, equal weight", "Five large, liquid coins at 20 % each.",
               {"BTC": 20, "ETH": 20, "BNB": 20, "SOL": 20, "XRP": 20}),
        Preset("btc-heavy", "Bitcoin-led", "Mostly BTC, with ETH and SOL for some extra movement.",
               {"BTC": 60, "ETH": 25, "SOL": 15}, threshold=2.0),
        Preset("blue-chips", "Blue chips, weekly", "Market-cap style weights, rebalanced once a week.",
               {"BTC": 40, "ETH": 30, "BNB": 10, "SOL": 10, "XRP": 10}, mode="scheduled", interval="7d"),
        Preset("smart-contracts", "Smart-contract platforms", "Four layer-1 platforms at 25 % each.",
               {"ETH": 25, "SOL": 25, "ADA": 25, "AVAX": 25}, threshold=2.0),
    )
}
