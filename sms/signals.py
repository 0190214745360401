"""Run the outbox relay after a transaction that wrote a Notice commits.

A cache key debounces it: a thousand notices committed together queue one relay task. The task
clears the key before it reads, so a notice committed while it runs queues the next one.
"""

from django.core.cache import cache
from django.db import transaction

from .tasks import RELAY_PENDING_KEY, relay_notices


def _relay_after_commit():
    if cache.add(RELAY_PENDING_KEY, 1, timeout=300):
        relay_notices.delay()


def notice_saved(sender, instance, created, **kwargs):
    if created:
        transaction.on_commit(_relay_after_commit)
