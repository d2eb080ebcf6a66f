"""The matching engine: a pure, deterministic core plus thin adapters.

Core modules (no framework, no I/O, no clock, no randomness): ``types``, ``arith``, ``book``,
``balances``, ``engine``, ``commands``, ``events``, ``errors``, ``snapshot``.
Adapters (may import Redis and the Django apps): ``transport``, ``client``, ``worker``,
``persister`` and the management commands.
"""
