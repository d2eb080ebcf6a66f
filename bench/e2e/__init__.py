"""The parts of bench/e2e_orders.py: the signed client, the load loops, the measurements."""
