"""Celery tasks: thin wrappers that take ids and call sms services. All idempotent."""

import time

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from backend.messaging import broadcasts
from backend.notices import reminders
from backend.notices.services import RELAY_PENDING_KEY

from . import services


@shared_task(name="sms.relay_notices", ignore_result=True)
def relay_notices() -> int:
    """The outbox relay: queued on commit whenever a Notice is written, and every minute by beat."""
    cache.delete(RELAY_PENDING_KEY)
    return services.notices_relay()


@shared_task(name="sms.send_outbound", ignore_result=True)
def send_outbound(message_id: int) -> str:
    return services.outbound_send(message_id=message_id)


@shared_task(name="sms.drain_outbound", ignore_result=True)
def drain_outbound(
    broadcast_id: int | None = None, shard: tuple[int, int] | None = None, sender: str | None = None
) -> int:
    """Send queued messages (of one sender of the pool, if given) until the time budget is spent, then
    hand over to a fresh task."""
    deadline = time.monotonic() + float(settings.CELERY_TASK_SOFT_TIME_LIMIT) * 0.75
    # JSON turns the tuple into a list.
    part = (int(shard[0]), int(shard[1])) if shard else None
    sent = services.outbound_drain(broadcast_id=broadcast_id, limit=10**9, deadline=deadline, shard=part, sender=sender)
    # Out of time with work left: a fresh task carries on (retries wait in their own tasks).
    if time.monotonic() >= deadline and broadcasts.broadcast_has_queued(broadcast_id=broadcast_id):
        drain_outbound.delay(broadcast_id, shard, sender)
    elif broadcast_id is not None:
        broadcasts.broadcast_finish(broadcast_id=broadcast_id)
    return sent


@shared_task(name="sms.queue_broadcast", ignore_result=True)
def queue_broadcast(broadcast_id: int) -> int:
    """Render and store a sending broadcast's messages (queued after the send commits); then drains."""
    return broadcasts.broadcast_queue(broadcast_id=broadcast_id)


@shared_task(name="sms.broadcasts_finish", ignore_result=True)
def broadcasts_finish() -> int:
    """Beat: sending broadcasts whose every message reached a final status become done."""
    return broadcasts.broadcasts_finish_sweep()


@shared_task(name="sms.reconcile_sending", ignore_result=True)
def reconcile_sending() -> dict:
    return services.outbound_reconcile()


@shared_task(name="sms.whatsapp_fallback", ignore_result=True)
def whatsapp_fallback() -> int:
    """Beat: WhatsApp messages not delivered in time go again by SMS (once)."""
    return services.whatsapp_fallback_sweep()


@shared_task(name="sms.remind_unconfirmed", ignore_result=True)
def remind_unconfirmed() -> int:
    return reminders.reminders_unconfirmed()


@shared_task(name="sms.remind_shift", ignore_result=True)
def remind_shift() -> int:
    return reminders.reminders_shift()


@shared_task(name="sms.remind_eve", ignore_result=True)
def remind_eve() -> int:
    return reminders.reminders_eve()
