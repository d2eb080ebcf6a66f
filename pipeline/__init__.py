"""The order pipeline around the pure engine: the command log on Redis Streams, the client that
services call to submit a command and await its reply, the matcher worker, the persister that
writes the events into PostgreSQL, and their management commands (``run_matcher``,
``run_persister``, ``resume_persister``). The engine itself is ``matching``, which imports none
of this.

Its Redis side, one concern per module:

- ``wire``: THE Redis client (hiredis round trips, sync and async; redis-py for cold paths),
  its errors and the server version gate. Nothing outside ``pipeline`` imports redis.
- ``keys``: every Redis key of the project.
- ``scripts`` and ``lua/*.lua``: the Lua scripts, loaded once, called with named arguments.
- ``packing``: msgpack of commands, events and depths.
- ``streams``: consumer groups and stream reads (XREADGROUP, XRANGE), parsed once.
- ``transport``: the command log a sender appends to (``CommandLog``, the submit's guards).
- ``matcher_transport``: the matcher's reads, batch commits, heartbeats and snapshots.
- ``event_reader``: the persister's and the publisher's reads of the events stream.
- ``pubsub``: the WebSocket hub's pub/sub connection.
- ``barrier``: waiting until the database records what a read must show.
"""
