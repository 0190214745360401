"""Count benchmark: result sheets through the API and the signed SMS webhook (mixed, concurrent,
through uvicorn with 2 workers as in production), the official results import with 2 % differing,
the quick count and the discrepancies, on a national-size election.

    python bench/count.py [--tables 113000] [--categories 4] [--lists 10] [--submit 2000] [--clients 4]
                          [--rate R] [--connections 256]
                          [--keep] [--db-name bench_count] [--port 8890] [--sample 20] [--profile] [--by-door]

`--submit` tables get every category's sheet through the HTTP doors (half API, half SMS); the other
tables' sheets are bulk-written first (setup, not measured), so that sheets arrive at a database of
national size and the quick count and the discrepancies run at full size. `--submit 0` means every
table. Uses DATABASE_URL (PostgreSQL: a `--db-name` database beside it) or a SQLite file.

The sheets are built, encoded and signed before the measured phase and sent over keep-alive
connections from a process of its own (bench/loadgen.py): by default a closed loop of `--clients`
connections (the maximum rate), with `--rate R` an open loop (one sheet due every 1/R s whatever
the answers, latency counted from the time due, the backlog printed).

Figures, each beside its floor and target:
- server CPU per sheet: user+system time of the uvicorn processes and of the run database's
  PostgreSQL backends (from /proc), printed apart and summed, over the sheets, beside the same
  figure for `GET /healthz` sent by the same clients (the floor: a request that takes a pooled
  connection and runs `SELECT 1`); 300 sheets/s on 2 cores is ~6.7 ms of CPU a sheet, both counted;
- the load generator's own CPU per sheet (its client process and this process), from the same cores;
- SQL queries per sheet through each door, counted in-process (Django's test client, the same
  middleware and views) on `--sample` tables per door before the HTTP run; `--profile` prints
  cProfile's top functions for that sample;
- sheets per second: the closed loop's maximum, or the rate answered at `--rate` with its backlog
  (wall clock: meaningless under load, the CPU figure is the one to read);
- quick count p95 (whole country, one district), official import, discrepancies listed.

`--keep` leaves the database in place and reuses it on the next run with the same sizes: the
sheets sent through the doors and the official sheets of the last run are deleted, the rest kept.
"""

import argparse
import cProfile
import io
import os
import pstats
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from databases import fresh_database  # noqa: E402
from election_day import Backends, _parent  # noqa: E402
from loadgen import LoadGenerator, Outcome, Prepared, form_post, http_request, json_post, pct  # noqa: E402
from serving import check_port_free, wait_until_healthy  # noqa: E402

