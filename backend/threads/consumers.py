"""The WebSocket of a station thread: `/ws/threads/<place_id>/`.

A thin adapter: read the session and the membership with one selector, join the thread's group,
forward events, and hand posts and read receipts to services.

Connect to `/ws/threads/<place_id>/?last_id=N` with the newest message id the page holds (0 for
none): the server catches up from N on its own, right after `ready`, and no `hello` is needed
(`ready` then carries `resumes_from`). Without `last_id` in the URL the client sends `hello`.

Protocol (JSON text frames). Client -> server:
  {"type": "hello", "last_id": N}   catch up: everything after N, once, in order, then live
                                    (only when the URL gave no `last_id`)
  {"type": "post", "body": "...", "client_id": "...", "announcement": false}
  {"type": "read", "last_id": N}    read receipt
  {"type": "ping"}
Server -> client:
  {"type": "ready", "thread": id, "place": name, "can_post": bool, "moderator": bool, "resumes_from": N}
                                                 `resumes_from` only when the URL gave `last_id`
  {"type": "message", "message": {...}}          catch-up and live, never twice
  {"type": "caught_up", "last_id": N}
  {"type": "message.updated", "message": {...}}  pinned / hidden changed
  {"type": "ack", "client_id": "...", "id": N}
  {"type": "error", "code": "...", "message": "..."}
  {"type": "pong"}
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.http.cookie import parse_cookie
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError
from backend.core.live import thread_group
from backend.core.sockets import DirectDispatchMixin, HandshakeSafeMixin

from . import selectors, services
from .fanout import fanout_for
from .models import Thread
from .payloads import message_payload_from_row, payload_for

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 8 * 1024
CATCH_UP_BATCH = 200
# Close codes (4000-4999 are the application's): the page stops reconnecting on these.
CLOSE_NOT_MEMBER = 4403
SENT_IDS_KEPT = 2048


def _has_lone_surrogate(content) -> bool:
    """Whether any key or string in a decoded frame holds a lone surrogate (walked without recursion)."""
    pending = [content]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if any("\ud800" <= ch <= "\udfff" for ch in item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


class TokenBucket:
    """Per-connection rate limit: `rate` frames a second on average, bursts up to `burst`."""

    def __init__(self, rate: float, burst: int):
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@database_sync_to_async
def _member(session_key, place_id) -> tuple[float, tuple | None]:
    """When the read began (time.monotonic(), in the database thread) and who the session's member is."""
    began = time.monotonic()
    return began, selectors.thread_member_for_session(session_key=session_key, place_id=place_id)


def _url_last_id(scope) -> int | str | None:
    """The `last_id` of the URL's query: the id, None when absent, the raw text when it is not an id."""
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("last_id")
    if not values:
        return None
    return int(values[-1]) if values[-1].isascii() and values[-1].isdigit() else values[-1]


def _session_key(scope) -> str | None:
    """The session cookie of the handshake (the page's own; the origin was checked before routing)."""
    for name, value in scope.get("headers") or ():
        if name == b"cookie":
            return parse_cookie(value.decode("latin-1")).get(settings.SESSION_COOKIE_NAME) or None
    return None


@database_sync_to_async
def _still_member(user, thread_id):
    return selectors.thread_is_member(user=user, thread_id=thread_id)


PageKey = tuple[int, int, bool, bool]  # thread id, after id, moderator, sees staff lines


@dataclass
class _PageLoad:
    task: asyncio.Future = field(init=False)
    started: float | None = None  # time.monotonic() when the query began, set in the database thread
    created: float = field(default_factory=time.monotonic)
    loop: asyncio.AbstractEventLoop | None = None


@database_sync_to_async
def _page_after(load: _PageLoad, key: PageKey) -> list[dict]:
    load.started = time.monotonic()
    thread_id, after, moderator, staff = key
    rows = selectors.message_rows_after(
        thread_id=thread_id, after=after, moderator=moderator, staff=staff, limit=CATCH_UP_BATCH
    )
    return [message_payload_from_row(row) for row in rows]


