"""The one real-time door: every live event leaves through `live_send`, after commit.

Every channel-layer group name is defined here, as the contract between the services that send
and the consumers that listen:
- `thread.<id>`: a station thread's messages (`message.created`, `message.updated`);
- `threads.members`: `membership.changed` naming a volunteer or a user: their open thread sockets
  re-check what they may still see, and close otherwise (each server process listens once and
  finds the person's sockets itself: no Redis subscription per socket);
- `threads.user.<id>`: the console sockets of one user (`membership.changed` when a scope changes);
- `board.<election id>`: the election-day board and coverage pages (`check_in.created`,
  `table_report.created`, `incident.changed`, `count.changed` for a result sheet, and `board.changed`
  for any other change of a slot:
  they re-read their numbers).
A lost event is never fatal: clients catch up by last id or on reload, so a failed send is logged.

Inside a request served by the ASGI server, an event is handed to the server's event loop and the
request goes on: the loop sends a process's events one after the other, in the order they were
committed (`_drain`). Elsewhere (a Celery task, a command, a test without a loop) `live_send`
waits for the channel layer as before.
"""

import asyncio
import logging
import os
import weakref
from collections import deque
from collections.abc import Callable
from functools import partial

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def thread_group(thread_id: int) -> str:
    return f"thread.{thread_id}"


def user_group(user_id: int) -> str:
    return f"threads.user.{user_id}"


def board_group(election_id: int) -> str:
    return f"board.{election_id}"


MEMBERSHIP_CHANGED = {"type": "membership.changed"}
THREAD_MEMBERS_GROUP = "threads.members"


def membership_changed(*, volunteer_id: int | None = None, user_id: int | None = None) -> dict:
    """The event for `THREAD_MEMBERS_GROUP`: the assignments of a volunteer or the scopes of a user changed."""
    return {**MEMBERSHIP_CHANGED, "volunteer": volunteer_id, "user": user_id}


def live_send(group: str, event: dict | Callable[[], dict | None]) -> None:
    """Send `event` to `group` once the current transaction commits (at once outside a transaction).

    `event` may be a function that builds it after commit (from committed rows); returning None
    sends nothing. Never raises: the change is stored whether or not the live event reaches anyone.
    """
    transaction.on_commit(partial(_send, group, event))


def _send(group: str, event: dict | Callable[[], dict | None]) -> None:
    try:
        payload = event() if callable(event) else event
        layer = get_channel_layer()
        if payload is None or layer is None:
            return
        loop = _server_loop()
        if loop is not None:
            try:
                # Not `async_to_sync`: that would hold the request's thread until the loop has
                # published (under load, the loop is late and every request waits for it).
                loop.call_soon_threadsafe(_enqueue, layer, group, payload)
                return
            except RuntimeError:  # the loop has closed: send from this thread
                pass
        async_to_sync(layer.group_send)(group, payload)
    except Exception:  # stored already; catch-up by last id (or a reload) repairs a lost event
        logger.exception("live event to %s failed", group)


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop of the ASGI server whose request this thread serves (as `async_to_sync` finds it)."""
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is None or getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    return None if loop.is_closed() else loop


# Events waiting on each loop, oldest first, and the one task per loop that sends them in turn
# (kept here too: the loop holds its tasks only by weak references).
_queues: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, deque]" = weakref.WeakKeyDictionary()
_drains: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task]" = weakref.WeakKeyDictionary()


def _enqueue(layer, group: str, payload: dict) -> None:
    """On the loop's thread: queue the event, and start the loop's drain unless it is running."""
    loop = asyncio.get_running_loop()
    queue = _queues.setdefault(loop, deque())
    queue.append((layer, group, payload))
    drain = _drains.get(loop)
    if drain is None or drain.done():
        _drains[loop] = loop.create_task(_drain(queue))


async def _drain(queue: deque) -> None:
    while queue:
        layer, group, payload = queue.popleft()
        try:
            await layer.group_send(group, payload)
        except Exception:
            logger.exception("live event to %s failed", group)
