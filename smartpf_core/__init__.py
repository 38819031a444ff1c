"""smartpf_core: the rules of the Smart Portfolio, pure (standard library only, no I/O, no clock).

Feed an ``Engine`` snapshots and fills; it returns decisions (orders, reasons, notices).
"""

from .allocation import actual_weights, deviation, largest_drift, portfolio_value
from .config_check import TIMEFRAMES, check_config
from .events import Decision, Fill, Notice, Order, Reason, Snapshot
from .intervals import format_interval, parse_interval
from .market import MarketRules, Reserves, floor_to_step, min_order_value, min_position_value
from .metrics import ValueTracker
from .minimums import MinimumInvestment, investment_problems, minimum_investment
from .planner import Plan, PlannedOrder, SkippedOrder, plan_buys, plan_initial, plan_sells
from .portfolio import STATE_VERSION, Engine, Metrics
from .presets import PRESETS, Preset
from .simulate import SimResult, simulate
from .spec import PortfolioSpec, Problem, Validation, parse_settings, settings_change_problem

__all__ = [
    "PRESETS", "STATE_VERSION", "Decision", "Engine", "Fill", "MarketRules", "Metrics", "MinimumInvestment",
    "Notice", "Order", "Plan", "PlannedOrder", "PortfolioSpec", "Preset", "Problem", "Reason", "Reserves",
    "SimResult", "Snapshot", "SkippedOrder", "Validation", "ValueTracker", "actual_weights", "deviation",
    "floor_to_step", "format_interval", "investment_problems", "largest_drift", "min_order_value",
    "min_position_value", "minimum_investment",
    "parse_interval", "parse_settings", "settings_change_problem",
    "plan_buys", "plan_initial", "plan_sells", "portfolio_value", "simulate",
    "TIMEFRAMES", "check_config",
]
