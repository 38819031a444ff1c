"""JSON bytes for answers: orjson (it comes with Freqtrade and is several times faster), else json."""

from __future__ import annotations

import json

try:
    import orjson

    def dumps(obj: object) -> bytes:
        return orjson.dumps(obj)
except ImportError:  # pragma: no cover
    def dumps(obj: object) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()
