"""Celery tasks of incidents: the escalation sweep (beat, every minute)."""

from celery import shared_task

from .services import incidents_escalate_due


@shared_task(name="incidents.escalate_due")
def incidents_escalate_due_task() -> int:
    return incidents_escalate_due()
