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
"""

import logging
from collections.abc import Callable
from functools import partial

from asgiref.sync import async_to_sync
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
        async_to_sync(layer.group_send)(group, payload)
    except Exception:  # stored already; catch-up by last id (or a reload) repairs a lost event
        logger.exception("live event to %s failed", group)
