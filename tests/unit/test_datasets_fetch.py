"""`make data` on a clone without ../shared, when the exchange API cannot be reached: a clear message naming
EXCHANGE_API, exit code 2, no traceback and no half-written file."""

from __future__ import annotations

import socket

from tests.support import datasets


def test_an_unreachable_exchange_api_is_said_with_exit_2(tmp_path, capsys):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    markets = tmp_path / "binance-exchangeInfo.json"
    code = datasets.main(["--exchange-api", f"http://127.0.0.1:{port}", "--datadir", str(tmp_path / "binance"),
                          "--markets", str(markets)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"EXCHANGE_API=http://127.0.0.1:{port} did not serve the exchange rules" in err
    assert "Traceback" not in err
    assert not markets.exists()
