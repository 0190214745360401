"""A client that vanishes while an overloaded server is accepting its socket.

uvicorn (its default WebSocket protocol, websockets-sansio) drops an accept whose transport is
already closing and refuses every later frame with a RuntimeError; the loss of the connection is
reported a moment later. Under overload the consumer's accept lands in that moment, and the
"ready" frame it sends right after used to end the consumer with "Exception in ASGI application".

The real protocol object is driven here with a transport that records what it is given, so the
client can be gone exactly while the consumer accepts.
"""

import asyncio
import logging

import pytest
from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState

from backend.threads.services import thread_get_or_create

from .conftest import member_volunteer, run, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


class RecordingTransport(asyncio.Transport):
    """The server's side of a TCP connection: keeps what is written; closing only when told."""

    def __init__(self):
        super().__init__()
        self.written: list[bytes] = []
        self.closing = False

    def get_extra_info(self, name, default=None):
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def write(self, data):
        self.written.append(bytes(data))

    def is_closing(self):
        return self.closing

    def close(self):
        self.closing = True

    def pause_reading(self):
        pass

    def resume_reading(self):
        pass


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def server_log():
    """What uvicorn and the consumers log, whatever the logging configuration of the run."""
    handler = _Records()
    loggers = [logging.getLogger(name) for name in ("uvicorn.error", "backend.core.sockets")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    yield handler.records
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


def _handshake(path: str, cookie: str) -> bytes:
    # Lower-case names, as ASGI applications receive them.
    return (
        f"GET {path} HTTP/1.1\r\nhost: testserver\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
        "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n"
        f"origin: http://testserver\r\ncookie: {cookie}\r\n\r\n"
    ).encode()


def test_a_client_gone_during_the_accept_gets_no_frame_and_the_server_logs_no_error(geo, server_log):
    # given: a member whose client goes away after sending its handshake
    ana = member_volunteer(geo, "ana")
    place = geo.north_place
    thread_get_or_create(place=place)
    cookie = session_cookie(ana.user)

    async def scenario():
        from backend.asgi import application

        attempted: list[str] = []
        first_frame = asyncio.Event()

        async def app(scope, receive, send):
            async def watched_send(message):
                attempted.append(message["type"])
                if message["type"] == "websocket.send":
                    first_frame.set()
                await send(message)

            await application(scope, receive, watched_send)

        config = Config(app=app, ws="websockets-sansio", log_config=None, lifespan="off")
        config.load()
        state = ServerState()
        protocol = WebSocketsSansIOProtocol(config=config, server_state=state, app_state={})
        transport = RecordingTransport()
        protocol.connection_made(transport)
        protocol.data_received(_handshake(f"/ws/threads/{place.pk}/", cookie))
        # when: the client is gone (its transport closing) before the consumer accepts; the loss
        # is reported only after the consumer has tried to send its first frame
        transport.closing = True
        await asyncio.wait_for(first_frame.wait(), 10)
        protocol.connection_lost(None)
        await asyncio.wait_for(asyncio.gather(*state.tasks), 10)
        return attempted, transport.written

    attempted, written = run(scenario())

    # then: the accept was dropped, nothing reached the wire, the consumer ended quietly
    assert attempted[:2] == ["websocket.accept", "websocket.send"]
    assert attempted.count("websocket.send") == 1  # nothing more after the refused frame
    assert written == []
    assert [r.getMessage() for r in server_log if r.levelno >= logging.ERROR] == []
    assert any("closed by the client while it was being accepted" in r.getMessage() for r in server_log)
