"""Election-day benchmark: every table reports opening through the signed SMS webhook and the API
(mixed) against a real server, with incidents by SMS, while a WebSocket client watches the board.

    python bench/election_day.py [--tables 113000] [--places 17000] [--incidents 5000]
                                 [--openings N] [--api-share 0.3] [--concurrency 16] [--workers 2]
                                 [--rate R] [--connections 256]
                                 [--database-name bench_election_day] [--keep] [--port 0]

Builds a national-size election in its own database (a SQLite file under var/, or a PostgreSQL
database beside DATABASE_URL's when that is PostgreSQL; the channel layer is Redis when REDIS_URL
is set): 24 districts, sections, `--places` schools, `--tables` tables, one watcher per table and
one fiscal general per school (bulk inserts; setup, not measured). `--keep` keeps that built
election (a PostgreSQL template database `<name>_t<tables>_p<places>`, or a SQLite file) and later
runs with `--keep` copy it instead of building again; every run works on a fresh copy.

Starts uvicorn with `--workers` processes (production runs 2), warms it (50 signed AYUDA texts and
50 `GET /api/me/`, not measured), connects a lead's WebSocket to /ws/board/<id>/, then:
1. the floor: `--floor-requests` webhook requests signed with a wrong token, answered 403 after
   the signature check (the whole middleware stack and the HMAC, no database), from the same clients;
2. every table's opening (ABRIO by signed SMS, or POST /api/tables/<id>/reports/ with the
   watcher's token), or `--openings` tables chosen at random (a national election in a run that
   fits a shared machine), plus `--incidents` PROBLEMA texts, shuffled. By default a closed loop
   (`--concurrency` connections, each sending on its last answer: the server's maximum rate, the
   latency then only concurrency / rate); with `--rate R` an open loop, one request due every 1/R s
   whatever the answers (as Twilio and the phones send), latency counted from the time due.
Every request is built and signed before the phases and sent over keep-alive connections from a
process of its own (bench/loadgen.py); the board's reader has another.
Prints which mode ran and, each beside its target: reports per second (>= 200: the closed loop's
maximum, or the rate answered at `--rate`, with the backlog), webhook p50/p95/p99 (p95 <= 50 ms),
board delay p99 from a report's send (or due time) to its event on the socket (<= 1 s); the
server's CPU per request (uvicorn processes from /proc/<pid>/stat, plus the PostgreSQL backends
of the bench database) beside the floor's, measured in the same run: on a shared machine the
ratio and the CPU per report are the figures to judge, not the wall clock; and the load
generator's own CPU per request (clients, board reader, the bench process), taken from the same
2 cores.
"""

import argparse
import asyncio
import datetime
import json
import multiprocessing
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loadgen import LoadGenerator, Outcome, Prepared, form_post, http_request, json_post, pct, process_cpu  # noqa: E402
from serving import check_port_free, wait_until_healthy  # noqa: E402  (bench/, beside this file)

DISTRICTS = 24
TICK = os.sysconf("SC_CLK_TCK")
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


# --- CPU of the server's processes, from /proc -------------------------------------------------


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except OSError:
            continue
    return found


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU of one process (all its threads), None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14 and 15)


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo += _children(current)
    return pids


def _tree_cpu(pid: int) -> float:
    return sum(_cpu_seconds(p) or 0.0 for p in _tree(pid))


class Backends:
    """CPU of the PostgreSQL backends connected to one database, sampled from /proc while it runs.

    A backend's CPU counts from when it started; one that lives through the phase is measured
    exactly, one that comes and goes between two samples (a connection per request) is missed:
    then the figure is a lower bound and `gone` says how many were seen to go.
    """

    def __init__(self, postmaster: int | None, database: str):
        self.postmaster, self.database = postmaster, database
        self.base: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.gone = 0
        self.ours: dict[int, bool] = {}
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def _sample(self) -> dict[int, float]:
        if self.postmaster is None:
            return {}
        seen = {}
        children = _children(self.postmaster)
        # Whether a backend serves our database, read once per backend: the sampler's own CPU is taken
        # from the server's 2 cores, and the machine's other databases have backends of their own.
        self.ours = {pid: self.ours[pid] for pid in children if pid in self.ours}
        for pid in children:
            if pid not in self.ours:
                try:
                    title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                mine = f" {self.database} " in title
                # A backend just forked still shows the postmaster's command line: decided once it
                # shows "postgres: <cluster>: <user> <database> <host> <state>".
                if mine or (title.startswith("postgres: ") and len(title.split()) >= 5):
                    self.ours[pid] = mine
                else:
                    continue
            if self.ours[pid]:
                cpu = _cpu_seconds(pid)
                if cpu is not None:
                    seen[pid] = cpu
        return seen

    def start(self) -> None:
        self.base = self._sample()
        self.last = dict(self.base)
        self.gone = 0
        self.stop.clear()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        alive = set(self.last)
        # Every 0.1 s: with the pool the backends live through the phase and are measured exactly;
        # at 0.02 s the sampler took 0.4 ms of CPU a request, more than the clients.
        while not self.stop.wait(0.1):
            now = self._sample()
            self.gone += len(alive - set(now))
            alive = set(now)
            # A backend that went keeps its last sample (its CPU up to then).
            self.last = {**self.last, **now}

    def finish(self) -> float:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()
        self.last = {**self.last, **self._sample()}
        return sum(cpu - self.base.get(pid, 0.0) for pid, cpu in self.last.items())


