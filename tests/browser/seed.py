"""Seed the browser tests' own database: run as `python -m tests.browser.seed` against DATABASE_URL.

A small election held today (Buenos Aires time): Córdoba > Norte (two schools, three tables each)
and Sur (one school); a lead and a coordinator scoped to Norte. No volunteers: the test imports
them through the upload page.
"""

import datetime
import json
import os
import sys

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    django.setup()
    from django.utils import timezone

    from backend.accounts.models import CoordinatorScope, Role, User
    from backend.elections.models import Area, Election, PollingPlace, Table
    from backend.threads.services import threads_create_for_places

    election = Election.objects.create(
        slug="prueba-navegador",
        name="Generales (prueba)",
        date=timezone.localdate(),
        check_in_time=datetime.time(7, 30),
    )
    district = Area.objects.create(election=election, kind="distrito", code="cba", name="Córdoba")
    north = Area.objects.create(election=election, parent=district, kind="departamento", code="norte", name="Norte")
    south = Area.objects.create(election=election, parent=district, kind="departamento", code="sur", name="Sur")
    towns = {
        "norte": Area.objects.create(election=election, parent=north, kind="localidad", code="jm", name="Jesús María"),
        "sur": Area.objects.create(election=election, parent=south, kind="localidad", code="rc", name="Río Cuarto"),
    }
    schools = [
        ("norte", "N-1", "Escuela Belgrano", "Colón 123", (1, 2, 3)),
        ("norte", "N-2", "Escuela Sarmiento", "Tucumán 456", (4, 5, 6)),
        ("sur", "S-1", "Escuela Alberdi", "Mitre 789", (101, 102)),
    ]
    for town, code, name, address, numbers in schools:
        place = PollingPlace.objects.create(election=election, area=towns[town], code=code, name=name, address=address)
        for n in numbers:
            Table.objects.create(election=election, place=place, district=district, number=n, electors=350)
    threads_create_for_places(election=election)
    password = os.environ["BROWSER_TEST_PASSWORD"]
    lead = User.objects.create_user("responsable", password=password, role=Role.LEAD, first_name="Laura")
    coordinator = User.objects.create_user("coordinadora", password=password, role=Role.COORDINATOR, first_name="Carla")
    CoordinatorScope.objects.create(user=coordinator, area=north)
    json.dump({"election": election.pk, "lead": lead.pk, "coordinator": coordinator.pk}, sys.stdout)


if __name__ == "__main__":
    main()
