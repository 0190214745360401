"""Celery task of the count: check or apply an uploaded official results file (`OfficialImport`)."""

from celery import shared_task
from django.conf import settings

from .results_import import OFFICIAL_TASK, official_import_run


@shared_task(
    name=OFFICIAL_TASK,
    acks_late=False,
    # A national file (6 million rows) takes minutes: longer than the project's default limit.
    time_limit=getattr(settings, "COUNT_OFFICIAL_TIME_LIMIT", 3600),
    soft_time_limit=getattr(settings, "COUNT_OFFICIAL_TIME_LIMIT", 3600) - 60,
)
def official_import_task(job_id: int, dry_run: bool) -> str:
    """Queued by name by `official_import_upload` / `official_import_apply`; a repeat does nothing."""
    job = official_import_run(job_id=job_id, dry_run=dry_run)
    return job.state if job is not None else "skipped"
