"""Count benchmark: result sheets through the API and the signed SMS webhook (mixed, concurrent,
through uvicorn), the official results import with 2 % differing, the quick count and the
discrepancies, on a national-size election.

    python bench/count.py [--tables 113000] [--categories 4] [--lists 10] [--submit 2000] [--clients 4]

`--submit` tables get every category's sheet through the HTTP doors (half API, half SMS); the other
tables' sheets are bulk-written (setup, not measured) so that the quick count and the discrepancies
run at full size. `--submit 0` means every table. Uses DATABASE_URL (PostgreSQL: a fresh
`bench_count` database beside it) or a SQLite file in var/. Prints each figure beside its target:
300 sheets/s sustained, national quick count p95 <= 200 ms, discrepancies listed <= 5 s; and the
floor (one `SELECT 1` round trip through the same server) measured in the same run.
"""

import argparse
import io
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from databases import fresh_database  # noqa: E402

TARGET_RATE, TARGET_QUICK_MS, TARGET_DISCREPANCIES_S = 300.0, 200.0, 5.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 2 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=113_000)
    parser.add_argument("--categories", type=int, default=4)
    parser.add_argument("--lists", type=int, default=10)
    parser.add_argument("--districts", type=int, default=24)
    parser.add_argument("--submit", type=int, default=2_000, help="tables sent through the HTTP doors (0: all)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument("--repeat", type=int, default=30, help="quick-count queries timed")
    parser.add_argument("--differ", type=float, default=0.02, help="share of official sheets that differ")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_count_"))
    database_url, drop = fresh_database(tmp, name="bench_count")
    port = _free_port()
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
    tables = list(Table.objects.filter(election=election).order_by("number")[:submit])
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
    votes = [rng.randint(0, 60) for _ in range(lists)]
    blank, null, contested, challenged = rng.randint(0, 8), rng.randint(0, 5), rng.randint(0, 2), 0
    return votes, blank, null, contested, challenged, sum(votes) + blank + null + contested + challenged


def _serve(env: dict, port: int):
    import requests

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
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
    )
    for _ in range(150):
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            return server
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)
    raise SystemExit("uvicorn did not start")


def _submit(args, env, port, election, categories, tables, volunteers, lead) -> None:
    import requests
    from django.conf import settings
    from rest_framework.authtoken.models import Token
    from twilio.request_validator import RequestValidator

    from backend.count.models import BallotList

    token = Token.objects.create(user=lead).key
    list_ids = {
        c.pk: list(BallotList.objects.filter(category=c).order_by("position").values_list("pk", flat=True))
        for c in categories
    }
    base = f"http://127.0.0.1:{port}"
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    jobs = []
    rng = random.Random(7)
    for i, (table, volunteer) in enumerate(zip(tables, volunteers, strict=True)):
        for category in categories:
            jobs.append((i % 2 == 0, table, volunteer, category, _figures(rng, args.lists)))
    server = _serve(env, port)
    try:
        session = requests.Session()
        floor = []
        for _ in range(50):
            started = time.perf_counter()
            session.get(f"{base}/healthz", timeout=10)
            floor.append((time.perf_counter() - started) * 1000)
        timings: list[float] = []
        statuses: dict[str, int] = {}
        lock = threading.Lock()

        def worker(chunk):
            s = requests.Session()
            for by_api, table, volunteer, category, (votes, blank, null, contested, challenged, voters) in chunk:
                started = time.perf_counter()
                if by_api:
                    payload = {
                        "category": category.code,
                        "votes": {str(k): v for k, v in zip(list_ids[category.pk], votes, strict=True)},
                        "blank": blank,
                        "null": null,
                        "contested": contested,
                        "challenged": challenged,
                        "voters": voters,
                    }
                    r = s.post(
                        f"{base}/api/tables/{table.pk}/sheets/",
                        json=payload,
                        headers={"Authorization": f"Token {token}"},
                        timeout=30,
                    )
                    key = f"api {r.status_code}"
                else:
                    numbers = " ".join(map(str, votes))
                    body = (
                        f"ACTA {table.number} {category.code} {numbers} "
                        f"B {blank} N {null} R {contested} I {challenged} V {voters}"
                    )
                    params = {
                        "MessageSid": f"SM{uuid.uuid4().hex}",
                        "AccountSid": settings.TWILIO_ACCOUNT_SID,
                        "From": volunteer.phone,
                        "To": "+15005550006",
                        "Body": body,
                        "NumMedia": "0",
                    }
                    url = f"{base}/sms/inbound/"
                    headers = {"X-Twilio-Signature": validator.compute_signature(url, params)}
                    r = s.post(url, data=params, headers=headers, timeout=30)
                    key = f"sms {r.status_code}"
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    timings.append(elapsed)
                    statuses[key] = statuses.get(key, 0) + 1

        chunks = [jobs[k :: args.clients] for k in range(args.clients)]
        threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=10)
    rate = len(jobs) / seconds
    print(
        f"sheets through the doors: {len(jobs):,} ({args.clients} clients, half API, half signed SMS) "
        f"in {seconds:.1f} s "
        f"= {rate:.0f} sheets/s (target >= {TARGET_RATE:.0f}, ratio {rate / TARGET_RATE:.2f}); "
        f"per request p50 {statistics.median(timings):.1f} ms, p95 {_p95(timings):.1f} ms; "
        f"floor (GET /healthz) p50 {statistics.median(floor):.1f} ms; statuses {statuses}"
    )