class Meter:
    """Server CPU over one phase: the uvicorn processes and the bench database's backends."""

    def __init__(self, server_pid: int, backends: Backends):
        self.server_pid, self.backends = server_pid, backends

    def __enter__(self) -> "Meter":
        self.backends.start()
        self.t0 = _tree_cpu(self.server_pid)
        return self

    def __exit__(self, *exc) -> None:
        self.uvicorn = _tree_cpu(self.server_pid) - self.t0
        self.postgres = self.backends.finish()
        self.gone = self.backends.gone


# --- the election: built once, copied for every run --------------------------------------------


def _postgres_admin():
    import psycopg

    base = os.environ["DATABASE_URL"].rpartition("/")[0]
    return base, psycopg.connect(f"{base}/postgres", autocommit=True)


def _prepare_database(args) -> tuple[str, str, bool, object]:
    """DATABASE_URL of this run's fresh copy, its name, whether the election must be built, and a drop()."""
    built_name = f"{args.database_name}_t{args.tables}_p{args.places}"
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        (ROOT / "var").mkdir(exist_ok=True)
        run_file = ROOT / "var" / f"{args.database_name}.sqlite3"
        built_file = ROOT / "var" / f"{built_name}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{run_file}{suffix}").unlink(missing_ok=True)
        build = not (args.keep and built_file.exists())
        if not build:
            shutil.copyfile(built_file, run_file)

        def close() -> None:
            from django.db import connections

            connections.close_all()

        if build and args.keep:

            def keep_file() -> None:
                close()
                shutil.copyfile(run_file, built_file)

            args.keep_built = keep_file
        return f"sqlite:///{run_file}", run_file.name, build, close
    base, admin = _postgres_admin()
    exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [built_name]).fetchone()
    build = not (args.keep and exists)
    admin.execute(f"DROP DATABASE IF EXISTS {args.database_name}")
    if build:
        admin.execute(f"CREATE DATABASE {args.database_name}")
    else:
        admin.execute(f"CREATE DATABASE {args.database_name} TEMPLATE {built_name}")

    def drop() -> None:
        from django.db import connections

        connections.close_all()
        admin.execute(f"DROP DATABASE IF EXISTS {args.database_name}")
        admin.close()

    if build and args.keep:
        # Kept before any report is sent: `_keep_built` copies the built election as the template.
        def keep() -> None:
            from django.db import connections

            connections.close_all()
            admin.execute(f"DROP DATABASE IF EXISTS {built_name}")
            admin.execute(f"CREATE DATABASE {built_name} TEMPLATE {args.database_name}")

        args.keep_built = keep
    return f"{base}/{args.database_name}", args.database_name, build, drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=113_000)
    parser.add_argument("--places", type=int, default=17_000)
    parser.add_argument("--incidents", type=int, default=5_000)
    parser.add_argument(
        "--openings", type=int, default=0, help="tables that report opening, a random sample (default: every table)"
    )
    parser.add_argument("--api-share", type=float, default=0.3, help="share of openings sent through the API")
    parser.add_argument(
        "--concurrency", type=int, default=16, help="closed loop: connections sending at once (open loop: opened first)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0,
        help="open loop: requests per second on a fixed schedule (default: closed loop)",
    )
    parser.add_argument("--connections", type=int, default=256, help="open loop: most connections the clients open")
    parser.add_argument("--workers", type=int, default=0, help="uvicorn processes (default: 2 on Redis, else 1)")
    parser.add_argument(
        "--pool", type=int, default=8, help="DATABASE_POOL_MAX_SIZE per server process (0: a connection per request)"
    )
    parser.add_argument("--floor-requests", type=int, default=2000, help="requests of the floor phase")
    parser.add_argument("--database-name", default="bench_election_day", help="the run's database (or var/ file)")
    parser.add_argument("--keep", action="store_true", help="keep the built election and reuse it when kept")
    parser.add_argument("--port", type=int, default=0, help="the server's port (default: a free one)")
    args = parser.parse_args()
    args.keep_built = None
    workers = args.workers or (2 if os.environ.get("REDIS_URL") else 1)
    if workers > 1 and not os.environ.get("REDIS_URL"):
        raise SystemExit("--workers > 1 needs REDIS_URL: the in-memory channel layer does not cross processes")

    tmp = Path(tempfile.mkdtemp(prefix="bench_day_"))
    database_url, database_name, build, drop = _prepare_database(args)
    port = args.port or _free_port()
    env = {
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "false",
        "SMS_BACKEND": "local",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "ERROR",  # not a line per refused request of the floor
        "API_THROTTLE_USER": "100000/min",
        "MEDIA_ROOT": str(tmp / "media"),
    }
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    if build:
        _build(args.tables, args.places)
        took = time.perf_counter() - started
        print(f"setup: {args.tables:,} tables, {args.places:,} places, watchers in {took:.0f} s")
        if args.keep_built is not None:
            args.keep_built()
    else:
        print(f"setup: the kept election ({args.tables:,} tables, {args.places:,} places) copied")
        _analyze()  # a copy of an election kept before the builder analysed it has no statistics
    built = _load()

    from django.db import connection, connections

    postmaster = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend_pid = cursor.fetchone()[0]
        postmaster = _parent(backend_pid)
    connections.close_all()
    check_port_free(port)
    server = subprocess.Popen(
        [
            *[sys.executable, "-m", "uvicorn", "backend.asgi:application", "--host", "127.0.0.1"],
            *["--port", str(port), "--log-level", "warning", "--no-access-log", "--workers", str(workers)],
        ],
        cwd=ROOT,
        # The pool is the server's: this process's own connection must close, to drop the database.
        env={**os.environ, "DATABASE_POOL_MAX_SIZE": str(args.pool)},
    )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", server=server)
        _run(args, built, port, server.pid, Backends(postmaster, database_name), workers)
    finally:
        server.terminate()
        server.wait(timeout=20)
        connections.close_all()
        drop()


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def _build(tables: int, places: int) -> None:
    """The election (held today), the area tree, places, tables, one watcher per table with a user and
    a token, one fiscal general per school."""
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
    people = tables + places
    users = User.objects.bulk_create(
        [User(username=f"w{i}", role=Role.VOLUNTEER, password="!") for i in range(people)], batch_size=5000
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
            for i in range(people)
        ],
        batch_size=5000,
    )
    Assignment.objects.bulk_create(
        [
            *(
                Assignment(
                    election=election, volunteer=v, place=t.place, table=t, role="table", status="confirmed", slot=0
                )
                for v, t in zip(volunteers[:tables], table_rows, strict=True)
            ),
            *(
                Assignment(election=election, volunteer=v, place=p, role="place", status="confirmed", slot=0)
                for v, p in zip(volunteers[tables:], place_rows, strict=True)
            ),
        ],
        batch_size=5000,
    )
    Token.objects.bulk_create(
        [Token(key=uuid.uuid4().hex + uuid.uuid4().hex[:8], user=u) for u in users[:tables]], batch_size=5000
    )
    User.objects.create(username="bench-lead", role=Role.LEAD, password="!", is_superuser=True)
    _analyze()


