"""Benchmark of the search box at national size: 160,000 volunteers, names with and without accents,
phones in Argentine notations, DNIs with dots.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/<empty db> python bench/search.py
    python bench/search.py                     # temporary SQLite file (no trigram index there)

Builds an election with 24 districts of 20 localities, inserts the volunteers the way the roster
import does (COPY on PostgreSQL), then runs a mix of queries through `volunteer_search` as the lead
(the whole country) and as a coordinator scoped to one district, and the console's search page
through Django's test client. Prints p50 and p95 per query kind and overall, in ms, the plan
PostgreSQL picks for a name, and the ratio of the p95 to the 100 ms target.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VOLUNTEERS = int(os.environ.get("BENCH_VOLUNTEERS", "160000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
TARGET_MS = 100.0

FIRST = [
    "Agustina",
    "María José",
    "Juan Pablo",
    "Sofía",
    "Martín",
    "Lucía",
    "Ramón",
    "Inés",
    "Julián",
    "Valentina",
    "Matías",
    "Camila",
    "Tomás",
    "Florencia",
    "Nicolás",
    "Belén",
    "Joaquín",
    "Milagros",
    "Gonzalo",
    "Rocío",
]
LAST = [
    "García",
    "Rodríguez",
    "González",
    "Fernández",
    "López",
    "Martínez",
    "Pérez",
    "Gómez",
    "Sánchez",
    "Díaz",
    "Álvarez",
    "Romero",
    "Sosa",
    "Ruiz",
    "Torres",
    "Suárez",
    "Benítez",
    "Acosta",
    "Medina",
    "Herrera",
    "Ibáñez",
    "Kühn",
    "Núñez",
    "Domínguez",
    "Giménez",
    "Castro",
    "Ojeda",
    "Ríos",
    "Vázquez",
    "Peña",
]
AREA_CODES = ["11", "351", "341", "261", "381", "223", "221", "387", "342", "379", "376", "299"]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    tmp = tempfile.mkdtemp(prefix="bench-search-")
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import setup_test_environment

    from backend.accounts.models import CoordinatorScope, Role, User
    from backend.elections.models import Area, Election
    from backend.imports.roster import insert_volunteers
    from backend.volunteers.models import Volunteer
    from backend.volunteers.selectors import volunteer_search, volunteer_search_condition

    settings.ALLOWED_HOSTS = ["testserver"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    setup_test_environment()
    call_command("migrate", verbosity=0)
    if Volunteer.objects.exists():
        sys.exit("BENCH_DATABASE_URL must point at an empty database")

    rng = random.Random(13)
    started = time.perf_counter()
    election = Election.objects.create(slug="bench-search", name="Bench", date="2027-10-24")
    localities = []
    for d in range(24):
        district = Area.objects.create(election=election, kind="distrito", code=f"d{d}", name=f"Distrito {d}")
        for loc in range(20):
            localities.append(
                Area.objects.create(
                    election=election, parent=district, kind="localidad", code=f"l{loc}", name=f"Localidad {d}-{loc}"
                )
            )
    rows = []
    phones: set[str] = set()
    for i in range(VOLUNTEERS):
        code = rng.choice(AREA_CODES)
        while True:
            subscriber = "".join(rng.choice("0123456789") for _ in range(10 - len(code)))
            phone = f"+549{code}{subscriber}"
            if phone not in phones:
                phones.add(phone)
                break
        rows.append(
            {
                "dni": str(20_000_000 + i * 7),
                "first_name": rng.choice(FIRST),
                "last_name": rng.choice(LAST),
                "phone": phone,
                "area_id": rng.choice(localities).pk,
            }
        )
    with transaction.atomic():
        insert_volunteers(rows, batch_id=None)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE volunteers_volunteer")
    lead = User.objects.create_user("bench-lead", password="x", role=Role.LEAD)
    coordinator = User.objects.create_user("bench-coord", password="x", role=Role.COORDINATOR)
    CoordinatorScope.objects.create(user=coordinator, area=Area.objects.get(election=election, code="d1"))
    setup_s = time.perf_counter() - started
    print(f"data: {Volunteer.objects.count():,} volunteers on {connection.vendor}; setup {setup_s:.1f} s")

    sample = rng.sample(rows, 40)
    queries: list[tuple[str, str]] = []
    for row in sample[:10]:
        national = row["phone"][4:]  # 351xxxxxxx
        code = next(c for c in sorted(AREA_CODES, key=len, reverse=True) if national.startswith(c))
        rest = national[len(code) :]
        queries.append(("phone, national with 15", f"0{code} 15 {rest[:-4]}-{rest[-4:]}"))
    for row in sample[10:20]:
        dni = row["dni"]
        queries.append(("DNI with dots", f"{dni[:2]}.{dni[2:5]}.{dni[5:]}"))
    for row in sample[20:30]:
        from backend.core.text import fold

        queries.append(("full name, no accents", fold(f"{row['first_name']} {row['last_name']}")))
    for word in ["garcia", "rodriguez", "ibanez", "kuhn", "nunez", "suarez", "gonzalez", "pena", "ana", "lucia"]:
        queries.append(("one word, no accents", word))

    if connection.vendor == "postgresql":
        # The first of the search's two queries (the 50 ids); the second reads those rows by id.
        qs = (
            Volunteer.objects.filter(volunteer_search_condition("rodriguez"))
            .order_by("search_key", "pk")
            .values_list("pk", flat=True)[:50]
        )
        with connection.cursor() as cursor:
            sql, params = qs.query.sql_with_params()
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join("    " + r[0] for r in cursor.fetchall())
        print("plan for 'rodriguez' as the lead:\n" + plan)

    client = Client()
    client.force_login(coordinator)
    figures: dict[tuple[str, str], list[float]] = {}
    for _round in range(ROUNDS):
        for kind, query in queries:
            for who, user in (("lead", lead), ("coordinator", coordinator)):
                t = time.perf_counter()
                list(volunteer_search(user=user, query=query, limit=50))
                figures.setdefault((who, kind), []).append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            response = client.get("/consola/fiscales/", {"q": query})
            assert response.status_code == 200
            figures.setdefault(("page (coordinator)", kind), []).append((time.perf_counter() - t) * 1000)

    print(f"\n{'who':<20} {'query kind':<26} {'p50 ms':>8} {'p95 ms':>8}")
    overall: dict[str, list[float]] = {}
    for (who, kind), values in figures.items():
        overall.setdefault(who, []).extend(values)
        print(f"{who:<20} {kind:<26} {statistics.median(values):8.1f} {_percentile(values, 0.95):8.1f}")
    print()
    for who, values in overall.items():
        p95 = _percentile(values, 0.95)
        print(
            f"{who:<20} all {len(values):>5} searches: p50 {statistics.median(values):.1f} ms, "
            f"p95 {p95:.1f} ms (target {TARGET_MS:.0f} ms, ratio {p95 / TARGET_MS:.2f})"
        )


if __name__ == "__main__":
    main()
