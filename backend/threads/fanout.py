"""Per-process fan-out of a thread's live events to the sockets this server process holds.

Through the channel layer alone every socket has its own channel: each event of a thread is
decoded once per socket and woken through channels' dispatch loop once per socket, which was
most of the server's CPU at thousands of sockets. Here the process joins each thread's group once,
with one channel of its own, decodes each event once and hands it to the outbox of every local
socket of that thread; a socket drains its outbox in order in its own task, so a slow client
delays only itself.

Membership changes travel the same way: the process listens once to `threads.members` and hands
each `membership.changed` to the sockets of the volunteer or user it names. So a thread socket has
no channel nor group of its own in Redis: connecting and leaving cost no Redis round trip (but the
first socket of a thread in this process, which subscribes the process to the thread's group).

The fan-out also remembers, per thread it listens to, since when and the newest message id it has
seen: a socket that connects already holding everything needs no catch-up query (`newest_seen`).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import Any, Protocol

from backend.core.live import THREAD_MEMBERS_GROUP, thread_group

logger = logging.getLogger(__name__)


class Listener(Protocol):
    outbox: asyncio.Queue


class ThreadFanout:
    def __init__(self, layer: Any):
        self.layer = layer
        self.channel: asyncio.Future | None = None
        self.listeners: dict[str, set[Listener]] = {}
        # ("volunteer", id) or ("user", id) -> the sockets of that person in this process.
        self.people: dict[tuple[str, int], set[Listener]] = {}
        self.members_subscribed: asyncio.Future | None = None
        # The group subscription of each thread with local sockets; joiners wait until it holds.
        # Its result is the time.monotonic() from which it held.
        self.subscribed: dict[str, asyncio.Future[float]] = {}
        # The newest message id received for each group since its subscription.
        self.newest: dict[str, int] = {}
        self.reader: asyncio.Future | None = None

    async def join(self, group: str, listener: Listener, *, people: tuple[tuple[str, int], ...] = ()) -> None:
        """Deliver `group`'s events, and the membership changes of `people`, to `listener` from when this returns."""
        if self.channel is None:
            self.channel = asyncio.ensure_future(self._open())
        channel = await asyncio.shield(self.channel)
        if self.members_subscribed is None:
            self.members_subscribed = asyncio.ensure_future(self.layer.group_add(THREAD_MEMBERS_GROUP, channel))
        for person in people:
            self.people.setdefault(person, set()).add(listener)
        if group not in self.listeners:
            self.listeners[group] = set()
            self.subscribed[group] = asyncio.ensure_future(self._subscribe(group, channel))
        self.listeners[group].add(listener)
        await asyncio.shield(self.members_subscribed)
        await asyncio.shield(self.subscribed[group])

    async def _subscribe(self, group: str, channel: str) -> float:
        await self.layer.group_add(group, channel)
        return time.monotonic()

    def newest_seen(self, group: str, *, since: float) -> int | None:
        """The newest message id of `group` received here, if this process has listened to the group
        without a break since `since` (a time.monotonic()); None if it has not.

        A message stored after `since` is then either at most this id or still on its way here (and
        so delivered live to every socket joined now): a socket that holds this id and whatever
        the database held at `since` misses nothing."""
        subscribed = self.subscribed.get(group)
        if subscribed is None or not subscribed.done() or subscribed.cancelled() or subscribed.exception():
            return None
        if subscribed.result() > since:
            return None
        return self.newest.get(group, 0)

    async def leave(self, group: str, listener: Listener, *, people: tuple[tuple[str, int], ...] = ()) -> None:
        for person in people:
            sockets = self.people.get(person)
            if sockets is not None:
                sockets.discard(listener)
                if not sockets:
                    del self.people[person]
        listeners = self.listeners.get(group)
        if self.channel is None or listeners is None or listener not in listeners:
            return
        listeners.discard(listener)
        if not listeners:
            del self.listeners[group]
            del self.subscribed[group]
            self.newest.pop(group, None)
            # The layer's subscribe and unsubscribe keep their call order, so a socket that joins
            # right after this subscribes again after this unsubscribe.
            await self.layer.group_discard(group, await asyncio.shield(self.channel))

    async def _open(self) -> str:
        channel = await self.layer.new_channel(prefix="threads.fanout.")
        self.reader = asyncio.ensure_future(self._read(channel))
        return channel

    async def _read(self, channel: str) -> None:
        while True:
            try:
                event = await self.layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # the layer reconnects by itself; a lost event is caught up by last id
                logger.exception("thread fan-out could not read from the channel layer")
                await asyncio.sleep(1)
                continue
            if event.get("type") == "membership.changed":
                self._to_people(event)
                continue
            try:
                group = thread_group(event["message"]["thread"])
            except (KeyError, TypeError):
                logger.warning("thread event without a thread: %s", event.get("type"))
                continue
            listeners = self.listeners.get(group)
            if not listeners:
                continue
            if event.get("type") == "message.created":
                self.newest[group] = max(self.newest.get(group, 0), event["message"]["id"])
            for listener in listeners:
                listener.outbox.put_nowait(event)

    def _to_people(self, event: dict) -> None:
        sockets: set[Listener] = set()
        for kind in ("volunteer", "user"):
            if event.get(kind) is not None:
                sockets |= self.people.get((kind, event[kind]), set())
        for listener in sockets:
            listener.outbox.put_nowait(event)


_fanouts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ThreadFanout] = weakref.WeakKeyDictionary()


def fanout_for(layer: Any) -> ThreadFanout:
    """This process's fan-out on the running event loop (tests run one loop each)."""
    loop = asyncio.get_running_loop()
    fanout = _fanouts.get(loop)
    if fanout is None or fanout.layer is not layer:
        fanout = _fanouts[loop] = ThreadFanout(layer)
    return fanout
