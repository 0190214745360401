"""`manage.py import_roster FILE --election SLUG [--dry-run] [--default-area-code 351]`: volunteers."""

from backend.imports.models import ImportKind

from ._base import ImportCommand


class Command(ImportCommand):
    help = "Importa fiscales (xlsx/csv): DNI, nombre, celular...; idempotente, con informe por fila."
    kind = ImportKind.ROSTER

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--default-area-code", default="", help="código de área para celulares escritos sin él (p. ej. 351)"
        )