TARGET_RATE, TARGET_QUICK_MS, TARGET_DISCREPANCIES_S = 300.0, 200.0, 5.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    """`pid` and every process below it (uvicorn's supervisor and its workers)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    queue.extend(int(c) for c in handle.read().split())
        except OSError:
            continue
    return found


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of `pids` so far (seconds), from /proc/<pid>/stat."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / CLOCK_TICKS


def _load() -> str:
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 2 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=113_000)
    parser.add_argument("--categories", type=int, default=4)
    parser.add_argument("--lists", type=int, default=10)
    parser.add_argument("--districts", type=int, default=24)
    parser.add_argument("--submit", type=int, default=2_000, help="tables sent through the HTTP doors (0: all)")
    parser.add_argument(
        "--clients", type=int, default=4, help="closed loop: connections sending at once (open loop: opened first)"
    )
    parser.add_argument(
        "--rate", type=float, default=0, help="open loop: sheets a second on a fixed schedule (default: closed loop)"
    )
    parser.add_argument("--connections", type=int, default=256, help="open loop: most connections the clients open")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (production: 2)")
    parser.add_argument("--repeat", type=int, default=30, help="quick-count queries timed")
    parser.add_argument("--differ", type=float, default=0.02, help="share of official sheets that differ")
    parser.add_argument("--sample", type=int, default=20, help="tables per door whose queries are counted in-process")
    parser.add_argument("--profile", action="store_true", help="cProfile the in-process sample")
    parser.add_argument("--keep", action="store_true", help="keep the database and reuse it next time")
    parser.add_argument("--db-name", default="bench_count", help="PostgreSQL database (or SQLite file) name")
    parser.add_argument("--port", type=int, default=0, help="uvicorn's port (default: a free one)")
    parser.add_argument("--spy", metavar="DIR", help="py-spy record each uvicorn worker during the sheets (raw stacks)")
    parser.add_argument("--skip-official", action="store_true", help="stop after the sheets and the quick count")
    parser.add_argument("--by-door", action="store_true", help="the API's sheets, then the SMS's: CPU a sheet per door")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_count_"))
    if args.keep:
        database_url, drop = _kept_database(args.db_name)
    else:
        database_url, drop = fresh_database(tmp, name=args.db_name)
    port = args.port or _free_port()
    env = {
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "false",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
        "API_THROTTLE_USER": "10000000/min",  # one script token sends everything; throttling is not measured
        "SMS_BACKEND": "local",
        # Under uvicorn every request runs in its own thread; persistent connections would pile up.
        "DATABASE_CONN_MAX_AGE": "0",
        # The national long CSV has ~6 million rows (113k tables x 4 categories x 14): above the upload budget.
        "IMPORT_MAX_ROWS": "20000000",
        "IMPORT_MAX_FILE_BYTES": str(2 * 1024**3),
        "IMPORT_MAX_UNCOMPRESSED_BYTES": str(2 * 1024**3),
        "IMPORT_MAX_CELLS": "200000000",
        "IMPORT_MAX_TEXT_BYTES": str(2 * 1024**3),
        "MEDIA_ROOT": str(tmp / "media"),
    }
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    try:
        _run(args, env, port)
    finally:
        drop()


def _kept_database(name: str):
    """DATABASE_URL of `name` beside DATABASE_URL's PostgreSQL database (created if missing, never
    dropped), or var/<name>.sqlite3."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        (ROOT / "var").mkdir(exist_ok=True)
        return f"sqlite:///{ROOT / 'var' / (name + '.sqlite3')}", lambda: None
    import psycopg

    base, _, _current = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            admin.execute(f"CREATE DATABASE {name}")
    return f"{base}/{name}", lambda: None


def _reuse(args):
    """The election a previous `--keep` run built, if its sizes match: the sheets sent through the
    doors and the official sheets of that run are deleted (the bulk-written ones stay)."""
    from django.db import connection

    from backend.accounts.models import User
    from backend.count.models import Category, ResultSheet, SheetEvent
    from backend.count.tallies import tally_rebuild
    from backend.elections.models import Election, Table
    from backend.messaging.models import InboundMessage, OutboundMessage
    from backend.volunteers.models import Volunteer

    election = Election.objects.filter(slug="bench-count").first()
    if election is None:
        return None
    submit = args.tables if args.submit <= 0 else min(args.submit, args.tables)
    watchers = submit + 2 * args.sample
    categories = list(Category.objects.filter(election=election).order_by("position"))
    if (
        Table.objects.filter(election=election).count() != args.tables
        or len(categories) != args.categories
        or Volunteer.objects.count() != min(watchers, args.tables)
    ):
        raise SystemExit(f"--keep: the kept database {args.db_name} was built with other sizes; drop it first")
    started = time.perf_counter()
    doors = ResultSheet.objects.filter(election=election).exclude(source="api", actor__isnull=True)
    SheetEvent.objects.filter(sheet__in=doors).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM count_resultsheet WHERE election_id = %s AND (official OR actor_id IS NOT NULL)",
            [election.pk],
        )
    InboundMessage.objects.all().delete()
    OutboundMessage.objects.all().delete()
    tally_rebuild(election_id=election.pk)
    tables = list(Table.objects.filter(election=election).order_by("number")[:watchers])
    volunteers = list(Volunteer.objects.order_by("dni")[:watchers])
    lead = User.objects.get(username="bench-lead")
    print(
        f"reused the kept database {args.db_name}: last run's sheets removed in {time.perf_counter() - started:.1f} s"
    )
    return election, categories, tables, volunteers, lead


