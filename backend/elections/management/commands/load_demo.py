"""`manage.py load_demo`: build the demo election (idempotent)."""

from django.core.management.base import BaseCommand

from backend.elections.demo import DEMO_PASSWORD, demo_load


class Command(BaseCommand):
    help = "Builds the demo election from fixtures/cordoba-2019-mesas.xlsx with generated volunteers."

    def add_arguments(self, parser):
        parser.add_argument("--volunteers", type=int, default=3000)
        parser.add_argument("--assigned", type=int, default=400)

    def handle(self, *args, volunteers, assigned, **options):
        result = demo_load(volunteers=volunteers, assigned=assigned)
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
        self.stdout.write(f"Logins (password '{DEMO_PASSWORD}'): coordinadora, coordinador-interior, responsable")
