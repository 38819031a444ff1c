"""Orders and trades as the simulator keeps them (and the ledger stores them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal

from smartpf.replay.exchange.amounts import ZERO, dec

OPEN_STATUSES = ("NEW", "PARTIALLY_FILLED")


@dataclass
class Trade:
    id: int
    order_id: int
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    maker: bool

    def to_dict(self) -> dict:
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> Trade:
        return cls(**{**d, **{k: dec(d[k]) for k in ("price", "qty", "quote_qty", "commission")}})


@dataclass
class Order:
    order_id: int
    client_order_id: str
    symbol: str
    side: str                      # BUY | SELL
    type: str                      # MARKET | LIMIT
    time_in_force: str             # GTC for limit orders, "" for market orders
    orig_qty: Decimal
    price: Decimal                 # limit price; 0 for market orders
    time: int
    status: str = "NEW"
    executed_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    update_time: int = 0
    locked: Decimal = ZERO         # what is still reserved for this order (quote for a buy, base for a sell)
    locked_asset: str = ""
    # fills still to come: [due ms, quantity]; the quantity split is fixed at placement
    schedule: list[list] = field(default_factory=list)
    orig_quote_qty: Decimal = ZERO

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def remaining(self) -> Decimal:
        return self.orig_qty - self.executed_qty

    def to_dict(self) -> dict:
        d = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(self).items()}
        d["schedule"] = [[int(t), str(q)] for t, q in self.schedule]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Order:
        decimals = ("orig_qty", "price", "executed_qty", "cum_quote", "locked", "orig_quote_qty")
        o = cls(**{**d, **{k: dec(d[k]) for k in decimals}})
        o.schedule = [[int(t), dec(q)] for t, q in d.get("schedule", [])]
        return o