class SharedPages:
    """Catch-up pages shared by the sockets of this process: one query per thread, cursor and view.

    When a thread's sockets reconnect together (a storm, a server restart) they ask for the same
    page; one query answers all of them. A socket may share a query only if it began after the
    socket joined the thread's group: whatever that query could not see was stored after the
    socket joined, so it arrives live (and ids deduplicate the overlap). A query not yet started
    qualifies; a finished one is kept a few seconds for the sockets that joined before it began.
    """

    KEEP_S = 5.0

    def __init__(self) -> None:
        self.loads: dict[PageKey, _PageLoad] = {}
        self.purged = time.monotonic()

    async def page_after(self, key: PageKey, joined_at: float) -> list[dict]:
        load = self.loads.get(key)
        loop = asyncio.get_running_loop()
        if load is None or load.loop is not loop or (load.started is not None and load.started < joined_at):
            self._purge()
            load = _PageLoad(loop=loop)
            load.task = asyncio.ensure_future(_page_after(load, key))
            load.task.add_done_callback(partial(self._forget_failed, key, load))
            self.loads[key] = load
        # Shielded: a socket that goes away while waiting does not cancel the others' query.
        return await asyncio.shield(load.task)

    def _forget_failed(self, key: PageKey, load: _PageLoad, task: asyncio.Future) -> None:
        if (task.cancelled() or task.exception() is not None) and self.loads.get(key) is load:
            del self.loads[key]

    def _purge(self) -> None:
        now = time.monotonic()
        if now - self.purged < 1.0:
            return
        self.purged = now
        for key in [k for k, load in self.loads.items() if load.task.done() and now - load.created > self.KEEP_S]:
            del self.loads[key]


shared_pages = SharedPages()


@database_sync_to_async
def _post(user, thread_id, body, announcement):
    thread = Thread.objects.select_related("place__area").get(pk=thread_id)
    return services.message_post_as(actor=user, thread=thread, body=body, announcement=announcement).pk


@database_sync_to_async
def _read(user, thread_id, last_id):
    thread = Thread.objects.get(pk=thread_id)
    return services.thread_mark_read(user=user, thread=thread, last_id=last_id)


@database_sync_to_async
def _seen(user):
    services.thread_mark_seen(user=user)


