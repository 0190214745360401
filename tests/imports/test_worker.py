"""A large roster through a real Celery worker and Redis, progress saved on the batch."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from backend.imports.models import BatchStatus, ImportBatch, ImportKind
from backend.imports.services import batch_create, batch_start
from backend.volunteers.models import Volunteer

from .conftest import ROSTER_HEADER, xlsx

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL") or connection.vendor != "postgresql",
        reason="needs Redis (REDIS_URL) and PostgreSQL (DATABASE_URL) so a worker process shares the test database",
    ),
]


CELERY = [sys.executable, "-m", "celery", "-A", "backend"]


@pytest.fixture
def worker(settings):
    """A Celery worker process on the test database and this test's media folder."""
    db = connection.settings_dict
    url = (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DATABASE_CONN_MAX_AGE": "0",
    }
    process = subprocess.Popen(
        [*CELERY, "worker", "-P", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=Path(django_settings.BASE_DIR),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def test_large_roster_is_applied_by_a_worker_with_progress(geo, settings, worker):
    # given a file over the async threshold
    settings.IMPORT_ASYNC_ROW_THRESHOLD = 10
    rows = [ROSTER_HEADER] + [[f"P{i}", str(30_000_000 + i), f"351 15 4{i:06d}"] for i in range(300)]
    batch = batch_create(
        actor=None,
        election=geo.election,
        kind=ImportKind.ROSTER,
        file_name="grande.xlsx",
        data=xlsx(rows),
        dry_run=False,
    )

    # when it is started (autocommit: the task is queued at once)
    started = batch_start(batch=batch)

    # then the worker finishes it
    assert started.status == BatchStatus.PENDING
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        batch.refresh_from_db()
        if batch.finished:
            break
        assert worker.poll() is None, worker.stderr.read().decode()[-2000:]
        time.sleep(0.3)
    assert (batch.status, batch.created, batch.rows_done, batch.total_rows) == (BatchStatus.APPLIED, 300, 301, 301)
    assert Volunteer.objects.count() == 300
    assert ImportBatch.objects.get().applied_at is not None
