"""Exchange protocols in front of the simulator (``smartpf.replay.exchange``): each translates one
exchange's REST requests and answers and decides nothing. ``binance`` is Binance's signed spot API."""
