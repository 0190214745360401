"""What every WebSocket consumer shares: never a frame after a handshake the server dropped, and no
thread hop per delivered message."""

import logging

from channels.consumer import get_handler_name

logger = logging.getLogger(__name__)


class HandshakeSafeMixin:
    """For channels' websocket consumers: a client that goes away while its connection is being
    accepted (an overloaded server answers late) must not turn the next frame into an error.

    uvicorn drops an accept whose transport is already closing and then refuses every frame with
    a RuntimeError ("send before accept"). After our accept, such a refusal means the client is
    gone: nothing more is sent, and the disconnect that follows cleans up as usual. Before our
    accept a RuntimeError is a bug and is raised.
    """

    accepted = False
    gone = False

    async def accept(self, subprotocol=None, headers=None):
        await super().accept(subprotocol, headers)  # type: ignore[misc]
        self.accepted = True

    async def send(self, text_data=None, bytes_data=None, close=False):
        if self.gone:
            return
        try:
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)  # type: ignore[misc]
        except RuntimeError:
            if not self.accepted:
                raise
            self.gone = True
            logger.info("websocket closed by the client while it was being accepted")

    async def send_json(self, content, close=False):
        # channels' JSON consumer sends through super().send, past this class: route it here.
        await self.send(text_data=await self.encode_json(content), close=close)  # type: ignore[attr-defined]


class DirectDispatchMixin:
    """For channels' consumers that touch the database only through `database_sync_to_async`.

    Channels runs `close_old_connections` in a worker thread before every handler: one thread hop
    (and a few turns of the event loop) per frame and per delivered channel-layer message. Under
    load that hop is most of a consumer's cost: it made the fan-out of a station thread slow, and
    it queued board events for seconds behind the request threads. `database_sync_to_async`
    already cleans connections up around each call, so the hop is skipped.
    """

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
