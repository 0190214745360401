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


@pytest.mark.slow
def test_without_redis_the_worker_takes_tasks_from_the_filesystem_broker(tmp_path):
    # given: `make run`'s settings without Redis, a worker and a separate sender sharing one folder
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL", "TEST_DATABASE_NAME"}}
    env.update(
        CELERY_BROKER_URL="filesystem://",
        CELERY_BROKER_FOLDER=str(tmp_path / "broker"),
        CELERY_TASK_ALWAYS_EAGER="false",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    command = [sys.executable, "-m", "celery", "-A", "backend", "worker", "--pool", "solo", "--loglevel", "INFO"]
    command += ["--without-mingle", "--without-gossip"]
    worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    send = (
        "import django; django.setup(); from backend.celery import app; "
        "print(app.conf.broker_url, app.conf.task_always_eager); app.send_task('celery.accumulate', args=[4242])"
    )
    try:
        # when: another process (the web server's role) queues a task
        sent = subprocess.run(
            [sys.executable, "-c", send], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        # then: the worker runs it
        assert sent.stdout.split() == ["filesystem://", "False"], sent.stderr
        output = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = worker.stdout.readline() if worker.stdout else ""
            output.append(line)
            if "celery.accumulate" in line and "succeeded" in line:
                break
            if not line and worker.poll() is not None:
                break
        assert any("succeeded" in line and "4242" in line for line in output), "".join(output[-30:])
    finally:
        worker.terminate()
        worker.wait(timeout=30)
