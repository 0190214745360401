"""Election-day benchmark: every table reports opening through the signed SMS webhook and the API
(mixed) against a real server, with incidents by SMS, while a WebSocket client watches the board.

    python bench/election_day.py [--tables 113000] [--places 17000] [--incidents 5000]
                                 [--api-share 0.3] [--concurrency 16] [--port 9650]

Builds a national-size election in its own database (a SQLite file under var/, or a fresh
PostgreSQL database beside DATABASE_URL's when that is PostgreSQL; the channel layer is Redis
when REDIS_URL is set): 24 districts, sections, `--places` schools, `--tables` tables, one
watcher per table (bulk inserts; setup, not measured). Starts uvicorn, connects a lead's
WebSocket to /ws/board/<id>/, then sends every table's opening (ABRIO by signed SMS, or POST
/api/tables/<id>/reports/ with the watcher's token) plus `--incidents` PROBLEMA texts, from
`--concurrency` clients. Prints, each beside its target: reports per second sustained (>= 200),
webhook p50/p95/p99 (p95 <= 50 ms), board delay p99 from a report's send to its event on the
socket (<= 1 s); and the floor measured in the same run (GET /healthz under the same load).
"""

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.databases import fresh_database  # noqa: E402

DB_PATH = ROOT / "var" / "bench_election_day.sqlite3"
DISTRICTS = 24
PROBLEMS = [
    "faltan boletas de la lista 3",
    "la mesa abrio tarde, no llego el presidente",
    "no me dejan entrar, dicen que falta el poder",
    "hay afiches de propaganda en el patio",
    "amenazaron al fiscal de la mesa",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=113_000)
    parser.add_argument("--places", type=int, default=17_000)
    parser.add_argument("--incidents", type=int, default=5_000)
    parser.add_argument("--api-share", type=float, default=0.3, help="share of openings sent through the API")
    parser.add_argument("--concurrency", type=int, default=16, help="clients sending at once")
    parser.add_argument("--port", type=int, default=0, help="the server's port (default: a free one)")
    args = parser.parse_args()

    (ROOT / "var").mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench_day_"))
    database_url, drop = fresh_database(tmp, name="bench_election_day")
    if database_url.startswith("sqlite"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DB_PATH}{suffix}").unlink(missing_ok=True)
        database_url = f"sqlite:///{DB_PATH}"
    port = args.port or _free_port()
    env = {
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "false",
        "SMS_BACKEND": "local",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
        "API_THROTTLE_USER": "100000/min",
        "MEDIA_ROOT": str(tmp / "media"),
        # Under ASGI each request runs in a thread of its own: persistent connections would pile up.
        "DATABASE_CONN_MAX_AGE": "0",
    }
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    built = _build(args.tables, args.places)
    print(f"setup: {args.tables:,} tables, {args.places:,} places, watchers in {time.perf_counter() - started:.0f} s")

    from django.db import connections

    connections.close_all()
    server = subprocess.Popen(
        [
            *[sys.executable, "-m", "uvicorn", "backend.asgi:application", "--host", "127.0.0.1"],
            *["--port", str(port), "--log-level", "warning", "--no-access-log"],
        ],
        cwd=ROOT,
        env={**os.environ},
    )
    try:
        _run(args, built, port)
    finally:
        server.terminate()
        server.wait(timeout=20)
        connections.close_all()
        drop()


