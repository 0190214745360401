"""Benchmark of the console pages and API reads, Córdoba (default) or the whole country (--national).

    python bench/console.py                          # Córdoba, temporary SQLite file
    python bench/console.py --national               # the national 2019 list, 140,000 volunteers
    python bench/console.py --national --keep var/bench-national.sqlite3   # reuse the data next time
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_console python bench/console.py --national

Córdoba: the demo election (1,220 real places, 10,000 volunteers) filled by the engine.
National: the national demo election (about 15,000 places, 101,461 tables) with `--volunteers`
generated people, of whom each district's own fill its tables and places (a quick bulk assignment
in the spirit of the engine: nobody twice, table watchers first), a third checked in, some
confirmed or notified. In both, the election moves to yesterday so the late-watcher list is live.

Every console page and every API read is requested through Django's test client as the lead (the
whole country or province) and as a coordinator (one district or city): p50 and p95 of `--runs`
requests in ms, the number of SQL queries of one request, and the floor: one grouped SQL query that
produces the page's numbers (for a list page, the query of its rows), timed the same way in the same
run. Run it with `nice` while developing; the figures depend on the machine's load.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_MS = 300


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--national", action="store_true", help="the national demo election instead of Córdoba")
    parser.add_argument("--volunteers", type=int, default=None, help="generated volunteers (140,000 national)")
    parser.add_argument("--runs", type=int, default=10, help="requests per page (p50 and p95 of these)")
    parser.add_argument("--only", default="", help="only pages whose label contains this text")
    parser.add_argument(
        "--keep", default="", help="SQLite file to keep the data in; a second run reuses it and skips the set-up"
    )
    return parser.parse_args()


def setup_database(args: argparse.Namespace) -> None:
    if os.environ.get("BENCH_DATABASE_URL"):
        os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
        # One connection for the whole run (as the production pool gives), so the PostgreSQL
        # backend serving the requests is one process whose CPU time can be read (`_db_cpu`).
        os.environ["DATABASE_CONN_MAX_AGE"] = "3600"
    elif args.keep:
        os.environ["DATABASE_URL"] = f"sqlite:///{Path(args.keep).resolve()}"
    else:
        tmp = tempfile.mkdtemp(prefix="bench-console-")
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    import django

    django.setup()


def main() -> None:
    args = parse_args()
    setup_database(args)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_test_environment

    settings.ALLOWED_HOSTS = ["testserver"]
    settings.CONSOLE_EXPORTS_DIR = Path(tempfile.mkdtemp(prefix="bench-console-exports-"))
    # The "start the job" requests queue a task; the worker's build is measured on its own below
    # (build_export_jobs), so the in-memory broker just keeps the messages.
    from backend.celery import app

    app.conf.task_always_eager = False
    setup_test_environment()
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    election = load_national(args) if args.national else load_cordoba(args)
    if connection.vendor == "postgresql":
        # Fresh statistics after the bulk load, as autovacuum would give a live database.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    print(f"set-up {time.perf_counter() - started:.1f} s; load {os.getloadavg()[0]:.2f}")
    # As the server does once the application is loaded (backend/asgi.py): what is loaded by now
    # stays out of the collector's full passes, which otherwise cost ~120 ms every few requests.
    from django.urls import get_resolver

    get_resolver().resolve("/consola/")  # every view imported first, as there
    gc.collect()
    gc.freeze()
    run_pages(election, args)


# --- data -----------------------------------------------------------------------------------------


def load_cordoba(args: argparse.Namespace):
    from backend.assignments.models import Assignment
    from backend.assignments.services import assignment_check_in, auto_assign
    from backend.elections.demo import DEMO_SLUG, demo_load
    from backend.elections.models import Election

    existing = Election.objects.filter(slug=DEMO_SLUG).first()
    if existing is not None and Assignment.objects.filter(election=existing).exists():
        return existing
    election = demo_load(volunteers=args.volunteers or 10_000, assigned=1_000).election
    result = auto_assign(election=election, dry_run=False)
    active = list(Assignment.objects.filter(election=election, status="proposed").order_by("pk")[::3])
    for a in active:
        assignment_check_in(assignment=a, source="system")
    _to_yesterday(election)
    print(f"data: {result.slots} slots, {result.covered_after} covered, {len(active)} checked in")
    return election


def load_national(args: argparse.Namespace):
    from backend.assignments.models import Assignment
    from backend.elections.demo import NATIONAL_SLUG, demo_load_national
    from backend.elections.models import Election

    existing = Election.objects.filter(slug=NATIONAL_SLUG).first()
    if existing is not None and Assignment.objects.filter(election=existing).count() > 1000:
        _to_yesterday(existing)
        return existing
    t = time.perf_counter()
    election = demo_load_national(volunteers=args.volunteers or 140_000, assigned=0).election
    print(f"national demo loaded in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    made = bulk_assign(election)
    _to_yesterday(election)
    print(f"bulk assignment: {made} assignments in {time.perf_counter() - t:.1f} s")
    return election


def bulk_assign(election) -> int:
    """Each district's volunteers fill its tables, then its places' general slots, in code order.

    Statuses: of every 12, 4 checked in, 3 confirmed, 3 notified, 2 proposed (told and missing ones
    make the late-watcher list realistic). The demo's deterministic order keeps runs comparable.
    """
    from django.db import transaction
    from django.utils import timezone

    from backend.assignments.models import Assignment, AssignmentRole, AssignmentStatus
    from backend.elections.models import PollingPlace, Table
    from backend.volunteers.models import RolesAccepted, Volunteer

    statuses = [AssignmentStatus.CHECKED_IN] * 4 + [AssignmentStatus.CONFIRMED] * 3
    statuses += [AssignmentStatus.NOTIFIED] * 3 + [AssignmentStatus.PROPOSED] * 2
    pools: dict[str, list[int]] = {}
    for pk, path in (
        Volunteer.objects.filter(area__election=election, opted_out=False, excluded=False)
        .exclude(roles_accepted=RolesAccepted.PLACE)
        .order_by("pk")
        .values_list("pk", "area__path")
    ):
        pools.setdefault(path.split("/")[1], []).append(pk)
    used = set(Assignment.objects.filter(election=election).values_list("volunteer_id", flat=True))
    for key in pools:
        pools[key] = [pk for pk in pools[key] if pk not in used]
    now = timezone.now()
    rows = []

    def add(volunteer_id, place_id, table_id, role):
        status = statuses[len(rows) % len(statuses)]
        rows.append(
            Assignment(
                election=election,
                volunteer_id=volunteer_id,
                place_id=place_id,
                table_id=table_id,
                role=role,
                slot=0,
                status=status,
                reason="bench",
                status_changed_at=now,
            )
        )

    tables = Table.objects.filter(election=election).order_by("place__code", "number")
    for table_id, place_id, path in tables.values_list("pk", "place_id", "place__area__path"):
        pool = pools.get(path.split("/")[1])
        if pool:
            add(pool.pop(), place_id, table_id, AssignmentRole.TABLE)
    for place_id, path in (
        PollingPlace.objects.filter(election=election).order_by("code").values_list("pk", "area__path")
    ):
        pool = pools.get(path.split("/")[1])
        if pool:
            add(pool.pop(), place_id, None, AssignmentRole.PLACE)
    with transaction.atomic():
        Assignment.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _to_yesterday(election) -> None:
    """The election was yesterday and every status changed that morning: the late-watcher list is
    live whenever the bench runs (a fresh bulk load stamped now would be late only in 30 minutes)."""
    from django.utils import timezone

    from backend.assignments.models import Assignment

    election.date = datetime.date.today() - datetime.timedelta(days=1)
    election.save(update_fields=["date"])
    morning = timezone.make_aware(datetime.datetime.combine(election.date, datetime.time(7, 0)))
    Assignment.objects.filter(election=election, status_changed_at__gt=morning).update(status_changed_at=morning)


# --- pages ----------------------------------------------------------------------------------------


def run_pages(election, args: argparse.Namespace) -> None:
    import console_floors as floors
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from backend.accounts.models import User
    from backend.assignments.models import Assignment, AssignmentStatus
    from backend.console.models import ExportJob
    from backend.elections.models import PollingPlace, Table

    ExportJob.objects.all().delete()  # a kept database: only this run's jobs are built below
    places = PollingPlace.objects.filter(election=election).count()
    tables = Table.objects.filter(election=election).count()
    assignments = Assignment.objects.filter(election=election).count()
    checked_in = Assignment.objects.filter(election=election, status=AssignmentStatus.CHECKED_IN).count()
    print(f"data: {places} places, {tables} tables, {assignments} assignments, {checked_in} checked in")
    print(
        f"each page {args.runs} times: p50/p95 ms, SQL queries of one request, floor p50 ms "
        f"(one grouped query for the same numbers), then the same in CPU ms of this process and, "
        f"on PostgreSQL, of its server backend (db) and both together (all); "
        f"target p95 <= {TARGET_MS} ms; load {os.getloadavg()[0]:.2f}"
    )
    for username in ("responsable", "coordinadora"):
        user = User.objects.get(username=username)
        client = Client()
        client.force_login(user)
        scope = floors.scope_of(user, election)
        pages = floors.pages(election=election, scope=scope)
        print(f"\n{username} ({scope.name if scope else 'todo el país' if args.national else 'toda la provincia'})")
        db_columns = f" {'db p50':>8s} {'db p95':>8s} {'all p95':>8s} {'floor db':>8s}" if _db_cpu() else ""
        print(
            f"  {'page':36s} {'p50':>8s} {'p95':>8s} {'queries':>8s} {'floor':>8s} {'p95/floor':>9s} "
            f"{'cpu p50':>8s} {'cpu p95':>8s} {'floor cpu':>8s}{db_columns}"
        )
        for page in pages:
            if (args.only and args.only not in page.label) or (page.lead_only and scope is not None):
                continue
            times, cpu_times, db_times = [], [], []
            # One request first, not counted: the process's very first one imports the views and
            # reads the translation catalogues and the database file (0.9 s CPU for the coverage
            # page, three times the next ones): the "unexplained" slow first request of earlier runs.
            getattr(client, page.method)(page.url, page.data, **page.headers)
            for i in range(args.runs):
                c, db = _cpu(), _db_cpu()
                t = time.perf_counter()
                request = getattr(client, page.method)
                if i == 0:
                    # DEBUG keeps a log of at most 9,000 queries: a full one would count none.
                    connection.queries_log.clear()
                    with CaptureQueriesContext(connection) as captured:
                        response = request(page.url, page.data, **page.headers)
                else:
                    response = request(page.url, page.data, **page.headers)
                times.append((time.perf_counter() - t) * 1000)
                cpu_times.append((_cpu() - c) * 1000)
                db_times.append((_db_cpu() - db) * 1000)
                expected = 302 if page.method == "post" else 200
                assert response.status_code == expected, (page.url, response.status_code, response.content[:300])
            floor_ms, floor_cpu, floor_db = _floor_ms(page.floor, args.runs)
            p50, p95 = _p50_p95(times)
            cpu50, cpu95 = _p50_p95(cpu_times)
            db = ""
            if db_columns:
                db50, db95 = _p50_p95(db_times)
                _all50, all95 = _p50_p95([c + d for c, d in zip(cpu_times, db_times, strict=True)])
                db = f" {db50:8.1f} {db95:8.1f} {all95:8.1f} {floor_db:8.1f}"
            mark = "" if p95 <= TARGET_MS else "  > target"
            print(
                f"  {page.label:36s} {p50:8.1f} {p95:8.1f} {len(captured):8d} {floor_ms:8.1f} "
                f"{p95 / max(floor_ms, 0.1):8.1f}x {cpu50:8.1f} {cpu95:8.1f} {floor_cpu:8.1f}{db}{mark}"
            )
        build_export_jobs(user)


def build_export_jobs(user) -> None:
    """The workbooks the "start the job" requests queued, built as the worker builds them: CPU time
    of one build each (the person waits on the progress page, not on a request)."""
    from backend.console.models import ExportJob
    from backend.console.services import export_job_build, export_job_path
    from backend.core.models import FileJobState

    cpu = _cpu
    for job in ExportJob.objects.filter(requested_by=user, state=FileJobState.QUEUED).order_by("kind", "-pk"):
        if ExportJob.objects.filter(requested_by=user, kind=job.kind, state=FileJobState.DONE).exists():
            continue
        t_cpu, t = cpu(), time.perf_counter()
        built = export_job_build(job_id=job.pk)
        path = export_job_path(job=built)
        size = path.stat().st_size if path else 0
        print(
            f"  background {job.kind} workbook: {built.total:,} rows, {size / 1e6:.1f} MB, "
            f"{(cpu() - t_cpu) * 1000:,.0f} ms CPU ({(time.perf_counter() - t) * 1000:,.0f} ms wall)"
        )


def _cpu() -> float:
    """This process's CPU seconds: on SQLite the whole request (the database runs in-process), on
    PostgreSQL without the server's share. Under load it is the figure to read, not wall time."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _db_cpu() -> float:
    """CPU seconds of the PostgreSQL backend serving this process (its scheduler's count, in ns),
    0 on SQLite, whose work is in this process's own CPU time. The server runs on this machine."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    connection.ensure_connection()
    try:
        with open(f"/proc/{connection.connection.info.backend_pid}/schedstat") as stat:
            return int(stat.read().split()[0]) / 1e9
    except OSError:
        return 0.0


def _floor_ms(floor: Callable[[], object], runs: int) -> tuple[float, float, float]:
    """Median wall, median CPU ms of this process and of the database server for the floor query."""
    times, cpu_times, db_times = [], [], []
    for _ in range(runs):
        c, db = _cpu(), _db_cpu()
        t = time.perf_counter()
        floor()
        times.append((time.perf_counter() - t) * 1000)
        cpu_times.append((_cpu() - c) * 1000)
        db_times.append((_db_cpu() - db) * 1000)
    return statistics.median(times), statistics.median(cpu_times), statistics.median(db_times)


def _p50_p95(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    # Nearest rank: with 10 runs p95 is the slowest but one... rounded up, the slowest.
    rank = max(1, -(-95 * len(ordered) // 100))
    return statistics.median(ordered), ordered[rank - 1]


if __name__ == "__main__":
    main()
