"""An engine order as the stake a host asks for: Freqtrade sizes entries and exits in the stake currency.

Freqtrade turns the stake back into an amount (entry: stake / rate; partial exit: stake x amount /
stake_amount) and truncates that to the pair's step. A float round trip can land a hair below the
engine's amount, and truncation then drops a whole step. The stake is therefore nudged up by a
margin far below any step (1e-9 relative), so the host's amount is exactly the engine's.
"""

from __future__ import annotations

NUDGE = 1e-9  # relative; steps are at least 1e-8 of the amount for every market we have seen
EXIT_NUDGE = 1e-10  # a partial exit's amount must never round up to more than the engine asked for


def is_full_exit(amount: float, held: float, full: bool) -> bool:
    """Sell the whole position: the engine says so, or the order is (within rounding) all that is held."""
    return full or amount >= held * (1 - NUDGE)


def entry_stake(amount: float, rate: float) -> float:
    """The stake that buys ``amount`` at ``rate`` once the host divides by the rate and truncates."""
    return amount * rate * (1 + NUDGE)


def exit_stake(amount: float, held: float, stake_amount: float, full: bool = False) -> float:
    """The (negative) stake of a sell of ``amount`` out of a position of ``held`` carried at ``stake_amount``."""
    if held <= 0 or is_full_exit(amount, held, full):
        return -stake_amount
    return -(amount * (1 + EXIT_NUDGE)) * stake_amount / held