def _analyze() -> None:
    """The planner's statistics, as autovacuum gathers them in production a minute after an import.

    Without them (a database just built, or copied from a template: the activity counters that wake
    autovacuum are not copied, so it never analyses the copy) PostgreSQL guesses, and the SMS
    keyword's read of the sender's assignments scanned the whole `status` index (130,000 entries at
    national size) beside the volunteer's: 9 ms a text, most of PostgreSQL's CPU a report.
    """
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _load() -> dict:
    """The built election's watchers (table, phone, API token) and a lead's session for the board."""
    from django.contrib.sessions.backends.db import SessionStore

    from backend.accounts.models import User
    from backend.assignments.models import Assignment
    from backend.elections.models import Election

    election = Election.objects.get(slug="bench-day")
    lead = User.objects.get(username="bench-lead")
    session = SessionStore()
    session["_auth_user_id"] = str(lead.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = lead.get_session_auth_hash()
    session.create()
    rows = (
        Assignment.objects.filter(election=election, role="table")
        .order_by("table_id")
        .values_list("table_id", "volunteer__phone", "volunteer__user__auth_token__key")
    )
    return {"election": election.pk, "session": session.session_key, "watchers": list(rows)}


class Board:
    """A lead's WebSocket on the board, in its own process: when each table's report event arrived.

    Its own process because in a thread it shared the GIL with the sixteen client threads (as the
    bench then ran them), and under their load it read frames seconds late: the delay measured was
    the bench's, not the server's. The clients now run in a process of their own too (bench/loadgen.py).
    Times are time.perf_counter() (CLOCK_MONOTONIC, the same clock in every process).
    """

    def __init__(self, url: str, session: str, origin: str):
        context = multiprocessing.get_context("fork")  # before the client threads start
        self.ready = context.Event()
        self.stop = context.Event()
        self.seen = context.Value("i", 0)
        self._results, child_end = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_board_listen, args=(url, session, origin, self.ready, self.stop, self.seen, child_end), daemon=True
        )
        self.arrived: dict[int, float] = {}
        # From the report's row (its `at`, stamped by the server) to the event on this socket.
        self.after_stored: list[float] = []
        self.incidents = 0

    def finish(self) -> None:
        """Stop listening and take what the listener saw."""
        self.stop.set()
        if self._results.poll(15):
            self.arrived, self.after_stored, self.incidents = self._results.recv()
        self.process.join(5)


