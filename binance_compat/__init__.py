"""A second, thin surface over the exchange: Binance's spot API dialect (docs/binance-compat.md).

REST under ``/api/v3`` and WebSocket streams at ``/ws/<stream>``, ``/stream?streams=a/b`` and
``/ws-api/v3`` speak Binance's names, units and error bodies, so bots written for Binance
(directly, through ccxt or python-binance) trade here by changing only their URLs and keys.

Nothing here reaches the engine another way: orders go through ``trading.services``, reads
through the apps' selectors, and the streams relay the same market-data publisher's messages,
translated once per message and process. Not named ``binance``: python-binance owns that
package name.
"""
