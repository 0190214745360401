"""Celery tasks for large imports; they take ids and call the service."""

from celery import shared_task

from backend.core.exceptions import ApplicationError

from .models import BatchStatus, ImportBatch
from .services import batch_run


@shared_task(name="imports.run_batch")
def run_batch(batch_id: int, dry_run: bool) -> str:
    """Run (dry run or apply) one batch. Idempotent: an applied batch is left as it is."""
    batch = ImportBatch.objects.filter(pk=batch_id).first()
    if batch is None or batch.status == BatchStatus.APPLIED:
        return "skipped"
    try:
        batch = batch_run(batch=batch, dry_run=dry_run)
    except ApplicationError as exc:  # already recorded on the batch as FAILED
        return exc.code
    return batch.status
