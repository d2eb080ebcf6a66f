"""The shared pre-framed bytes a server writes to every client: valid RFC 6455 text frames."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from marketdata.hub import ws_frame


def parse(data: bytes) -> Frame:
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        return done.value
    raise AssertionError("incomplete frame")


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 200_000])
def test_ws_frame_is_one_final_unmasked_text_frame_when_parsed(size):
    payload = ("é" * size).encode()[:size].decode("utf-8", errors="ignore").encode()
    frame = parse(ws_frame(payload))
    assert (frame.opcode, frame.fin, bytes(frame.data)) == (Opcode.TEXT, True, payload)
