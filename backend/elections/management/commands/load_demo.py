"""`manage.py load_demo`: build the demo election (idempotent)."""

from django.core.management.base import BaseCommand

from backend.count.demo import election_night_play
from backend.elections.demo import DEMO_PASSWORD, demo_load, demo_load_national


class Command(BaseCommand):
    help = (
        "Builds the demo election from fixtures/cordoba-2019-mesas.xlsx with generated volunteers; "
        "--national builds the national one from fixtures/national-2019.zip (the 2019 list as published)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--volunteers", type=int, default=3000)
        parser.add_argument("--assigned", type=int, default=400)
        parser.add_argument("--national", action="store_true", help="the national 2019 list instead of Córdoba")
        parser.add_argument(
            "--election-night",
            action="store_true",
            help="Córdoba only: the watchers send the real 2019 governor sheets (a few wrong) and the official "
            "file (a few tables changed) is imported",
        )

    def handle(self, *args, volunteers, assigned, national, election_night, **options):
        load = demo_load_national if national else demo_load
        result = load(volunteers=volunteers, assigned=assigned)
        e = result.election
        self.stdout.write(
            f"Demo election '{e.slug}': {e.places.count()} places, {e.tables.count()} tables; "
            f"{result.volunteers_created} new volunteers, {result.assignments_created} new assignments"
            + (
                ""
                if result.stations_changed or result.volunteers_created or result.assignments_created
                else " (nothing changed)"
            )
        )
        if election_night and not national:
            night = election_night_play(election=e)
            self.stdout.write(
                f"Election night: {night.sheets} sheets sent ({night.flagged} asked back), "
                f"{night.official} official sheets; the official file differs at tables {night.changed_official}"
            )
        self.stdout.write(f"Logins (password '{DEMO_PASSWORD}'): coordinadora, coordinador-interior, responsable")
