"""Celery tasks of the credentials app: a zip of schools' credentials (progress in its batch row), old zips deleted."""

from celery import shared_task

from .services import credentials_batch_build, credentials_batches_expire


@shared_task(acks_late=False)
def credentials_batch_task(batch_id: int) -> None:
    """Queued by name by `credentials_batch_start` (backend.core.jobs.task_queue)."""
    credentials_batch_build(batch_id=batch_id)


@shared_task(name="credentials.expire_batches")
def credentials_batches_expire_task() -> int:
    """Beat, hourly: zips older than GENERATED_FILES_KEEP_HOURS are deleted (personal data)."""
    return credentials_batches_expire()
