"""Celery tasks of the console: large spreadsheets written by the worker (progress in the job row), old ones deleted."""

from celery import shared_task

from .services import export_job_build, export_jobs_expire


@shared_task(acks_late=False)
def export_job_task(job_id: int) -> None:
    """Queued by name by `export_job_start` (backend.core.jobs.task_queue)."""
    export_job_build(job_id=job_id)


@shared_task(name="console.expire_exports")
def export_jobs_expire_task() -> int:
    """Beat, hourly: workbooks older than GENERATED_FILES_KEEP_HOURS are deleted (personal data)."""
    return export_jobs_expire()
