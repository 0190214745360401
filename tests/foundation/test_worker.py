"""With REDIS_URL, `celery -A backend worker` (the docker-compose command) starts and answers on the broker."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from backend.celery import app

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL: the worker talks to a real broker")
def test_the_worker_command_connects_to_the_broker():
    # given: the worker exactly as docker-compose and the README start it
    name = f"fz-test-{uuid.uuid4().hex[:8]}@%h"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "backend",
            "worker",
            "--pool",
            "solo",
            "-n",
            name,
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env={**os.environ, "CELERY_TASK_ALWAYS_EAGER": "false"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # when: we ping it through the broker until it answers (it takes a few seconds to boot)
        replies: list = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and worker.poll() is None:
            replies = app.control.ping(timeout=1.0) or []
            if any(name.split("@")[0] in host for reply in replies for host in reply):
                break
        # then
        assert worker.poll() is None, worker.communicate(timeout=5)[0]
        assert any(name.split("@")[0] in host for reply in replies for host in reply), replies
    finally:
        worker.terminate()
        worker.wait(timeout=30)
