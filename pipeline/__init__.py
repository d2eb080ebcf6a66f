"""The order pipeline around the pure engine: the command log on Redis Streams, the client that
services call to submit a command and await its reply, the matcher worker, the persister that
writes the events into PostgreSQL, and their management commands (``run_matcher``,
``run_persister``, ``resume_persister``). The engine itself is ``matching``, which imports none
of this.
"""
