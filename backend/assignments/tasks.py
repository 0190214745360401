"""Celery tasks of the assignment app: auto-assign for large scopes, with progress in the cache.

The API starts a run with `auto_assign_start` and polls `auto_assign_status`; in development
Celery runs eagerly, so the run is finished when `auto_assign_start` returns.
"""

import re
import uuid

from celery import shared_task
from django.core.cache import cache
from django.db import transaction

from backend.accounts.models import User
from backend.core.exceptions import ApplicationError
from backend.elections.models import Area, Election

from .services import auto_assign, auto_assign_check_scope

_KEY = "auto-assign:{run_id}"
_TTL = 6 * 3600
# Run ids are uuid4().hex; anything else in the URL is not a run (and must not become a cache key).
_RUN_ID = re.compile(r"[0-9a-f]{32}")


def auto_assign_status(run_id: str) -> dict | None:
    """{"state": queued|running|done|failed, "step": ..., "result": {...} | None, "error": ...} or None."""
    if not _RUN_ID.fullmatch(run_id):
        return None
    return cache.get(_KEY.format(run_id=run_id))


def _store(key: str, **data) -> None:
    current = cache.get(_KEY.format(run_id=key)) or {}
    current.update(data)
    cache.set(_KEY.format(run_id=key), current, _TTL)


def auto_assign_start(*, election: Election, area: Area | None, dry_run: bool, notify: bool, actor) -> str:
    """Queue a run after the current transaction commits; returns its id for polling.

    Refuses at once what the run would refuse (the whole election for anyone but a lead)."""
    auto_assign_check_scope(actor=actor, area=area)
    run_id = uuid.uuid4().hex
    _store(
        run_id,
        run_id=run_id,
        state="queued",
        step="",
        election_id=election.pk,
        area_id=area.pk if area else None,
        dry_run=dry_run,
        user_id=getattr(actor, "pk", None),
        result=None,
        error="",
    )
    args = (run_id, election.pk, area.pk if area else None, dry_run, notify, getattr(actor, "pk", None))
    transaction.on_commit(lambda: auto_assign_task.delay(*args))
    return run_id


@shared_task(acks_late=False)
def auto_assign_task(run_id: str, election_id: int, area_id: int | None, dry_run: bool, notify: bool, actor_id):
    """Run auto-assign; its progress and result go to the cache under the run id."""
    election = Election.objects.get(pk=election_id)
    area = Area.objects.get(pk=area_id) if area_id else None
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    _store(run_id, state="running")
    try:
        result = auto_assign(
            election=election,
            area=area,
            dry_run=dry_run,
            notify=notify,
            actor=actor,
            on_progress=lambda step: _store(run_id, step=step),
        )
    except ApplicationError as exc:
        _store(run_id, state="failed", error=str(exc.message), code=exc.code)
        return
    _store(run_id, state="done", step="done", result=result.as_dict())
