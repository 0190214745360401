"""`manage.py import_stations FILE --election SLUG [--dry-run]`: the official station list."""

from backend.imports.models import ImportKind

from ._base import ImportCommand


class Command(ImportCommand):
    help = "Importa establecimientos y mesas (xlsx/csv) en una elección; idempotente."
    kind = ImportKind.STATIONS
