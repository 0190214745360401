"""Writing notices: called by domain services inside their own transaction.

Notices deliver themselves: whoever writes them (one, or a hundred thousand in one bulk write)
goes through `notice_create` or `notices_create`, and both schedule the outbox relay after
commit. No model signal is involved, so a bulk write cannot skip delivery. The relay itself
lives with the SMS adapter; the domain reaches it by its Celery task name, never by import.
"""

import logging

from django.core.cache import cache
from django.db import transaction

from backend.core.bulk import bulk_insert
from backend.core.jobs import task_queue

from .models import Notice

logger = logging.getLogger(__name__)

RELAY_TASK = "sms.relay_notices"
# Debounce: a thousand notices committed together queue one relay. The relay clears the key
# before it reads, so a notice committed while it runs queues the next one.
RELAY_PENDING_KEY = "notices:relay-pending"


def notice_build(*, volunteer=None, volunteer_id=None, kind: str, assignment=None, assignment_id=None, payload=None):
    """The one constructor of a Notice (unsaved): the manual and the bulk paths both use it."""
    notice = Notice(kind=kind, payload=payload or {})
    if volunteer is not None:
        notice.volunteer = volunteer
    else:
        notice.volunteer_id = volunteer_id
    if assignment is not None:
        notice.assignment = assignment
    else:
        notice.assignment_id = assignment_id
    return notice


def notice_create(*, volunteer, kind: str, assignment=None, payload: dict | None = None) -> Notice:
    """Record that `volunteer` must be told something; delivery is scheduled after commit."""
    notice = notice_build(volunteer=volunteer, kind=kind, assignment=assignment, payload=payload)
    notice.save()
    notices_delivery_schedule()
    return notice


def notices_create(notices: list[Notice]) -> int:
    """Write many notices built by `notice_build` in one bulk write; delivery is scheduled after commit."""
    written = bulk_insert(Notice, notices)
    if written:
        notices_delivery_schedule()
    return written


def notices_delivery_schedule() -> None:
    """Queue the outbox relay once the current transaction commits (at once outside one)."""
    transaction.on_commit(_relay_queue)


def _relay_queue() -> None:
    if not cache.add(RELAY_PENDING_KEY, 1, timeout=300):
        return
    try:
        task_queue(RELAY_TASK)
    except Exception:  # the broker is down: the notices are stored and beat's relay picks them up
        cache.delete(RELAY_PENDING_KEY)
        logger.exception("could not queue the notice relay")
