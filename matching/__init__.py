"""The matching engine: a pure, deterministic core (no framework, no I/O, no clock, no randomness):
``types``, ``arith``, ``book``, ``balances``, ``engine``, ``commands``, ``events``, ``codec``,
``errors``, ``snapshot``. The processes around it live in ``pipeline``.
"""
