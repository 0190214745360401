"""Helpers for the end-to-end tests: a database the server processes share, uvicorn servers, and
an "outside actor" process (the SMS webhook, a coordinator's reassignment).

Run as `python -m tests.threads.e2e_support <command> ...` with DATABASE_URL pointing at the
end-to-end database: `seed` prints the ids and session cookies as JSON; `sms <volunteer id> <text>`
and `cancel <volunteer id>` act as the SMS webhook and the assignment console would.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def e2e_database(tmp_dir: Path, suffix: str = "e2e") -> tuple[str, callable]:
    """A fresh database URL for the servers (SQLite file, or a PostgreSQL database next to the
    test database when DATABASE_URL is PostgreSQL) and a function that drops it."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        path = tmp_dir / f"{suffix}.sqlite3"
        return f"sqlite:///{path}", lambda: None
    import psycopg

    name = os.environ.get("TEST_DATABASE_NAME", "test_fz") + f"_{suffix}"
    server = base.rsplit("/", 1)[0]

    def admin(sql: str) -> None:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(sql)

    admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}", lambda: admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_env(database_url: str, *, redis_url: str = "", prefix: str = "") -> dict:
    env = {
        k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "TEST_DATABASE_NAME", "DJANGO_SETTINGS_MODULE"}
    }
    env.update({"DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "backend.settings", "PYTHONPATH": str(ROOT)})
    if redis_url:
        env.update({"REDIS_URL": redis_url, "CHANNEL_LAYER_PREFIX": prefix or f"e2e{uuid.uuid4().hex[:8]}"})
        env["CELERY_TASK_ALWAYS_EAGER"] = "true"
    return env


def manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{args} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


class Server:
    """uvicorn serving backend.asgi in its own process on a free port."""

    def __init__(self, env: dict):
        self.port = free_port()
        self.log = open(Path(env.get("E2E_LOG_DIR", "/tmp")) / f"fz-e2e-uvicorn-{self.port}.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "backend.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--timeout-graceful-shutdown",
                "1",
            ],
            env=env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{self.http}/healthz", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"uvicorn did not start: {Path(self.log.name).read_text()}") from None
                time.sleep(0.1)

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws(self, place_id: int) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/threads/{place_id}/"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


# --- commands run inside a subprocess with Django set up --------------------------------------


def _seed() -> dict:
    import datetime

    from django.test import Client

    from backend.accounts.models import CoordinatorScope, Role, User
    from backend.assignments.services import assignment_create
    from backend.elections.models import Area, Election, PollingPlace, Table
    from backend.threads.services import threads_create_for_places
    from backend.volunteers.models import Volunteer

    election = Election.objects.create(slug="e2e", name="E2E", date=datetime.date(2027, 10, 24))
    district = Area.objects.create(election=election, kind="distrito", code="cba", name="Córdoba")
    towns = [Area.objects.create(election=election, parent=district, kind="localidad", code=c, name=c) for c in "ns"]
    places = [
        PollingPlace.objects.create(election=election, area=town, code=f"P-{town.code}", name=f"Escuela {town.code}")
        for town in towns
    ]
    tables = [
        [Table.objects.create(election=election, place=p, district=district, number=i * 10 + n) for n in range(4)]
        for i, p in enumerate(places, start=1)
    ]
    # Places come with their threads, as every place-creating door in the project does.
    threads_create_for_places(election=election)

    def person(name: str, role=Role.VOLUNTEER, *, login: bool = True):
        user = User.objects.create(username=name, role=role, first_name=name.capitalize()) if login else None
        if role != Role.VOLUNTEER:
            return user, None
        count = Volunteer.objects.count()
        volunteer = Volunteer.objects.create(
            dni=str(20_000_000 + count),
            first_name=name.capitalize(),
            last_name="E2e",
            phone=f"+5493510000{count:03d}",
            user=user,
        )
        return user, volunteer

    people = {}
    for name, place_index, table_index, login in [
        ("ana", 0, 0, True),
        ("beto", 0, 1, True),
        ("dora", 0, 2, False),
        ("carla", 1, 0, True),
    ]:
        user, volunteer = person(name, login=login)
        assignment_create(
            volunteer=volunteer,
            place=places[place_index],
            table=tables[place_index][table_index],
            role="table",
            source="web",
        )
        people[name] = (user, volunteer)
    people["extraño"] = person("extraño")
    coordinator, _ = person("coordinadora", Role.COORDINATOR)
    CoordinatorScope.objects.create(user=coordinator, area=towns[0])
    people["coordinadora"] = (coordinator, None)

    # The thread socket reads the session itself: people whose session must not let them in.
    eva, eva_volunteer = person("eva")
    assignment_create(volunteer=eva_volunteer, place=places[0], table=tables[0][3], role="table", source="web")
    people["eva"] = (eva, eva_volunteer)
    people["coordinador_sur"] = (person("coordinador_sur", Role.COORDINATOR)[0], None)
    CoordinatorScope.objects.create(user=people["coordinador_sur"][0], area=towns[1])
    people["responsable"] = (person("responsable", Role.LEAD)[0], None)
    people["coordinador_inactivo"] = (person("coordinador_inactivo", Role.COORDINATOR)[0], None)
    CoordinatorScope.objects.create(user=people["coordinador_inactivo"][0], area=towns[0])

    cookies = {}
    for name, (user, _volunteer) in people.items():
        if user is not None:
            client = Client()
            client.force_login(user)
            cookies[name] = f"sessionid={client.cookies['sessionid'].value}"
    User.objects.filter(username="coordinador_inactivo").update(is_active=False)
    cookies.update(_bad_sessions(eva))
    return {
        "north": places[0].pk,
        "south": places[1].pk,
        "cookies": cookies,
        "volunteers": {name: v.pk for name, (_u, v) in people.items() if v is not None},
    }


def _bad_sessions(user) -> dict[str, str]:
    """Session cookies of `user` that are no good: expired, from before a password change, signed
    with another secret key (a forged session row)."""
    import datetime

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.core import signing
    from django.utils import timezone

    good = {
        SESSION_KEY: str(user.pk),
        BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
        HASH_SESSION_KEY: user.get_session_auth_hash(),
    }
    later = timezone.now() + datetime.timedelta(days=1)
    rows = {
        "eva_vencida": (SessionStore().encode(good), timezone.now() - datetime.timedelta(seconds=1)),
        "eva_otra_clave": (SessionStore().encode({**good, HASH_SESSION_KEY: "0" * 64}), later),
        "eva_firma_falsa": (
            signing.dumps(good, key="not-the-secret-key", salt=SessionStore().key_salt, compress=True),
            later,
        ),
    }
    cookies = {}
    for name, (data, expire) in rows.items():
        key = f"{name.replace('_', '')}{'x' * 24}"
        Session.objects.create(session_key=key, session_data=data, expire_date=expire)
        cookies[name] = f"sessionid={key}"
    return cookies


def main(argv: list[str]) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    django.setup()
    command = argv[0]
    if command == "seed":
        print(json.dumps(_seed()))
    elif command == "sms":
        from backend.threads.services import message_post_from_sms
        from backend.volunteers.models import Volunteer

        message = message_post_from_sms(volunteer=Volunteer.objects.get(pk=int(argv[1])), body=argv[2])
        print(json.dumps({"id": message.pk}))
    elif command == "cancel":
        from backend.assignments.models import ACTIVE_STATUSES, Assignment
        from backend.assignments.services import assignment_transition

        assignment = Assignment.objects.get(volunteer_id=int(argv[1]), status__in=ACTIVE_STATUSES)
        assignment_transition(assignment=assignment, to_status="cancelled", source="web", reason="e2e")
        print(json.dumps({"cancelled": assignment.pk}))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main(sys.argv[1:])
