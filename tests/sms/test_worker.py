"""End to end with a real Celery worker process (needs REDIS_URL and PostgreSQL)."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from backend.messaging.models import OutboundMessage
from sms.services import outbound_reconcile

from ..factories import VolunteerFactory

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a Redis server at REDIS_URL"),
]
ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = django_settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


@pytest.fixture
def worker(transactional_db, twilio_backend):
    if connection.vendor != "postgresql":
        pytest.skip("the worker process needs a database it can share: PostgreSQL (DATABASE_URL)")
    queue = f"sms-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "SMS_BACKEND": "twilio",
        "TWILIO_API_BASE_URL": twilio_backend.url,
        "TWILIO_FROM": "+15005550006",
        "TWILIO_HTTP_TIMEOUT": "60",
        "SMS_SENDERS": "+15005550006:long_code:50",  # one number paced at 50 segments/s
        "SMS_RATE_LIMIT_KEY": f"{queue}:bucket",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "backend", "worker", "--pool=solo", "-Q", queue, "-l", "WARNING"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    from backend.celery import app

    app.conf.task_always_eager = False
    yield process, queue
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def _queued_message(volunteer):
    return OutboundMessage.objects.create(
        volunteer=volunteer, to=volunteer.phone, body="Fiscaliza: prueba de worker", kind="instruction"
    )


def test_a_real_worker_sends_a_queued_message_to_twilio(worker, twilio_backend):
    # given
    _process, queue = worker
    volunteer = VolunteerFactory()
    message = _queued_message(volunteer)
    # when
    from sms.tasks import send_outbound

    send_outbound.apply_async((message.pk,), queue=queue)
    # then
    assert _wait_for(lambda: OutboundMessage.objects.get(pk=message.pk).status == "sent"), "the worker did not send"
    message.refresh_from_db()
    assert message.sid in twilio_backend.messages
    assert len(twilio_backend.posts_to(volunteer.phone)) == 1


def test_worker_killed_mid_send_sends_once_and_is_reconciled(worker, twilio_backend):
    # given: Twilio accepts but answers slowly; the worker is killed while it waits
    process, queue = worker
    twilio_backend.script = [("hang", 30)]
    volunteer = VolunteerFactory()
    message = _queued_message(volunteer)
    from sms.tasks import send_outbound

    send_outbound.apply_async((message.pk,), queue=queue)
    assert twilio_backend.received.wait(60), "the worker never called Twilio"
    process.send_signal(signal.SIGKILL)
    process.wait()
    # then: the row stays in `sending`, with no SID
    message.refresh_from_db()
    assert message.status == "sending" and message.sid is None
    # when: the task is redelivered and the reconciler runs
    send_outbound.apply((message.pk,))
    outbound_reconcile(older_than_seconds=0)
    # then: one request reached Twilio; the row adopted Twilio's SID
    message.refresh_from_db()
    assert len(twilio_backend.posts_to(volunteer.phone)) == 1
    assert message.status == "sent" and message.sid in twilio_backend.messages
