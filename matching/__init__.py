"""The matching engine: a pure, deterministic core (no framework, no I/O, no clock, no randomness).

``engine`` (``MatchingEngine.apply``: the entry point, read views, invariants) over ``state``
(what it holds); one module per concern: ``orders`` (PlaceOrder) and ``fills`` (the fill loop),
``cancels``, ``amends``, ``transfers``, ``markets``; underneath, ``book`` (the order book),
``balances``, ``arith`` (all amount arithmetic); the records ``types``, ``commands``, ``events``,
``errors``; ``codec`` (their wire form) and ``snapshot`` (dump / load / state hash). The
processes around it live in ``pipeline``.

The engine modules may run compiled with mypyc from this same source (``build``: the switch
``ENGINE_BUILD``, where the build lives, why it falls back to the pure modules).
"""

from matching import build as _build

# Before any engine module is imported: the compiled build, when current, goes first on the path.
_build.activate(__path__)