def _board_listen(url, session, origin, ready, stop, seen, results) -> None:
    arrived: dict[int, float] = {}
    after_stored: list[float] = []
    incidents = 0

    async def listen() -> None:
        nonlocal incidents
        import websockets

        headers = {"Cookie": f"sessionid={session}", "Origin": origin}
        async with websockets.connect(url, additional_headers=headers, max_queue=None) as ws:
            ready.set()
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
                except TimeoutError:
                    continue
                except websockets.ConnectionClosed:
                    return
                now, wall = time.perf_counter(), time.time()
                event = json.loads(raw)
                if event.get("type") == "table_report":
                    if event["table_id"] not in arrived:
                        after_stored.append(wall - datetime.datetime.fromisoformat(event["at"]).timestamp())
                        arrived[event["table_id"]] = now
                        seen.value = len(arrived)
                elif event.get("type") == "incident":
                    incidents += 1

    try:
        asyncio.run(listen())
    finally:
        results.send((arrived, after_stored, incidents))


def _run(args, built: dict, port: int, server_pid: int, backends: Backends, workers: int) -> None:
    from django.conf import settings
    from twilio.request_validator import RequestValidator

    base = f"http://127.0.0.1:{port}"
    host = f"127.0.0.1:{port}"
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    wrong = RequestValidator(settings.TWILIO_AUTH_TOKEN + "-not")
    sms_path = "/sms/inbound/"

    def sms(kind: str, phone: str, body: str) -> Prepared:
        params = {
            "MessageSid": f"SM{uuid.uuid4().hex}",
            "AccountSid": "AC00000000000000000000000000000000",
            "From": phone,
            "To": "+15005550006",
            "Body": body,
            "NumMedia": "0",
        }
        signature = (wrong if kind == "floor" else validator).compute_signature(base + sms_path, params)
        raw = form_post(sms_path, params, host=host, headers={"X-Twilio-Signature": signature})
        return Prepared(kind, raw, 403 if kind == "floor" else 200)

    def api(table_id: int, token: str) -> Prepared:
        path = f"/api/tables/{table_id}/reports/"
        return Prepared(
            "api", json_post(path, {"state": "open"}, host=host, headers={"Authorization": f"Token {token}"})
        )

    # Every request built and signed before the measured phases: the client only writes bytes.
    rng = random.Random(2027)
    watchers = built["watchers"]
    if args.openings and args.openings < len(watchers):
        # A sample of the tables opens: the whole election's database, a run that fits the machine.
        watchers = rng.sample(watchers, args.openings)
    jobs: list[tuple[int | None, Prepared]] = []
    for table_id, phone, token in watchers:
        jobs.append((table_id, api(table_id, token) if rng.random() < args.api_share else sms("sms", phone, "ABRIO")))
    for i in range(args.incidents):
        _table_id, phone, _token = built["watchers"][rng.randrange(len(built["watchers"]))]
        jobs.append((None, sms("incident", phone, f"PROBLEMA {PROBLEMS[i % len(PROBLEMS)]}")))
    rng.shuffle(jobs)
    floor_jobs = [sms("floor", phone, "ABRIO") for _t, phone, _token in built["watchers"][: args.floor_requests]]

    # Warm both workers first (imports, compiled queries, the pool's connections), as a server is warm by
    # the time the tables open: without it an open loop's first seconds pile up behind a cold server.
    warm = [sms("warm", phone, "AYUDA") for _t, phone, _token in built["watchers"][:50]]
    warm += [
        Prepared("warm", http_request("GET", "/api/me/", host=host, headers={"Authorization": f"Token {token}"}))
        for _t, _phone, token in built["watchers"][:50]
    ]
    warm_gen = LoadGenerator("127.0.0.1", port, warm, concurrency=args.concurrency)
    warm_gen.go()
    warmed = warm_gen.result()
    if warmed.errors:
        print(f"warm-up errors: {len(warmed.errors)}; first: {warmed.errors[0]}")

    # The floor: the same clients, closed loop, refused after the signature check (no database).
    floor_gen = LoadGenerator("127.0.0.1", port, floor_jobs, concurrency=args.concurrency)
    with Meter(server_pid, backends) as floor_cpu:
        floor_gen.go()
        floor = floor_gen.result()
    floor_load = os.getloadavg()

    # Forked before the run's generator: neither shares a GIL with the other, nor with this process.
    board = Board(f"ws://127.0.0.1:{port}/ws/board/{built['election']}/", built["session"], base)
    board.process.start()
    if not board.ready.wait(15):
        raise SystemExit("the board's WebSocket did not connect")
    generator = LoadGenerator(
        "127.0.0.1",
        port,
        [job for _table, job in jobs],
        concurrency=args.concurrency,
        rate=args.rate or None,
        connections=args.connections,
        healthz_every=0.05,
    )
    own0, board0 = process_cpu(os.getpid()) or 0.0, process_cpu(board.process.pid) or 0.0
    with Meter(server_pid, backends) as cpu:
        generator.go()
        run = generator.result()
        # The board's last events (and the CPU of sending them) belong to the run.
        deadline = time.perf_counter() + 10
        while board.seen.value < len(watchers) and time.perf_counter() < deadline:
            time.sleep(0.1)
    own_cpu = (process_cpu(os.getpid()) or 0.0) - own0
    board_cpu = (process_cpu(board.process.pid) or 0.0) - board0
    board.finish()
    _report(args, workers, watchers, jobs, run, floor, cpu, floor_cpu, floor_load, board, own_cpu, board_cpu)


