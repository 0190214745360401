"""The demo elections: the real Córdoba 2019 station list (the default) or the national 2019 list.

Both come with generated volunteers and coordinators. The national one is the authority's list
of the 2019 primaries as published (places with table ranges and the name files, zipped in
`fixtures/national-2019.zip`): about 15,000 places and 101,461 tables.

Deterministic (a fixed random seed) and idempotent: a second run finds everything in place and
changes nothing.
"""

import datetime
import itertools
import random
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from backend.accounts.models import CoordinatorScope, Role, User
from backend.assignments.models import Assignment, AssignmentRole
from backend.assignments.services import assignment_create
from backend.core.spreadsheets import read_rows
from backend.volunteers.models import Availability, RolesAccepted, Volunteer
from backend.volunteers.services import volunteers_create_many

from .models import Area, Election, PollingPlace
from .stations import stations_import

DEMO_SLUG = "demo-cordoba"
DEMO_STATIONS = Path(settings.BASE_DIR) / "fixtures" / "cordoba-2019-mesas.xlsx"
NATIONAL_SLUG = "demo-nacional"
NATIONAL_STATIONS = Path(settings.BASE_DIR) / "fixtures" / "national-2019.zip"
# username, role, first name, last name, area paths they coordinate (Capital Federal; Bahía Blanca)
NATIONAL_USERS = [
    ("responsable", Role.LEAD, "Laura", "Responsable", []),
    ("coordinadora", Role.COORDINATOR, "Carla", "Coordinadora", ["/1/"]),
    ("coordinador-interior", Role.COORDINATOR, "Diego", "Interior", ["/2/7/"]),
]
DEMO_PASSWORD = "fiscaliza-demo"
DEMO_USERS = [
    # username, role, first name, last name, area codes (paths below the district) they coordinate
    ("responsable", Role.LEAD, "Laura", "Responsable", []),
    ("coordinadora", Role.COORDINATOR, "Carla", "Coordinadora", ["capital"]),
    ("coordinador-interior", Role.COORDINATOR, "Diego", "Interior", ["colon", "punilla"]),
]
FIRST_NAMES = [
    "María",
    "José",
    "Lucía",
    "Juan",
    "Sofía",
    "Martín",
    "Valentina",
    "Lucas",
    "Camila",
    "Mateo",
    "Julieta",
    "Santiago",
    "Florencia",
    "Facundo",
    "Agustina",
    "Nicolás",
    "Carolina",
    "Pablo",
    "Micaela",
    "Gonzalo",
    "Romina",
    "Diego",
    "Paula",
    "Federico",
    "Natalia",
    "Matías",
]
LAST_NAMES = [
    "González",
    "Rodríguez",
    "Gómez",
    "Fernández",
    "López",
    "Díaz",
    "Martínez",
    "Pérez",
    "García",
    "Sánchez",
    "Romero",
    "Sosa",
    "Torres",
    "Álvarez",
    "Ruiz",
    "Ramírez",
    "Flores",
    "Benítez",
    "Acosta",
    "Medina",
    "Herrera",
    "Suárez",
    "Aguirre",
    "Giménez",
    "Gutiérrez",
    "Pereyra",
]


@dataclass
class DemoResult:
    election: Election
    stations_changed: bool
    volunteers_created: int
    assignments_created: int


def demo_load(*, volunteers: int = 3000, assigned: int = 400, seed: int = 2019) -> DemoResult:
    """Build (or find) the demo election. Called by `manage.py load_demo`."""
    election, _ = Election.objects.get_or_create(
        slug=DEMO_SLUG,
        defaults={"name": "Demo: Córdoba (mesas 2019)", "date": datetime.date(2027, 10, 24)},
    )
    stations = stations_import(election=election, rows=read_rows(DEMO_STATIONS))
    with transaction.atomic():
        _demo_users(election, DEMO_USERS)
        created = _demo_volunteers(election, count=volunteers, rng=random.Random(seed))
        assignments = _demo_assignments(election, count=assigned, path="/provincia-de-cordoba/capital/")
    return DemoResult(election, stations.changed, created, assignments)


def national_files() -> list[tuple[str, list[list]]]:
    """The national list's files (name, rows) from the zipped fixture."""
    with zipfile.ZipFile(NATIONAL_STATIONS) as archive:
        return [
            (name, list(read_rows(archive.read(name), filename=name)))
            for name in sorted(archive.namelist())
            if name.endswith(".csv")
        ]