def _build(tables: int, places: int) -> dict:
    """The election (held today), the area tree, places, tables, one watcher per table with a user and a token."""
    import datetime

    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from backend.accounts.models import Role, User
    from backend.assignments.models import Assignment
    from backend.elections.models import Area, Election, PollingPlace, Table
    from backend.volunteers.models import Volunteer

    election = Election.objects.create(
        slug="bench-day", name="Bench day", date=timezone.localdate(), check_in_time=datetime.time(7, 30)
    )
    districts = [
        Area.objects.create(election=election, kind="distrito", code=f"d{d}", name=f"Distrito {d}")
        for d in range(DISTRICTS)
    ]
    sections = [
        Area.objects.create(
            election=election, parent=districts[s % DISTRICTS], kind="seccion", code=f"s{s}", name=f"S{s}"
        )
        for s in range(max(DISTRICTS, places // 30))
    ]
    place_rows = PollingPlace.objects.bulk_create(
        [
            PollingPlace(election=election, area=sections[i % len(sections)], code=f"P{i}", name=f"Escuela N° {i}")
            for i in range(places)
        ],
        batch_size=5000,
    )
    table_rows = Table.objects.bulk_create(
        [
            Table(
                election=election,
                place=place_rows[i % places],
                district_id=place_rows[i % places].area.parent_id,
                number=i + 1,
                electors=350,
            )
            for i in range(tables)
        ],
        batch_size=5000,
    )
    users = User.objects.bulk_create(
        [User(username=f"w{i}", role=Role.VOLUNTEER, password="!") for i in range(tables)], batch_size=5000
    )
    volunteers = Volunteer.objects.bulk_create(
        [
            Volunteer(
                dni=str(20_000_000 + i),
                first_name="Fiscal",
                last_name=str(i),
                phone=f"+549351{i:07d}",
                user=users[i],
            )
            for i in range(tables)
        ],
        batch_size=5000,
    )
    Assignment.objects.bulk_create(
        [
            Assignment(election=election, volunteer=v, place=t.place, table=t, role="table", status="confirmed", slot=0)
            for v, t in zip(volunteers, table_rows, strict=True)
        ],
        batch_size=5000,
    )
    Token.objects.bulk_create(
        [Token(key=uuid.uuid4().hex + uuid.uuid4().hex[:8], user=u) for u in users], batch_size=5000
    )
    tokens = dict(Token.objects.values_list("user_id", "key"))
    lead = User.objects.create(username="bench-lead", role=Role.LEAD, password="!", is_superuser=True)
    session = SessionStore()
    session["_auth_user_id"] = str(lead.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = lead.get_session_auth_hash()
    session.create()
    return {
        "election": election.pk,
        "session": session.session_key,
        "watchers": [(t.pk, v.phone, tokens[u.pk]) for t, v, u in zip(table_rows, volunteers, users, strict=True)],
    }


class Board:
    """A lead's WebSocket on the board, in its own thread: when each table's report event arrived."""

    def __init__(self, url: str, session: str, origin: str):
        self.url, self.session, self.origin = url, session, origin
        self.arrived: dict[int, float] = {}
        self.incidents = 0
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._listen()), daemon=True)

    async def _listen(self) -> None:
        import websockets

        headers = {"Cookie": f"sessionid={self.session}", "Origin": self.origin}
        async with websockets.connect(self.url, additional_headers=headers, max_queue=None) as ws:
            self.ready.set()
            while not self.stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
                except TimeoutError:
                    continue
                except websockets.ConnectionClosed:
                    return
                now = time.perf_counter()
                event = json.loads(raw)
                if event.get("type") == "table_report":
                    self.arrived.setdefault(event["table_id"], now)
                elif event.get("type") == "incident":
                    self.incidents += 1


def _run(args, built: dict, port: int) -> None:
    import requests
    from django.conf import settings
    from twilio.request_validator import RequestValidator

    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.1)
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    sms_url = base + "/sms/inbound/"
    board = Board(f"ws://127.0.0.1:{port}/ws/board/{built['election']}/", built["session"], base)
    board.thread.start()
    if not board.ready.wait(15):
        raise SystemExit("the board's WebSocket did not connect")

    rng = random.Random(2027)
    jobs: list[tuple] = []
    for table_id, phone, token in built["watchers"]:
        jobs.append(("api" if rng.random() < args.api_share else "sms", table_id, phone, token, "ABRIO"))
    for i in range(args.incidents):
        _table_id, phone, token = built["watchers"][rng.randrange(len(built["watchers"]))]
        jobs.append(("incident", None, phone, token, f"PROBLEMA {PROBLEMS[i % len(PROBLEMS)]}"))
    rng.shuffle(jobs)

    local = threading.local()
    sent_at: dict[int, float] = {}
    latencies: dict[str, list[float]] = {"sms": [], "api": [], "incident": [], "floor": []}
    errors: list[str] = []

    def client():
        if not hasattr(local, "s"):
            local.s = requests.Session()
        return local.s

    def send(job) -> None:
        kind, table_id, phone, token, body = job
        s = client()
        if table_id is not None:
            sent_at[table_id] = time.perf_counter()
        t0 = time.perf_counter()
        if kind == "api":
            r = s.post(
                f"{base}/api/tables/{table_id}/reports/",
                json={"state": "open"},
                headers={"Authorization": f"Token {token}"},
                timeout=30,
            )
        else:
            params = {
                "MessageSid": f"SM{uuid.uuid4().hex}",
                "AccountSid": "AC00000000000000000000000000000000",
                "From": phone,
                "To": "+15005550006",
                "Body": body,
                "NumMedia": "0",
            }
            signature = validator.compute_signature(sms_url, params)
            r = s.post(sms_url, data=params, headers={"X-Twilio-Signature": signature}, timeout=30)
        latencies[kind].append(time.perf_counter() - t0)
        if r.status_code != 200:
            errors.append(f"{kind} {r.status_code} {r.text[:120]}")

    def floor(stop: threading.Event) -> None:
        s = requests.Session()
        while not stop.is_set():
            t0 = time.perf_counter()
            s.get(base + "/healthz", timeout=30)
            latencies["floor"].append(time.perf_counter() - t0)
            time.sleep(0.05)

    stop_floor = threading.Event()
    floor_thread = threading.Thread(target=floor, args=(stop_floor,), daemon=True)
    floor_thread.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(args.concurrency) as pool:
        list(pool.map(send, jobs))
    elapsed = time.perf_counter() - started
    stop_floor.set()
    deadline = time.perf_counter() + 10
    while len(board.arrived) < len(sent_at) and time.perf_counter() < deadline:
        time.sleep(0.1)
    board.stop.set()

    reports = len(built["watchers"])
    delays = [board.arrived[t] - sent_at[t] for t in sent_at if t in board.arrived]
    webhook = latencies["sms"] + latencies["incident"]
    ms = 1000
    load = os.getloadavg()
    profile = "PostgreSQL" if os.environ["DATABASE_URL"].startswith("postgres") else "SQLite"
    layer = "Redis" if os.environ.get("REDIS_URL") else "in-memory"
    print(f"profile: {profile} + {layer} channel layer; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"sent: {reports:,} openings ({len(latencies['sms']):,} SMS, {len(latencies['api']):,} API)")
    print(
        f"      + {len(latencies['incident']):,} incidents by SMS, in {elapsed:.1f} s with {args.concurrency} clients"
    )
    rate = (reports + len(latencies["incident"])) / elapsed
    print(f"reports/s sustained:  {rate:8.1f}   target >= 200     {'OK' if rate >= 200 else 'BELOW'}")
    p95 = _pct(webhook, 0.95) * ms
    print(
        f"webhook ms p50/p95/p99: {_pct(webhook, 0.5) * ms:.1f} / {p95:.1f} / {_pct(webhook, 0.99) * ms:.1f}"
        f"   target p95 <= 50   {'OK' if p95 <= 50 else 'ABOVE'}"
    )
    api = latencies["api"]
    print(
        f"API ms p50/p95/p99:     {_pct(api, 0.5) * ms:.1f} / {_pct(api, 0.95) * ms:.1f} / {_pct(api, 0.99) * ms:.1f}"
    )
    floor_p50, floor_p95 = _pct(latencies["floor"], 0.5) * ms, _pct(latencies["floor"], 0.95) * ms
    print(f"floor (GET /healthz under the same load) ms p50/p95: {floor_p50:.1f} / {floor_p95:.1f}")
    if floor_p95:
        print(f"webhook p95 / floor p95: {p95 / floor_p95:.1f}x")
    board_p99 = _pct(delays, 0.99)
    print(
        f"board delay s p50/p99: {_pct(delays, 0.5):.3f} / {board_p99:.3f} ({len(delays):,} of {len(sent_at):,} seen)"
        f"   target p99 <= 1   {'OK' if board_p99 <= 1 else 'ABOVE'}"
    )
    print(f"incident events on the board: {board.incidents:,}")
    if errors:
        print(f"errors: {len(errors)}; first: {errors[0]}")


if __name__ == "__main__":
    main()
