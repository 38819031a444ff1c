"""Process-wide memory of which bots already started, so that a config reload (which rebuilds the
strategy) can be told from a fresh start: a fresh start refuses bad settings, a reload keeps the last
good ones. This module stays in ``sys.modules`` across reloads, unlike the strategy file."""

from __future__ import annotations

STARTED: set[str] = set()