def demo_load_national(*, volunteers: int = 3000, assigned: int = 400, seed: int = 2019) -> DemoResult:
    """Build (or find) the national demo election. Called by `manage.py load_demo --national`."""
    election, _ = Election.objects.get_or_create(
        slug=NATIONAL_SLUG,
        defaults={"name": "Demo: nacional (PASO 2019)", "date": datetime.date(2027, 8, 8)},
    )
    stations = stations_import(election=election, files=national_files())
    with transaction.atomic():
        _demo_users(election, NATIONAL_USERS)
        created = _demo_volunteers(
            election, count=volunteers, rng=random.Random(seed), dni_base=40_000_000, phone_start=5491150000000
        )
        assignments = _demo_assignments(election, count=assigned, path="/1/")
    return DemoResult(election, stations.changed, created, assignments)


def _demo_users(election: Election, users) -> None:
    for username, role, first, last, codes in users:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "role": role,
                "first_name": first,
                "last_name": last,
                "is_staff": True,
                "is_superuser": role == Role.LEAD,
                "email": f"{username}@example.org",
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        for code in codes:
            if code.startswith("/"):
                area = Area.objects.get(election=election, path=code)
            else:
                area = Area.objects.get(election=election, depth=1, code=code)
            CoordinatorScope.objects.get_or_create(user=user, area=area)


def _demo_volunteers(
    election: Election,
    *,
    count: int,
    rng: random.Random,
    dni_base: int = 20_000_000,
    phone_start: int = 5493515000000,  # mobiles of Córdoba (351)
) -> int:
    localities = list(Area.objects.filter(election=election, depth=2).order_by("path"))
    places_by_area: dict[int, list[int]] = {}
    for place_id, area_id in (
        PollingPlace.objects.filter(election=election).values_list("id", "area_id").order_by("code")
    ):
        places_by_area.setdefault(area_id, []).append(place_id)
    # Weight localities by their polling places, as a real roster follows the population.
    weights = [len(places_by_area.get(a.pk, [])) for a in localities]
    # Summed once: `choices(weights=...)` would sum 5,769 national localities for every person drawn
    # (the same draws, as choices turns weights into these cumulative weights itself).
    cum_weights = list(itertools.accumulate(weights))
    existing = set(Volunteer.objects.values_list("dni", flat=True))
    new = []
    for i in range(count):
        # Spread over the 8-digit DNIs above the base; 7919 is prime, so no two people share one.
        dni = str(dni_base + i * 7919 % (100_000_000 - dni_base))
        area = rng.choices(localities, cum_weights=cum_weights)[0]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        votes_at = rng.choice(places_by_area[area.pk]) if rng.random() < 0.4 and places_by_area.get(area.pk) else None
        availability = rng.choices(list(Availability.values), weights=[80, 8, 7, 5])[0]
        roles = rng.choices(list(RolesAccepted.values), weights=[70, 25, 5])[0]
        trained = rng.random() < 0.6
        if dni in existing:
            continue
        new.append(
            Volunteer(
                dni=dni,
                first_name=first,
                last_name=last,
                phone=f"+{phone_start + i}",
                email=f"fiscal{i}@example.org",
                area=area,
                votes_at_id=votes_at,
                availability=availability,
                roles_accepted=roles,
                trained=trained,
            )
        )
    volunteers_create_many(volunteers=new)
    return len(new)


def _demo_assignments(election: Election, *, count: int, path: str) -> int:
    """Assign volunteers who vote under `path` (a city) to a free table of the place where they vote."""
    if Assignment.objects.filter(election=election).exists():
        return 0
    made = 0
    voters = (
        Volunteer.objects.filter(votes_at__election=election, votes_at__area__path__startswith=path)
        .exclude(roles_accepted=RolesAccepted.PLACE)
        # Only volunteers the assignment rules accept for a titular table slot.
        .filter(availability=Availability.FULL_DAY, opted_out=False, excluded=False)
        .select_related("votes_at")
        .order_by("dni")
    )
    used_tables: set[int] = set()
    for volunteer in voters:
        if made >= count:
            break
        assert volunteer.votes_at is not None  # the query above selects only voters with a place
        table = volunteer.votes_at.tables.exclude(pk__in=used_tables).order_by("number").first()
        if table is None:
            continue
        used_tables.add(table.pk)
        assignment_create(
            volunteer=volunteer,
            place=volunteer.votes_at,
            table=table,
            role=AssignmentRole.TABLE,
            source="system",
            notify=False,
        )
        made += 1
    return made