class ThreadConsumer(DirectDispatchMixin, HandshakeSafeMixin, AsyncWebsocketConsumer):
    groups: list[str] = []
    # No channel of its own in the layer (an alias that names no layer): the thread's events and
    # the person's membership changes come through this process's fan-out, which listens once for
    # all its sockets; a channel per socket cost Redis round trips at every connect and close.
    channel_layer_alias = "threads.no-channel-per-socket"

    async def __call__(self, scope, receive, send):
        # AsyncConsumer's loop wraps every ASGI message in a task and an asyncio.wait, made for
        # consumers that also read a channel of the layer; this one has none, so it reads directly.
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def websocket_disconnect(self, message):
        # As AsyncWebsocketConsumer's, without its thread hop to close old connections (DirectDispatchMixin).
        await self.disconnect(message["code"])
        raise StopConsumer()

    async def connect(self):
        self.member = None
        self.delivering = asyncio.Lock()
        # Live events wait here until the catch-up after `hello` is sent; then they are deduplicated by id.
        self.buffer: list[dict] | None = []
        self.sent_ids: set[int] = set()
        self.last_sent_id = 0
        self.frames = TokenBucket(settings.THREADS_WS_FRAMES_PER_SECOND, settings.THREADS_WS_FRAMES_BURST)
        self.posts = TokenBucket(settings.THREADS_WS_POSTS_PER_SECOND, settings.THREADS_WS_POSTS_BURST)
        # This route has no AuthMiddlewareStack (its own thread hop and two queries): the session and
        # the membership are read together, in one hop. Refusals come before accept (HTTP 403).
        session_key = _session_key(self.scope)
        if session_key is None:
            await self.close()
            return
        place_id = int(self.scope["url_route"]["kwargs"]["place_id"])
        read_at, found = await _member(session_key, place_id)
        if found is None:
            await self.close()
            return
        self.scope["user"], member = found
        self.member = member
        # Join before catching up: anything stored from now on arrives live (buffered), anything
        # earlier comes from the database; ids deduplicate the overlap.
        # The thread's events come through this process's fan-out (one group subscription per
        # thread, not per socket); the person's own group (membership changes) through the layer.
        self.outbox = asyncio.Queue()
        self.drainer = asyncio.ensure_future(self._drain_outbox())
        self.fanout = fanout_for(get_channel_layer())
        self.thread_group = thread_group(member.thread_id)
        self.people = (("user", member.user_id),)
        if member.volunteer_id:
            self.people += (("volunteer", member.volunteer_id),)
        await self.fanout.join(self.thread_group, self, people=self.people)
        self.joined_at = time.monotonic()
        last_id = _url_last_id(self.scope)
        await self.accept()
        ready = {
            "type": "ready",
            "thread": member.thread_id,
            "place": member.place_name,
            "can_post": member.can_post,
            "moderator": member.moderator,
        }
        if not isinstance(last_id, int):
            await self.send_json(ready)
            if last_id is not None:
                # Said as for hello, whose text the client falls back to.
                await self.error("bad_query", _("`last_id` debe ser un número entero."))
            return
        await self.send_json({**ready, "resumes_from": last_id})
        async with self.delivering:
            newest_here = self.fanout.newest_seen(self.thread_group, since=read_at)
            if newest_here is not None and last_id >= max(newest_here, member.newest_message_id):
                # Nothing newer was stored before the membership read, nor has arrived here since:
                # whatever comes now arrives live. The common connect: no catch-up query.
                await self._caught_up(last_id)
            else:
                await self._catch_up(last_id)

    async def disconnect(self, code):
        if self.member is None:
            return
        self.drainer.cancel()
        await self.fanout.leave(self.thread_group, self, people=self.people)

    async def _drain_outbox(self) -> None:
        """The thread's events for this socket, in order; never while a catch-up is being sent."""
        while True:
            event = await self.outbox.get()
            try:
                async with self.delivering:
                    await self.dispatch(event)
            except OSError:  # uvicorn's ClientDisconnected: the disconnect that follows cleans up
                return
            except Exception:
                logger.exception("thread event %s not delivered", event.get("type"))

    # --- frames from the client ---------------------------------------------------------------

    async def send_json(self, content: dict, close: bool = False) -> None:
        await self.send(text_data=json.dumps(content, ensure_ascii=False), close=close)

    async def error(self, code: str, message) -> None:
        await self.send_json({"type": "error", "code": code, "message": str(message)})

    async def receive(self, text_data=None, bytes_data=None):
        if self.member is None:
            return
        raw = text_data if text_data is not None else bytes_data
        size = len(raw.encode()) if isinstance(raw, str) else len(raw or b"")
        if not self.frames.take():
            await self.error("rate_limited", _("Demasiados mensajes seguidos: esperá un momento."))
            return
        if size > MAX_FRAME_BYTES:
            await self.error("frame_too_large", _("El mensaje es demasiado grande (máximo 8 KiB)."))
            return
        try:
            content = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):  # deep nesting fits in 8 KiB
            await self.error("bad_json", _("No se entendió el mensaje (JSON inválido)."))
            return
        if _has_lone_surrogate(content):
            # "\ud800" escapes decode to text that cannot be stored nor sent back.
            await self.error("invalid_characters", _("El mensaje tiene caracteres inválidos."))
            return
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self.error("bad_frame", _("Falta el tipo de mensaje."))
            return
        handler = {"hello": self.on_hello, "post": self.on_post, "read": self.on_read, "ping": self.on_ping}.get(
            content["type"]
        )
        if handler is None:
            await self.error("unknown_type", _("Tipo de mensaje desconocido."))
            return
        await handler(content)

    @staticmethod
    def _int(value) -> int | None:
        if isinstance(value, bool):
            return None
        if isinstance(value, int) and value >= 0:
            return value
        return None

    async def on_hello(self, content):
        last_id = self._int(content.get("last_id", 0))
        if last_id is None:
            await self.error("bad_frame", _("`last_id` debe ser un número entero."))
            return
        if self.buffer is None:
            # A second hello would replay history twice on this connection: refused.
            await self.error("bad_frame", _("La conexión ya está al día."))
            return
        async with self.delivering:
            await self._catch_up(last_id)

    async def _catch_up(self, last_id: int) -> None:
        self.last_sent_id = max(self.last_sent_id, last_id)
        cursor = last_id
        while True:
            page = await shared_pages.page_after(
                (self.member.thread_id, cursor, self.member.moderator, self.member.sees_staff), self.joined_at
            )
            for payload in page:
                await self._deliver(payload)
            if len(page) < CATCH_UP_BATCH:
                break
            cursor = page[-1]["id"]
        await self._caught_up(last_id)

    async def _caught_up(self, last_id: int) -> None:
        """Send what arrived live during the catch-up, then `caught_up`: from here on, live."""
        self.last_sent_id = max(self.last_sent_id, last_id)
        buffered, self.buffer = self.buffer or [], None
        for payload in sorted(buffered, key=lambda p: p["id"]):
            if payload["id"] > last_id:  # the client already holds everything up to last_id
                await self._deliver(payload)
        await self.send_json({"type": "caught_up", "last_id": self.last_sent_id})

    async def on_post(self, content):
        body = content.get("body")
        if not isinstance(body, str):
            await self.error("bad_frame", _("Falta el texto del mensaje."))
            return
        if not self.posts.take():
            await self.error("rate_limited", _("Demasiados mensajes seguidos: esperá un momento."))
            return
        # Held while posting: the author gets the ack before their own message comes back live.
        async with self.delivering:
            try:
                message_id = await _post(
                    self.scope["user"], self.member.thread_id, body, content.get("announcement") is True
                )
            except ApplicationError as exc:
                await self.send_json(
                    {
                        "type": "error",
                        "code": exc.code,
                        "message": str(exc.message),
                        "client_id": content.get("client_id"),
                    }
                )
                return
            await self.send_json({"type": "ack", "client_id": content.get("client_id"), "id": message_id})

    async def on_read(self, content):
        last_id = self._int(content.get("last_id"))
        if last_id is None:
            await self.error("bad_frame", _("`last_id` debe ser un número entero."))
            return
        await _read(self.scope["user"], self.member.thread_id, last_id)

    async def on_ping(self, content):
        # After whatever event is being delivered: a pong tells the client it has been handled.
        async with self.delivering:
            await self.send_json({"type": "pong"})

    # --- events from the channel layer --------------------------------------------------------

    async def _deliver(self, payload: dict, frame: str | None = None) -> None:
        """Send a message frame unless this connection already sent that id (catch-up and live overlap).

        `frame` is the JSON text the service serialised once for every socket of the thread."""
        message_id = payload["id"]
        if message_id in self.sent_ids or (payload.get("hidden") and not self.member.moderator):
            return
        if payload.get("staff_only") and not self.member.sees_staff:
            return
        self.sent_ids.add(message_id)
        if len(self.sent_ids) > SENT_IDS_KEPT:
            self.sent_ids = set(sorted(self.sent_ids)[-SENT_IDS_KEPT // 2 :])
        self.last_sent_id = max(self.last_sent_id, message_id)
        await self.send(text_data=frame or json.dumps({"type": "message", "message": payload}, ensure_ascii=False))
        if payload.get("announcement") and self.member.volunteer_id:
            # The announcement reached a volunteer's open page: seen on the web, no SMS copy needed.
            await _seen(self.scope["user"])

    async def message_created(self, event):
        if self.member is None:
            return
        if self.buffer is not None:
            self.buffer.append(event["message"])
            return
        # A broadcast may arrive after a later one (two server processes); the id set, not the
        # highest id, decides what is a duplicate, so a late message is still delivered once.
        await self._deliver(event["message"], event.get("frame"))

    async def message_updated(self, event):
        if self.member is None:
            return
        if event["message"].get("staff_only") and not self.member.sees_staff:
            return
        await self.send_json(
            {"type": "message.updated", "message": payload_for(event["message"], moderator=self.member.moderator)}
        )

    async def membership_changed(self, event):
        if self.member is None:
            return
        if not await _still_member(self.scope["user"], self.member.thread_id):
            await self.send_json(
                {"type": "error", "code": "not_a_member", "message": str(_("Ya no sos parte de este hilo."))}
            )
            await self.close(code=CLOSE_NOT_MEMBER)
