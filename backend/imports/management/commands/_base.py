"""Shared body of `import_stations` and `import_roster`: record a batch, run it inline, print the summary."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import get_language

from backend.core.exceptions import ApplicationError
from backend.elections.models import Election
from backend.imports.models import ImportBatch
from backend.imports.services import batch_create, batch_run, problem_rows


class ImportCommand(BaseCommand):
    kind = ""

    def add_arguments(self, parser):
        parser.add_argument("file", help="xlsx, xls, ods o csv")
        parser.add_argument("--election", required=True, help="identificador (slug) de la elección")
        parser.add_argument("--dry-run", action="store_true", help="solo mostrar qué cambiaría")

    def handle(self, *args, file, election, dry_run, default_area_code="", **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No existe el archivo {file}")
        found = Election.objects.filter(slug=election).first()
        if found is None:
            raise CommandError(f"No existe la elección '{election}'")
        try:
            batch = batch_create(
                actor=None,
                election=found,
                kind=self.kind,
                file_name=path.name,
                data=path.read_bytes(),
                dry_run=dry_run,
                default_area_code=default_area_code or "",
                language=get_language() or "es-ar",
            )
            batch = batch_run(batch=batch, dry_run=dry_run)
        except ApplicationError as exc:
            raise CommandError(f"{exc.message} [{exc.code}]") from exc
        self.report(batch)

    def report(self, batch: ImportBatch) -> None:
        self.stdout.write(f"Lote #{batch.pk}: {batch.summary}")
        for row in problem_rows(batch, limit=20):
            self.stdout.write(f"  fila {row.row_number}: {row.get_status_display()}: {row.reason}")
