"""The REST server as the run command starts it (granian): many idle keep-alive clients.

granian's ``--backpressure`` caps the connections a worker holds open, idle keep-alive ones
included; left at its default (backlog / workers: 512 with two workers) a venue with a thousand
bots keeping their connections open would make the next client wait until one of them closes.
``exchange_site.web_server`` sets it to ``WEB_MAX_CONNECTIONS`` (1000 per worker).
"""

from __future__ import annotations

import socket
from contextlib import ExitStack
from urllib.parse import urlsplit

import pytest

from tests.integration.conftest import Stack

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

# More than two workers' worth at granian's default (2 x 512), well under ours (2 x 1000).
IDLE_CLIENTS = 1200
REQUEST = b"GET /api/v1/markets HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def _served(sock: socket.socket) -> bytes:
    """The status line and headers of one answer on a keep-alive connection."""
    sock.sendall(REQUEST)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before answering")
        data += chunk
    return data.split(b"\r\n", 1)[0]


def test_new_client_is_served_when_many_keep_alive_connections_are_open(stack: Stack) -> None:
    # given 1,200 clients that each made a request and keep their connection open
    url = urlsplit(stack.base_url)
    address = (url.hostname or "127.0.0.1", url.port or 80)
    with ExitStack() as held:
        for n in range(IDLE_CLIENTS):
            sock = held.enter_context(socket.create_connection(address, timeout=5))
            try:
                status = _served(sock)
            except TimeoutError:
                pytest.fail(f"client {n + 1} was not served while {n} connections were open")
            assert status == b"HTTP/1.1 200 OK", status

        # when one more client connects while they are all still open
        with socket.create_connection(address, timeout=5) as late:
            # then it is answered at once, not when an idle connection closes
            assert _served(late) == b"HTTP/1.1 200 OK"
