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

Board events are gathered per server process. On election day every table report is one, at up to
200 a second; sent one channel-layer message each, from the request's thread through
`async_to_sync`, they queued for seconds: each send waits for a turn of the busy event loop and for
Redis under the layer's lock, and the board's process takes one pub/sub message per turn. Here the
request's thread only hands the event to its process's event loop (no wait), and one flusher per
loop sends what has gathered as one `live.batch` message per group: the first event after quiet
goes at once, later ones gather while a send is in flight and for `LIVE_BOARD_WINDOW` seconds after
it. A lone event goes as itself. One flusher per process sends in order, so each board hears every
event of a process once and in commit order. Outside a server's event loop (Celery, management
commands, sync tests) events go one by one, as the thread groups' always do (a thread message goes
at once: its fan-out has its own target).
"""

import asyncio
import logging
import os
import weakref
from collections.abc import Callable
from functools import partial

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

BATCH = "live.batch"  # {"type": BATCH, "events": [event, ...]}: consumers handle it in `live_batch`
BATCH_MAX = 500  # events per channel-layer message (a few hundred bytes each)


def thread_group(thread_id: int) -> str:
    return f"thread.{thread_id}"


def user_group(user_id: int) -> str:
    return f"threads.user.{user_id}"


BOARD_PREFIX = "board."


def board_group(election_id: int) -> str:
    return f"{BOARD_PREFIX}{election_id}"


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
        loop = _server_loop() if group.startswith(BOARD_PREFIX) else None
        if loop is not None:
            _gatherer(loop).post(loop, layer, group, payload)
        else:
            async_to_sync(layer.group_send)(group, payload)
    except Exception:  # stored already; catch-up by last id (or a reload) repairs a lost event
        logger.exception("live event to %s failed", group)


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop this sync thread was called from (a request's or a consumer's), if any.

    asgiref records it in the thread that runs sync code for `sync_to_async`; `async_to_sync` uses
    the same record to send its coroutine back there.
    """
    local = SyncToAsync.threadlocal
    loop = getattr(local, "main_event_loop", None)
    if loop is None or getattr(local, "main_event_loop_pid", None) != os.getpid():
        return None
    if loop.is_closed() or not loop.is_running():
        return None
    return loop


class _Gatherer:
    """The board events of one event loop, gathered while a send is in flight (see the module docstring)."""

    def __init__(self) -> None:
        # No reference to the loop: the loop is this object's key in a WeakKeyDictionary.
        self.pending: list[tuple[object, str, dict]] = []
        self.flushing: asyncio.Task | None = None  # held: the loop keeps only a weak reference to a task

    def post(self, loop: asyncio.AbstractEventLoop, layer, group: str, event: dict) -> None:
        """From any thread: hand the event to the loop, without waiting for it to be sent."""
        loop.call_soon_threadsafe(self._add, layer, group, event)

    def _add(self, layer, group: str, event: dict) -> None:
        self.pending.append((layer, group, event))
        if self.flushing is None:
            self.flushing = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        try:
            while self.pending:
                gathered, self.pending = self.pending, []
                for (layer, group), events in _by_group(gathered).items():
                    for start in range(0, len(events), BATCH_MAX):
                        chunk = events[start : start + BATCH_MAX]
                        message = chunk[0] if len(chunk) == 1 else {"type": BATCH, "events": chunk}
                        try:
                            await layer.group_send(group, message)  # type: ignore[attr-defined]
                        except Exception:  # as in `_send`: logged, repaired by catch-up
                            logger.exception("live events to %s failed (%d)", group, len(chunk))
                # Whatever arrives meanwhile waits for the next message (none is sent before this ends).
                await asyncio.sleep(settings.LIVE_BOARD_WINDOW)
        finally:
            self.flushing = None


def _by_group(gathered: list[tuple[object, str, dict]]) -> dict[tuple[object, str], list[dict]]:
    """The events of each (layer, group), in the order they were handed over."""
    groups: dict[tuple[object, str], list[dict]] = {}
    for layer, group, event in gathered:
        groups.setdefault((layer, group), []).append(event)
    return groups


_gatherers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Gatherer]" = weakref.WeakKeyDictionary()


def _gatherer(loop: asyncio.AbstractEventLoop) -> _Gatherer:
    found = _gatherers.get(loop)
    if found is None:  # two threads at once: setdefault keeps one, both get it
        found = _gatherers.setdefault(loop, _Gatherer())
    return found