def _bulk_rest(args, election, categories, submitted: int) -> None:
    """The sheets of the tables not sent through the doors, written in bulk (setup, not measured)."""
    from django.db import connection

    from backend.core.bulk import bulk_insert
    from backend.count.models import BallotList, ResultSheet, SheetVote
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
            votes_by_table = {}
            for table_id, path in chunk:
                votes, blank, null, contested, challenged, voters = _figures(rng, args.lists)
                votes_by_table[table_id] = votes
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
            ids = dict(
                ResultSheet.objects.filter(
                    category=category, official=False, table_id__in=[t for t, _p in chunk]
                ).values_list("table_id", "pk")
            )
            bulk_insert(
                SheetVote,
                [
                    {"sheet_id": ids[t], "ballot_list_id": lid, "votes": v}
                    for t, votes in votes_by_table.items()
                    for lid, v in zip(list_ids, votes, strict=True)
                ],
            )
    tally_rebuild(election_id=election.pk)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE count_resultsheet; ANALYZE count_sheetvote; ANALYZE count_counttally")
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
    from backend.count.selectors import discrepancy_list, quick_count
    from backend.elections.models import Area

    election, categories, tables, volunteers, lead = _build(args)
    _submit(args, env, port, election, categories, tables, volunteers, lead)
    _bulk_rest(args, election, categories, len(tables))

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
        f"floor (SELECT 1) p50 {statistics.median(floor):.2f} ms"
    )
    print(f"quick count, one district ({district.name}): p50 {statistics.median(one):.0f} ms, p95 {_p95(one):.0f} ms")
    data = _official_csv(args, election, categories)
    started = time.perf_counter()
    summary = official_import_national(election=election, source=data, filename="oficial.csv")
    import_s = time.perf_counter() - started
    print(
        f"official import (national long CSV): {summary.rows:,} rows, {summary.sheets:,} sheets in {import_s:.1f} s "
        f"({summary.rows / import_s:,.0f} rows/s); unknown tables {len(summary.unknown_tables)}"
    )
    started = time.perf_counter()
    found = discrepancy_list(election=election)
    listing_s = time.perf_counter() - started
    print(
        f"discrepancies: {len(found):,} listed in {listing_s:.2f} s "
        f"(target <= {TARGET_DISCREPANCIES_S:.0f} s, ratio {listing_s / TARGET_DISCREPANCIES_S:.2f}); "
        f"top at stake {found[0].at_stake if found else 0}"
    )
    print(f"database: {connection.vendor}; load: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
