"""Celery task of the console: a large spreadsheet written by the worker, progress in its job row."""

from celery import shared_task

from .services import export_job_build


@shared_task(acks_late=False)
def export_job_task(job_id: int) -> None:
    """Queued by name by `export_job_start` (backend.core.jobs.task_queue)."""
    export_job_build(job_id=job_id)