def _build(args):
    """Election, districts > sections > places > tables, the ballot, watchers with phones (bulk: setup)."""
    import datetime

    from django.contrib.auth.hashers import make_password

    from backend.accounts.models import Role, User
    from backend.assignments.models import Assignment
    from backend.count.models import BallotList, Category
    from backend.elections.models import Area, Election, PollingPlace, Table
    from backend.volunteers.models import Volunteer

    started = time.perf_counter()
    election = Election.objects.create(slug="bench-count", name="Bench", date=datetime.date(2027, 10, 24))
    districts = [
        Area.objects.create(election=election, kind="distrito", code=f"{d + 1:02d}", name=f"Distrito {d + 1}")
        for d in range(args.districts)
    ]
    sections = [
        Area.objects.create(election=election, parent=d, kind="seccion", code=f"{s + 1:03d}", name=f"Sección {s + 1}")
        for d in districts
        for s in range(5)
    ]
    per_place = 7
    places = PollingPlace.objects.bulk_create(
        [
            PollingPlace(election=election, area=sections[i % len(sections)], code=f"P{i}", name=f"Escuela {i}")
            for i in range(-(-args.tables // per_place))
        ],
        batch_size=5000,
    )
    place_district = {p.pk: p.area.parent_id for p in places}
    Table.objects.bulk_create(
        [
            Table(
                election=election,
                place=places[i // per_place],
                district_id=place_district[places[i // per_place].pk],
                number=i + 1,
                electors=350,
            )
            for i in range(args.tables)
        ],
        batch_size=5000,
    )
    categories = [
        Category.objects.create(election=election, code=f"C{c + 1}", name=f"Categoría {c + 1}", position=c)
        for c in range(args.categories)
    ]
    for category in categories:
        BallotList.objects.bulk_create(
            [BallotList(category=category, name=f"Lista {n + 1}", position=n, ours=(n == 0)) for n in range(args.lists)]
        )
    submit = args.tables if args.submit <= 0 else min(args.submit, args.tables)
    # The first 2 x --sample tables are sent in-process (queries counted), the rest through uvicorn.
    tables = list(Table.objects.filter(election=election).order_by("number")[: submit + 2 * args.sample])
    volunteers = Volunteer.objects.bulk_create(
        [
            Volunteer(
                dni=str(20_000_000 + i),
                first_name="Fiscal",
                last_name=str(i),
                phone=f"+54935{10_000_000 + i:08d}",
                phone_verified=True,
            )
            for i in range(len(tables))
        ],
        batch_size=5000,
    )
    users = User.objects.bulk_create(
        [User(username=f"w{i}", role=Role.VOLUNTEER, password=make_password(None)) for i in range(len(tables))],
        batch_size=5000,
    )
    for volunteer, user in zip(volunteers, users, strict=True):
        volunteer.user = user
    Volunteer.objects.bulk_update(volunteers, ["user"], batch_size=5000)
    Assignment.objects.bulk_create(
        [
            Assignment(election=election, volunteer=v, place_id=t.place_id, table=t, role="table", status="checked_in")
            for v, t in zip(volunteers, tables, strict=True)
        ],
        batch_size=5000,
    )
    lead = User.objects.create(username="bench-lead", role=Role.LEAD, password=make_password(None))
    print(
        f"setup: {args.tables:,} tables in {len(places):,} places, {args.districts} districts, "
        f"{args.categories} categories x {args.lists} lists, {len(tables):,} watchers: "
        f"{time.perf_counter() - started:.1f} s"
    )
    return election, categories, tables, volunteers, lead


def _figures(rng: random.Random, lists: int) -> tuple[list[int], int, int, int, int, int]:
    votes = [rng.randint(0, 30) for _ in range(lists)]  # at most 315 of the 350 electors
    blank, null, contested, challenged = rng.randint(0, 8), rng.randint(0, 5), rng.randint(0, 2), 0
    return votes, blank, null, contested, challenged, sum(votes) + blank + null + contested + challenged


def _table_figures(rng: random.Random, lists: int, categories: int) -> list[tuple[list[int], int, int, int, int, int]]:
    """One table's sheets, one per category: the same voters in every category (as on a real table,
    where a check flags a sheet whose voters differ from the table's other categories)."""
    first = _figures(rng, lists)
    sheets = [first]
    for _ in range(categories - 1):
        votes = list(first[0])
        rng.shuffle(votes)
        sheets.append((votes, *first[1:]))
    return sheets


def _serve(env: dict, port: int, workers: int):
    check_port_free(port)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "backend.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        # The connection pool as in production (docker-compose.yml): without it every request opened
        # a PostgreSQL connection, most of GET /healthz's CPU (bench/fixed_cost.py --pool 0).
        env={**os.environ, **env, "DATABASE_POOL_MAX_SIZE": "8"},
    )
    try:
        # A worker's start (imports) takes a minute or more under load.
        wait_until_healthy(f"http://127.0.0.1:{port}", server=server, seconds=600)
    except SystemExit:
        server.terminate()
        raise
    return server


class Doors:
    """Builds the two doors' requests: the API's JSON and Twilio's signed form."""

    def __init__(self, args, categories, lead, base_url: str):
        from django.conf import settings
        from rest_framework.authtoken.models import Token
        from twilio.request_validator import RequestValidator

        from backend.count.models import BallotList

        self.token = Token.objects.get_or_create(user=lead)[0].key
        self.list_ids = {
            c.pk: list(BallotList.objects.filter(category=c).order_by("position").values_list("pk", flat=True))
            for c in categories
        }
        self.validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
        self.account = settings.TWILIO_ACCOUNT_SID
        self.base_url = base_url

    def api(self, table, category, figures) -> tuple[str, dict]:
        votes, blank, null, contested, challenged, voters = figures
        return f"/api/tables/{table.pk}/sheets/", {
            "category": category.code,
            "votes": {str(k): v for k, v in zip(self.list_ids[category.pk], votes, strict=True)},
            "blank": blank,
            "null": null,
            "contested": contested,
            "challenged": challenged,
            "voters": voters,
        }

    def sms(self, table, volunteer, category, figures) -> tuple[str, dict, str]:
        votes, blank, null, contested, challenged, voters = figures
        numbers = " ".join(map(str, votes))
        body = (
            f"ACTA {table.number} {category.code} {numbers} B {blank} N {null} R {contested} I {challenged} V {voters}"
        )
        return self.text(volunteer, body)

    def text(self, volunteer, body: str) -> tuple[str, dict, str]:
        params = {
            "MessageSid": f"SM{uuid.uuid4().hex}",
            "AccountSid": self.account,
            "From": volunteer.phone,
            "To": "+15005550006",
            "Body": body,
            "NumMedia": "0",
        }
        path = "/sms/inbound/"
        return path, params, self.validator.compute_signature(self.base_url + path, params)


def _sample(args, doors: Doors, categories, tables, volunteers) -> None:
    """Queries and in-process CPU per sheet through each door (Django's test client: the same
    middleware, views and services as under uvicorn, without the HTTP server)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    rng = random.Random(3)
    client = Client(HTTP_HOST="127.0.0.1")
    # CPU time, not wall clock: under load the wall clock mostly measures waiting for a core.
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    for door in ("api", "sms"):
        offset = 0 if door == "api" else args.sample
        queries: list[int] = []
        statuses: dict[int, int] = {}
        samples: dict[int, list[str]] = {}
        cpu = 0.0
        for table, volunteer in zip(
            tables[offset : offset + args.sample], volunteers[offset : offset + args.sample], strict=True
        ):
            for category, figures in zip(categories, _table_figures(rng, args.lists, len(categories)), strict=True):
                started = time.process_time()
                if profiler is not None:
                    profiler.enable()
                with CaptureQueriesContext(connection) as captured:
                    if door == "api":
                        path, payload = doors.api(table, category, figures)
                        response = client.post(
                            path, payload, content_type="application/json", HTTP_AUTHORIZATION=f"Token {doors.token}"
                        )
                    else:
                        path, params, signature = doors.sms(table, volunteer, category, figures)
                        response = client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)
                if profiler is not None:
                    profiler.disable()
                cpu += time.process_time() - started
                queries.append(len(captured.captured_queries))
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                samples.setdefault(len(captured.captured_queries), [q["sql"] for q in captured.captured_queries])
        n = len(queries)
        print(
            f"in-process {door}: {n} sheets, queries per sheet p50 {statistics.median(queries):.0f} "
            f"(min {min(queries)}, max {max(queries)}), CPU {1000 * cpu / n:.2f} ms a sheet "
            f"(bench process: client + server); statuses {statuses}"
        )
        if args.profile:
            typical = samples[int(statistics.median_low(queries))]
            for sql in typical:
                print(f"    {sql[:160]}")
    if profiler is not None:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(25)


def _settle(pid: int, workers: int, url: str) -> list[int]:
    """Wait until every worker has started (imports done, first requests answered) and is idle, so
    that no start-up CPU is counted; returns the server's processes."""
    import requests

    pids = _descendants(pid)
    for _ in range(300):
        pids = _descendants(pid)
        if len(pids) > workers:
            break
        time.sleep(0.2)
    session = requests.Session()
    quiet = 0
    for _ in range(240):
        for _request in range(4 * workers):  # each worker's first requests import the URLconf
            session.get(url, timeout=30)
        before = _cpu_seconds(pids)
        time.sleep(1.0)
        quiet = quiet + 1 if _cpu_seconds(pids) - before < 0.05 else 0
        if quiet >= 2:
            break
    return _descendants(pid)


def _spy(directory: str, pids: list[int]) -> list[subprocess.Popen]:
    """py-spy (in this venv: `pip install py-spy`) sampling each worker's busy threads at 100 Hz."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    spy = Path(sys.executable).with_name("py-spy")
    return [
        subprocess.Popen(
            [
                str(spy),
                "record",
                "-p",
                str(pid),
                "-f",
                "raw",
                "-r",
                "100",
                "--nonblocking",
                "-o",
                f"{directory}/{pid}.txt",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in pids
    ]


def _sheet_statuses() -> dict:
    """How the sheets sent through the doors were stored (accepted, flagged...)."""
    from django.db.models import Count

    from backend.count.models import ResultSheet

    rows = ResultSheet.objects.filter(actor__isnull=False).values_list("status").annotate(n=Count("id"))
    return dict(rows.order_by("status"))


def _backends(args) -> Backends:
    """The PostgreSQL backends of this run's database, whose CPU counts in the CPU a sheet (none on SQLite)."""
    from django.db import connection

    postmaster = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            postmaster = _parent(cursor.fetchone()[0])
    return Backends(postmaster, args.db_name)


def _submit(args, env, port, doors: Doors, categories, tables, volunteers) -> None:
    from django.db import connections

    host = f"127.0.0.1:{port}"
    # Every sheet built, encoded and signed before the measured phase: the clients only write bytes.
    jobs: list[tuple[bool, Prepared]] = []
    rng = random.Random(7)
    for i, (table, volunteer) in enumerate(zip(tables, volunteers, strict=True)):
        for category, figures in zip(categories, _table_figures(rng, args.lists, len(categories)), strict=True):
            if i % 2 == 0:
                path, payload = doors.api(table, category, figures)
                headers = {"Authorization": f"Token {doors.token}"}
                jobs.append((True, Prepared("api", json_post(path, payload, host=host, headers=headers), 201)))
            else:
                path, params, signature = doors.sms(table, volunteer, category, figures)
                raw = form_post(path, params, host=host, headers={"X-Twilio-Signature": signature})
                jobs.append((False, Prepared("sms", raw, 200)))
    backends = _backends(args)
    connections.close_all()
    server = _serve(env, port, args.workers)
    try:
        pids = _settle(server.pid, args.workers, f"http://{host}/healthz")

        def run(prepared: list[Prepared], rate: float | None) -> tuple[Outcome, float, float]:
            """One phase: what the clients saw, uvicorn's CPU and the database's backends' CPU (seconds)."""
            generator = LoadGenerator(
                "127.0.0.1", port, prepared, concurrency=args.clients, rate=rate, connections=args.connections
            )
            backends.start()
            before = _cpu_seconds(pids)
            generator.go()
            outcome = generator.result()
            uvicorn = _cpu_seconds(pids) - before
            return outcome, uvicorn, backends.finish()

        # Warm both workers (the doors' code paths, compiled queries, the pool's connections), as a server is
        # warm when the sheets arrive: without it an open loop's first seconds pile up behind a cold server.
        lead = {"Authorization": f"Token {doors.token}"}
        warm = [Prepared("warm", http_request("GET", "/api/me/", host=host, headers=lead)) for _ in range(50)]
        for volunteer in volunteers[:50]:
            path, params, signature = doors.text(volunteer, "AYUDA")
            warm.append(Prepared("warm", form_post(path, params, host=host, headers={"X-Twilio-Signature": signature})))
        warmed = run(warm, None)[0]
        if warmed.errors:
            print(f"warm-up errors: {len(warmed.errors)}; first: {warmed.errors[0]}")
        floor_n = max(200, min(1000, len(jobs) // 4))
        healthz = http_request("GET", "/healthz", host=host)
        floor, floor_uvicorn, floor_pg = run([Prepared("healthz", healthz)] * floor_n, None)
        spies = _spy(args.spy, pids[1:]) if args.spy else []
        load_before = _load()
        own_before = _cpu_seconds([os.getpid()])
        by_door = []
        if args.by_door:
            outcomes, uvicorn, postgres = [], 0.0, 0.0
            for door, by_api in (("API", True), ("SMS", False)):
                door_jobs = [job for api, job in jobs if api == by_api]
                outcome, door_uvicorn, door_pg = run(door_jobs, args.rate or None)
                outcomes.append(outcome)
                uvicorn, postgres = uvicorn + door_uvicorn, postgres + door_pg
                n = len(door_jobs)
                by_door.append(
                    f"{door} {1000 * (door_uvicorn + door_pg) / n:.2f} ms (uvicorn {1000 * door_uvicorn / n:.2f} + "
                    f"PostgreSQL {1000 * door_pg / n:.2f}; {n:,} sheets)"
                )
        else:
            outcome, uvicorn, postgres = run([job for _api, job in jobs], args.rate or None)
            outcomes = [outcome]
        own_cpu = _cpu_seconds([os.getpid()]) - own_before
        load_after = _load()
        for spy in spies:
            spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            spy.wait(timeout=60)
    finally:
        server.terminate()
        server.wait(timeout=20)
    _report_sheets(args, jobs, outcomes, uvicorn, postgres, floor, floor_uvicorn, floor_pg, own_cpu, by_door)
    print(f"  {load_before} -> {load_after}")


def _report_sheets(args, jobs, outcomes, uvicorn, postgres, floor, floor_uvicorn, floor_pg, own_cpu, by_door) -> None:
    n, floor_n = len(jobs), len(floor.kinds)
    print(f"mode: {outcomes[0].describe()}" + (" (the API's sheets, then the SMS's)" if args.by_door else ""))
    if by_door:
        print(f"server CPU per sheet by door (one door after the other): {', '.join(by_door)}")
    per_sheet_ms = 1000 * (uvicorn + postgres) / n
    floor_ms = 1000 * (floor_uvicorn + floor_pg) / floor_n
    budget_ms = 1000 * 2 / TARGET_RATE  # two cores' CPU seconds per second over the target rate
    print(
        f"server CPU per sheet ({args.workers} uvicorn workers, {n:,} sheets, half API, half signed SMS): "
        f"{per_sheet_ms:.2f} ms = uvicorn {1000 * uvicorn / n:.2f} + PostgreSQL {1000 * postgres / n:.2f} "
        f"(the run database's backends); floor (GET /healthz, {floor_n} requests) {floor_ms:.2f} ms "
        f"(uvicorn {1000 * floor_uvicorn / floor_n:.2f} + PostgreSQL {1000 * floor_pg / floor_n:.2f}), "
        f"ratio {per_sheet_ms / floor_ms:.1f}x; budget for {TARGET_RATE:.0f} sheets/s on 2 cores "
        f"{budget_ms:.2f} ms (ratio {per_sheet_ms / budget_ms:.2f}, {'OK' if per_sheet_ms <= budget_ms else 'ABOVE'})"
    )
    clients = sum(o.client_cpu for o in outcomes)
    print(
        f"load generator CPU per sheet: clients {1000 * clients / n:.3f} ms (their own process) + bench process "
        f"{1000 * own_cpu / n:.3f} ms (forking the clients, its /proc sampler), "
        f"beside the server's {per_sheet_ms:.2f} ms; "
        f"floor's clients {1000 * floor.client_cpu / floor_n:.3f} ms a request"
    )
    latencies = [x * 1000 for o in outcomes for x in o.latencies()]
    since = "due" if args.rate else "sent"
    statuses: dict[str, int] = {}
    for o in outcomes:
        for kind, code in zip(o.kinds, o.status, strict=True):
            statuses[f"{kind} {code}"] = statuses.get(f"{kind} {code}", 0) + 1
    if args.rate:
        # From the first sheet due to the last answer; kept up: within 5 % of the rate (the last latency).
        rate = min(o.achieved() for o in outcomes)
        kept_up = all(o.kept_up() for o in outcomes)
        print(
            f"sheets answered at --rate {args.rate:g}: {rate:.0f} sheets/s ({rate / args.rate:.1%} of the rate asked, "
            f"{'kept up: within 5 %' if kept_up else 'fell behind: more than 5 % under'}; target >= {TARGET_RATE:.0f}, "
            f"{'OK' if kept_up and args.rate >= TARGET_RATE else 'BELOW'}); backlog at the end of the schedule: "
            f"{sum(o.backlog_at_end for o in outcomes):,} due and not yet sent, "
            f"{sum(o.unanswered_at_end for o in outcomes):,} not yet answered, at most "
            f"{max(o.max_backlog for o in outcomes):,} waiting for a connection; "
            f"{sum(o.connections for o in outcomes):,} connections opened"
        )
    else:
        seconds = sum(o.elapsed for o in outcomes)
        rate = n / seconds
        print(
            f"sheets through the doors (closed-loop maximum, {args.clients} connections): {n:,} in {seconds:.1f} s "
            f"= {rate:.0f} sheets/s wall (target >= {TARGET_RATE:.0f}, ratio {rate / TARGET_RATE:.2f}, "
            f"{'OK' if rate >= TARGET_RATE else 'BELOW'})"
        )
    print(
        f"  per request from {since} p50 {pct(latencies, 0.5):.1f} ms, p95 {pct(latencies, 0.95):.1f} ms, "
        f"p99 {pct(latencies, 0.99):.1f} ms; floor p50 {pct(floor.latencies(), 0.5) * 1000:.1f} ms; "
        f"statuses {statuses}; sheets stored {_sheet_statuses()}"
    )
    errors = [e for o in (*outcomes, floor) for e in o.errors]
    if errors:
        failed = sum(o.failed for o in (*outcomes, floor))
        print(f"errors (answers not of the status expected): {failed:,}; first: {errors[0]}")


def _bulk_rest(args, election, categories, submitted: int) -> None:
    """The sheets of the tables not sent through the doors, written in bulk (setup, not measured)."""
    from django.db import connection

    from backend.core.bulk import bulk_insert
    from backend.count.models import BallotList, ResultSheet
    from backend.count.tallies import tally_rebuild
    from backend.elections.models import Table

    started = time.perf_counter()
    rng = random.Random(11)
    rows = Table.objects.filter(election=election).order_by("number").values_list("pk", "place__area__path")[submitted:]
    rows = list(rows)
    for category in categories:
        list_ids = list(BallotList.objects.filter(category=category).order_by("position").values_list("pk", flat=True))
        for start in range(0, len(rows), 20_000):
            chunk = rows[start : start + 20_000]
            sheets = []
            for table_id, path in chunk:
                votes, blank, null, contested, challenged, voters = _figures(rng, args.lists)
                sheets.append(
                    {
                        "election_id": election.pk,
                        "table_id": table_id,
                        "category_id": category.pk,
                        "source": "api",
                        "official": False,
                        "status": "accepted",
                        "current": True,
                        "area_path": path,
                        "votes": {str(k): v for k, v in zip(list_ids, votes, strict=True)},
                        "blank": blank,
                        "null": null,
                        "contested": contested,
                        "challenged": challenged,
                        "voters": voters,
                        "flags": [],
                        "photo": "",
                        "photo_sha256": "",
                        "photo_sheet_id": None,
                        "actor_id": None,
                    }
                )
            bulk_insert(ResultSheet, sheets)
    tally_rebuild(election_id=election.pk)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE count_resultsheet; ANALYZE count_counttally")
    print(f"bulk sheets for the other {len(rows):,} tables: {time.perf_counter() - started:.1f} s (setup)")


def _official_csv(args, election, categories) -> bytes:
    """The authority's file in the national long format, from our current sheets, `--differ` of them changed."""
    from backend.count.models import BallotList, ResultSheet

    rng = random.Random(5)
    names = {bl.pk: bl.name for bl in BallotList.objects.filter(category__election=election)}
    ours = {bl.category_id: bl.pk for bl in BallotList.objects.filter(category__election=election, ours=True)}
    out = io.StringIO()
    out.write("distrito_id,mesa_id,cargo_nombre,agrupacion_nombre,votos_tipo,votos_cantidad\n")
    category_names = {c.pk: c.name for c in categories}
    sheets = ResultSheet.objects.filter(election=election, official=False, current=True).values_list(
        "table__number", "area_path", "category_id", "votes", "blank", "null", "contested", "challenged"
    )
    differing = 0
    for number, path, category_id, votes, blank, null, contested, challenged in sheets.iterator(chunk_size=20_000):
        district = path.split("/")[1]
        cargo = category_names[category_id]
        votes = dict(votes)
        if rng.random() < args.differ:
            key = str(ours[category_id])
            moved = min(votes[key], 5)
            votes[key] -= moved
            other = next(k for k in votes if k != key)
            votes[other] += moved
            differing += 1
        for list_id, v in votes.items():
            out.write(f"{district},{number},{cargo},{names[int(list_id)]},POSITIVO,{v}\n")
        for kind, v in (("EN BLANCO", blank), ("NULO", null), ("RECURRIDO", contested), ("IMPUGNADO", challenged)):
            out.write(f"{district},{number},{cargo},,{kind},{v}\n")
    print(f"official file: {len(out.getvalue()) / 1e6:.0f} MB, {differing:,} table x category figures changed")
    return out.getvalue().encode()


def _run(args, env, port) -> None:
    from django.db import connection

    from backend.count.results_import import official_import_national
    from backend.count.selectors import discrepancy_list, discrepancy_page, quick_count
    from backend.elections.models import Area

    print(f"start: {_load()}")
    kept = _reuse(args) if args.keep else None
    if kept is None:
        election, categories, tables, volunteers, lead = _build(args)
        _bulk_rest(args, election, categories, len(tables))
    else:
        election, categories, tables, volunteers, lead = kept
    doors = Doors(args, categories, lead, f"http://127.0.0.1:{port}")
    sample = 2 * args.sample
    _sample(args, doors, categories, tables[:sample], volunteers[:sample])
    _submit(args, env, port, doors, categories, tables[sample:], volunteers[sample:])

    def timed(fn, repeat):
        values = []
        for _ in range(repeat):
            started = time.perf_counter()
            fn()
            values.append((time.perf_counter() - started) * 1000)
        return values

    with connection.cursor() as cursor:
        floor = timed(lambda: cursor.execute("SELECT 1"), 50)
    national = timed(lambda: quick_count(election=election, category=categories[0]), args.repeat)
    district = Area.objects.filter(election=election, depth=0).order_by("code").first()
    one = timed(lambda: quick_count(election=election, category=categories[0], area=district), args.repeat)
    p95 = _p95(national)
    print(
        f"quick count, whole country, one category ({args.tables:,} tables): p50 {statistics.median(national):.0f} ms, "
        f"p95 {p95:.0f} ms (target <= {TARGET_QUICK_MS:.0f} ms, ratio {p95 / TARGET_QUICK_MS:.2f}); "
        f"floor (SELECT 1) p50 {statistics.median(floor):.2f} ms; {_load()}"
    )
    print(f"quick count, one district ({district.name}): p50 {statistics.median(one):.0f} ms, p95 {_p95(one):.0f} ms")
    if args.skip_official:
        print(f"database: {connection.vendor}; {_load()}")
        return
    data = _official_csv(args, election, categories)
    started, cpu = time.perf_counter(), time.process_time()
    summary = official_import_national(election=election, source=data, filename="oficial.csv")
    import_s, import_cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"official import (national long CSV): {summary.rows:,} rows, {summary.sheets:,} sheets in {import_s:.1f} s "
        f"({import_cpu:.1f} s CPU in this process; {summary.rows / import_s:,.0f} rows/s); "
        f"unknown tables {len(summary.unknown_tables)}; {_load()}"
    )
    started = time.perf_counter()
    total, first = discrepancy_page(election=election, limit=500)
    page_s = time.perf_counter() - started
    started = time.perf_counter()
    found = discrepancy_list(election=election)
    listing_s = time.perf_counter() - started
    print(
        f"discrepancies: {len(found):,} listed in {listing_s:.2f} s "
        f"(target <= {TARGET_DISCREPANCIES_S:.0f} s, ratio {listing_s / TARGET_DISCREPANCIES_S:.2f}); the console's "
        f"first page (count {total:,} + 500 rows) in {page_s:.2f} s; top at stake {first[0].at_stake if first else 0}; "
        f"floor (SELECT 1) p50 {statistics.median(floor):.2f} ms; {_load()}"
    )
    print(f"database: {connection.vendor}; {_load()}")


if __name__ == "__main__":
    main()
