"""Writes of the console: large spreadsheets handed to the worker, with their progress and file.

A workbook of thousands of rows takes seconds to write (openpyxl's XML is most of it); nobody
should wait on a request for that, and a web process should not be held. The export views write
small workbooks at once and call `export_job_start` for large ones; the worker runs
`export_job_build`, and the page polls the job until the file can be downloaded.
"""

import secrets
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backend.core.files import file_jobs_expire
from backend.core.jobs import task_queue
from backend.core.models import FileJobState
from backend.elections.models import Area, Election
from backend.permissions import Action, require

from .exports import EXPORTS, export_log, xlsx_write
from .models import ExportJob

EXPORT_TASK = "backend.console.tasks.export_job_task"


def export_dir() -> Path:
    path = Path(settings.CONSOLE_EXPORTS_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def export_job_start(*, kind: str, election: Election, area: Area | None, actor) -> ExportJob:
    """Queue the workbook `kind` of `area` (or all `actor` may see) for the worker, after commit.

    Called by the export views when the workbook is too large to write while the person waits.
    The rows are read by the worker with `actor`'s scope, so the file holds what they may see.
    """
    if area is not None:
        require(actor, Action.VIEW, area)
    spec = EXPORTS[kind]
    total = spec.count(user=actor, election=election, area=area)
    job = ExportJob.objects.create(kind=kind, election=election, area=area, requested_by=actor, total=total)
    transaction.on_commit(lambda: task_queue(EXPORT_TASK, job.pk))
    return job


def export_job_build(*, job_id: int) -> ExportJob:
    """Write the job's workbook to `CONSOLE_EXPORTS_DIR` and log the export; progress every few
    thousand rows. Run by the worker; a job already built is left as it is (a repeated task)."""
    job = ExportJob.objects.select_related("election", "area", "requested_by").get(pk=job_id)
    if job.state == FileJobState.DONE:
        return job
    ExportJob.objects.filter(pk=job.pk).update(state=FileJobState.RUNNING)
    spec = EXPORTS[job.kind]
    name = f"{spec.stem}-{job.pk}-{secrets.token_hex(8)}.xlsx"
    try:
        rows = spec.rows(user=job.requested_by, election=job.election, area=job.area)
        ExportJob.objects.filter(pk=job.pk).update(total=len(rows))
        with (export_dir() / name).open("wb") as target:
            count = xlsx_write(
                target,
                title=str(spec.title),
                header=[str(h) for h in spec.header],
                rows=rows,
                on_progress=lambda done: ExportJob.objects.filter(pk=job.pk).update(done=done),
            )
        export_log(
            user=job.requested_by,
            kind=job.kind,
            election=job.election,
            area=job.area,
            filters={"job": job.pk},
            rows=count,
        )
    except Exception as exc:
        (export_dir() / name).unlink(missing_ok=True)  # half a workbook of personal data helps nobody
        ExportJob.objects.filter(pk=job.pk).update(
            state=FileJobState.FAILED, error=str(exc)[:300], finished_at=timezone.now()
        )
        raise
    ExportJob.objects.filter(pk=job.pk).update(
        state=FileJobState.DONE, done=count, total=count, file_name=name, finished_at=timezone.now()
    )
    job.refresh_from_db()
    return job


def export_job_path(*, job: ExportJob) -> Path | None:
    """The finished file of `job`, or None while it is not ready (or was cleaned away)."""
    if job.state != FileJobState.DONE or not job.file_name:
        return None
    path = export_dir() / job.file_name
    return path if path.is_file() else None


def export_jobs_expire(*, now=None) -> int:
    """Delete the workbooks finished more than GENERATED_FILES_KEEP_HOURS ago (names, DNIs, phones)."""
    return file_jobs_expire(ExportJob, export_dir(), now=now)