def _report(
    args, workers, watchers, jobs, run: Outcome, floor: Outcome, cpu, floor_cpu, floor_load, board, own_cpu, board_cpu
):
    # From the time each report was due (open loop) or sent (closed loop) to its event on the socket.
    sent_at = {table: due for (table, _job), due in zip(jobs, run.due, strict=True) if table is not None}
    delays = [board.arrived[t] - sent_at[t] for t in sent_at if t in board.arrived]
    webhook = run.latencies("sms") + run.latencies("incident")
    reports = len(watchers)
    requests_sent = len(jobs)
    ms = 1000
    load = os.getloadavg()
    profile = "PostgreSQL" if os.environ["DATABASE_URL"].startswith("postgres") else "SQLite"
    layer = "Redis" if os.environ.get("REDIS_URL") else "in-memory"
    print(
        f"profile: {profile} + {layer} channel layer, {workers} uvicorn worker(s), pool {args.pool}; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (after the floor: {floor_load[0]:.2f})"
    )
    print(f"mode: {run.describe()}")
    n_sms, n_api, n_incidents = (run.kinds.count(k) for k in ("sms", "api", "incident"))
    print(f"sent: {reports:,} openings ({n_sms:,} SMS, {n_api:,} API)")
    print(f"      + {n_incidents:,} incidents by SMS, in {run.elapsed:.1f} s")
    rate = run.achieved()
    target = 200
    if run.rate is None:
        print(
            f"reports/s sustained (closed-loop maximum): {rate:8.1f}   target >= {target}   "
            f"{'OK' if rate >= target else 'BELOW'}"
        )
    else:
        # From the first request due to the last answer; kept up: within 5 % of the rate (the last latency).
        kept_up = run.kept_up()
        print(
            f"reports/s answered at --rate {run.rate:g}: {rate:8.1f} ({rate / run.rate:.1%} of the rate asked, "
            f"{'kept up: within 5 %' if kept_up else 'fell behind: more than 5 % under'})   target >= {target}   "
            f"{'OK' if kept_up and run.rate >= target else 'BELOW'}"
        )
        late = run.lateness()
        print(
            f"backlog: at the end of the schedule {run.backlog_at_end:,} due and not yet sent, "
            f"{run.unanswered_at_end:,} not yet answered; at most {run.max_backlog:,} waiting for a connection; "
            f"{run.connections:,} connections opened; due -> written ms p50/p99: "
            f"{pct(late, 0.5) * ms:.1f} / {pct(late, 0.99) * ms:.1f}"
        )
    since = "due" if run.rate else "sent"
    p95 = pct(webhook, 0.95) * ms
    print(
        f"webhook ms from {since} p50/p95/p99: {pct(webhook, 0.5) * ms:.1f} / {p95:.1f} / {pct(webhook, 0.99) * ms:.1f}"
        f"   target p95 <= 50   {'OK' if p95 <= 50 else 'ABOVE'}"
    )
    api = run.latencies("api")
    print(
        f"API ms from {since} p50/p95/p99:     {pct(api, 0.5) * ms:.1f} / {pct(api, 0.95) * ms:.1f} / "
        f"{pct(api, 0.99) * ms:.1f}"
    )
    refused = floor.latencies()
    floor_p95 = pct(refused, 0.95) * ms
    print(
        f"floor (signed webhook refused at the signature, {len(refused):,} requests, closed loop, "
        f"{args.concurrency} connections) ms p50/p95: {pct(refused, 0.5) * ms:.1f} / {floor_p95:.1f}"
        + (f"; webhook p95 / floor p95: {p95 / floor_p95:.1f}x" if run.rate is None else "")
    )
    hz = run.healthz
    print(f"GET /healthz during the run ms p50/p95: {pct(hz, 0.5) * ms:.1f} / {pct(hz, 0.95) * ms:.1f}")
    board_p99 = pct(delays, 0.99)
    print(
        f"board delay s from {since} p50/p99: {pct(delays, 0.5):.3f} / {board_p99:.3f} "
        f"({len(delays):,} of {len(sent_at):,} seen)   target p99 <= 1   {'OK' if board_p99 <= 1 else 'ABOVE'}"
    )
    stored = board.after_stored
    print(
        f"  of which from the stored report to the socket s p50/p95/p99: {pct(stored, 0.5):.3f} / "
        f"{pct(stored, 0.95):.3f} / {pct(stored, 0.99):.3f}"
    )
    print(f"incident events on the board: {board.incidents:,}")
    per = ms / requests_sent
    floor_per = ms / max(1, len(refused))
    total = (cpu.uvicorn + cpu.postgres) * per
    floor_total = max((floor_cpu.uvicorn + floor_cpu.postgres) * floor_per, 1e-9)
    lower = f" (lower bound: {cpu.gone:,} backends came and went)" if cpu.gone else ""
    print(
        f"server CPU ms per report: uvicorn {cpu.uvicorn * per:.2f} + postgres {cpu.postgres * per:.2f}{lower}"
        f" = {total:.2f}   target <= 10 (200/s on 2 cores)   {'OK' if total <= 10 else 'ABOVE'}"
    )
    print(
        f"floor CPU ms per request: uvicorn {floor_cpu.uvicorn * floor_per:.2f} + postgres "
        f"{floor_cpu.postgres * floor_per:.2f} = {floor_total:.2f}; report / floor: {total / floor_total:.1f}x"
    )
    bench = run.client_cpu + board_cpu + own_cpu
    print(
        f"load generator CPU ms per report: clients {run.client_cpu * per:.2f} (their own process, /healthz poller "
        f"included) + board reader {board_cpu * per:.2f} + bench process {own_cpu * per:.2f} (its /proc sampler) "
        f"= {bench * per:.2f}, beside the server's {total:.2f} (floor's clients: "
        f"{floor.client_cpu * floor_per:.2f} a request)"
    )
    errors = run.errors + floor.errors
    if errors:
        print(f"errors (answers not of the status expected): {run.failed + floor.failed:,}; first: {errors[0]}")


if __name__ == "__main__":
    main()
