"""Benchmark of the console pages on the real Córdoba station list, in a fresh database.

    python bench/console.py                 # temporary SQLite file
    BENCH_DATABASE_URL=postgres://... python bench/console.py   # an empty PostgreSQL database

Loads the demo election (1,220 real places, their tables, 10,000 volunteers), fills it with the
engine, checks in a third of the watchers, moves the election to yesterday so the late-watcher
list is live, then renders each console page through Django's test client as the lead (the
whole province) and as a coordinator (Córdoba Capital): median of 5 runs per page, in ms, and the
ratio to the coverage page. Run it with `nice`; the figures depend on the machine's load.
"""

from __future__ import annotations

import datetime
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RUNS = 5


def main() -> None:
    tmp = tempfile.mkdtemp(prefix="bench-console-")
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    from backend.accounts.models import User
    from backend.assignments.models import Assignment
    from backend.assignments.services import assignment_check_in, auto_assign
    from backend.elections.demo import demo_load
    from backend.elections.models import Area, PollingPlace

    settings.ALLOWED_HOSTS = ["testserver"]
    setup_test_environment()
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    demo = demo_load(volunteers=10_000, assigned=1_000)
    election = demo.election
    result = auto_assign(election=election, dry_run=False)
    active = list(Assignment.objects.filter(election=election, status="proposed").order_by("pk")[::3])
    for a in active:
        assignment_check_in(assignment=a, source="system")
    election.date = datetime.date.today() - datetime.timedelta(days=1)
    election.save(update_fields=["date"])
    setup_s = time.perf_counter() - started
    places = PollingPlace.objects.filter(election=election).count()
    print(
        f"data: {places} places, {result.slots} slots, {result.covered_after} covered, "
        f"{len(active)} checked in; setup {setup_s:.1f} s"
    )

    capital = Area.objects.get(election=election, depth=1, code="capital")
    biggest = PollingPlace.objects.filter(election=election).order_by("-tables__number").first()
    town = biggest.area
    first_table = biggest.tables.order_by("number").first()
    pages = [
        ("coverage, root", "/consola/"),
        ("coverage, Capital", f"/consola/?area={capital.pk}"),
        ("coverage, locality", f"/consola/?area={town.pk}"),
        ("place board", f"/consola/establecimientos/{biggest.pk}/"),
        (
            "candidates for a table",
            f"/consola/establecimientos/{biggest.pk}/candidatos/?rol=table&mesa={first_table.pk}",
        ),
        ("volunteer search", "/consola/fiscales/?q=garcia"),
        ("election day, root", "/consola/dia/"),
        ("auto-assign preview, Capital", f"/consola/asignacion-automatica/?area={capital.pk}&vista=previa"),
        ("coverage.xlsx", "/consola/cobertura.xlsx"),
        ("accreditation.xlsx", "/consola/acreditacion.xlsx"),
    ]
    for username in ("responsable", "coordinadora"):
        client = Client()
        client.force_login(User.objects.get(username=username))
        print(f"\n{username}")
        base = None
        for label, url in pages:
            times = []
            for _ in range(RUNS):
                t = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - t) * 1000)
                assert response.status_code == 200, (url, response.status_code)
            median = statistics.median(times)
            base = base or median
            print(f"  {label:32s} {median:8.1f} ms  x{median / base:5.2f}  ({len(response.content) / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
