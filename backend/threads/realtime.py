"""Channel-layer group names and the one function that sends to them.

Group names are part of the contract between services (which send) and the consumer (which
listens): `thread.<id>` for a thread's messages, `threads.volunteer.<id>` and `threads.user.<id>`
to reach every open socket of one person (membership changes close them).
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def thread_group(thread_id: int) -> str:
    return f"thread.{thread_id}"


def volunteer_group(volunteer_id: int) -> str:
    return f"threads.volunteer.{volunteer_id}"


def user_group(user_id: int) -> str:
    return f"threads.user.{user_id}"


def group_send(group: str, event: dict) -> None:
    """Send after commit from sync code. A failed broadcast never undoes a stored message:
    clients catch up by last id, so the error is logged, not raised."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, event)
    except Exception:  # the message is stored; catch-up by last id repairs a lost broadcast
        logger.exception("broadcast to %s failed", group)
