"""Seed for the board's end-to-end test (`test_board_burst.py`), run in a subprocess as
`python -m tests.console.board_e2e_support seed` with DATABASE_URL pointing at the end-to-end
database: prints the tables of each town, a lead's API token and the session cookies as JSON."""

import datetime
import json
import os
import sys

TABLES_PER_TOWN = 12


def _seed() -> dict:
    from django.test import Client
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from backend.accounts.models import CoordinatorScope, Role, User
    from backend.elections.models import Area, Election, PollingPlace, Table

    election = Election.objects.create(
        slug="board-e2e", name="Board E2E", date=timezone.localdate(), check_in_time=datetime.time(7, 30)
    )
    district = Area.objects.create(election=election, kind="distrito", code="cba", name="Córdoba")
    tables: dict[str, list[int]] = {}
    towns = {}
    for first, code in ((1, "north"), (TABLES_PER_TOWN + 1, "south")):
        town = Area.objects.create(election=election, parent=district, kind="localidad", code=code, name=code)
        place = PollingPlace.objects.create(election=election, area=town, code=f"P-{code}", name=f"Escuela {code}")
        tables[code] = [
            Table.objects.create(election=election, place=place, district=district, number=n).pk
            for n in range(first, first + TABLES_PER_TOWN)  # numbered across the district
        ]
        towns[code] = town
    lead = User.objects.create(username="lead", role=Role.LEAD)
    coordinator = User.objects.create(username="north-coordinator", role=Role.COORDINATOR)
    CoordinatorScope.objects.create(user=coordinator, area=towns["north"])
    cookies = {}
    for user in (lead, coordinator):
        client = Client()
        client.force_login(user)
        cookies[user.username] = f"sessionid={client.cookies['sessionid'].value}"
    return {
        "election": election.pk,
        "tables": tables,
        "token": Token.objects.create(user=lead).key,
        "cookies": cookies,
    }


def main(argv: list[str]) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    django.setup()
    if argv != ["seed"]:
        raise SystemExit(f"unknown command {argv}")
    print(json.dumps(_seed()))


if __name__ == "__main__":
    main(sys.argv[1:])
