"""Celery task of the credentials app: a zip of schools' credentials, progress in its batch row."""

from celery import shared_task

from .services import credentials_batch_build


@shared_task(acks_late=False)
def credentials_batch_task(batch_id: int) -> None:
    """Queued by name by `credentials_batch_start` (backend.core.jobs.task_queue)."""
    credentials_batch_build(batch_id=batch_id)
