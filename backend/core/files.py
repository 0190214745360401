"""Files the worker builds for one person (zips of credentials, large spreadsheets): deleted once
they are old, since they hold names, DNIs and phones (GENERATED_FILES_KEEP_HOURS)."""

from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from .models import FileJob, FileJobState


def file_jobs_expire(model: type[FileJob], directory: Path, *, now: datetime | None = None) -> int:
    """Delete the files of `model`'s jobs finished more than GENERATED_FILES_KEEP_HOURS ago.

    The job's row stays (who asked, when, how much) in state "expired"; the page says so and a
    new job rebuilds the file from today's data. Returns how many files were deleted."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.GENERATED_FILES_KEEP_HOURS)
    expired = 0
    due = model.objects.filter(state=FileJobState.DONE, finished_at__lt=cutoff)  # type: ignore[attr-defined]
    for job_id, file_name in due.values_list("pk", "file_name"):
        if file_name:
            (directory / file_name).unlink(missing_ok=True)
        expired += model.objects.filter(pk=job_id, state=FileJobState.DONE).update(  # type: ignore[attr-defined]
            state=FileJobState.EXPIRED, file_name=""
        )
    return expired
