"""Celery tasks of the station threads: the SMS copy of announcements."""

from celery import shared_task

from .models import Message
from .services import announcement_sms_dispatch, announcements_sms_sweep


@shared_task(name="threads.announcement_sms_dispatch")
def announcement_sms_dispatch_task(message_id: int) -> int:
    message = Message.objects.select_related("thread__place").filter(pk=message_id).first()
    if message is None:
        return 0
    return announcement_sms_dispatch(message=message)


@shared_task(name="threads.announcements_sms_sweep")
def announcements_sms_sweep_task() -> int:
    return announcements_sms_sweep()
