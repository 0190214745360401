"""Import the ballot or the authority's results per table from a file.

manage.py count_import ballot <election slug> boleta.xlsx
manage.py count_import national <election slug> resultados.csv [--create-missing]
manage.py count_import wide <election slug> gobernador.csv --category GOB [--create-missing]
"""

from django.core.management.base import BaseCommand, CommandError

from backend.core.exceptions import ApplicationError
from backend.count.models import Category
from backend.count.results_import import ballot_import, official_import_national, official_import_wide
from backend.elections.models import Election


class Command(BaseCommand):
    help = "Importa la boleta (categorías y listas) o los resultados oficiales por mesa."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=["ballot", "national", "wide"])
        parser.add_argument("election")
        parser.add_argument("path")
        parser.add_argument("--category", default="")
        parser.add_argument("--create-missing", action="store_true")

    def handle(self, *args, kind, election, path, category, create_missing, **options):
        found = Election.objects.filter(slug=election).first()
        if found is None:
            raise CommandError(f"No existe la elección {election!r}.")
        try:
            if kind == "ballot":
                summary = ballot_import(election=found, source=path)
            elif kind == "national":
                summary = official_import_national(election=found, source=path, create_missing=create_missing)
            else:
                chosen = Category.objects.filter(election=found, code__iexact=category).first() if category else None
                summary = official_import_wide(
                    election=found, source=path, category=chosen, create_missing=create_missing
                )
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from exc
        for name, value in summary.as_dict().items():
            shown = value if not isinstance(value, list) else f"{len(value)} {value[:10]}"
            self.stdout.write(f"{name}: {shown}")
