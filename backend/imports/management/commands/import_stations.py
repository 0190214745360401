"""`manage.py import_stations FILE [FILE...] --election SLUG [--dry-run] [--map COL=field] [--all-or-nothing]`.

The official station list as published: one file, several (the list and its companion files of
area names) or one zip. A progress bar shows the rows read.
"""

import sys
from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import get_language

from backend.core.exceptions import ApplicationError
from backend.elections.models import Election
from backend.elections.station_columns import FIELDS, parse_mapping
from backend.imports.models import ImportKind
from backend.imports.services import batch_create, batch_run

from ._base import ImportCommand


class Command(ImportCommand):
    help = (
        "Importa establecimientos y mesas (xlsx/csv/zip, con archivos de nombres de áreas) en una elección; "
        "idempotente."
    )
    kind = ImportKind.STATIONS

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", help="xlsx, xls, ods, csv o zip (la lista y sus archivos de nombres)")
        parser.add_argument("--election", required=True, help="identificador (slug) de la elección")
        parser.add_argument("--dry-run", action="store_true", help="solo mostrar qué cambiaría")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMNA=campo",
            help=f"asignar a mano una columna a un campo (vacío para ignorarla); campos: {', '.join(FIELDS)}",
        )
        parser.add_argument("--all-or-nothing", action="store_true", help="no guardar nada si alguna fila se rechaza")
        parser.add_argument("--no-progress", action="store_true", help="sin barra de progreso")

    def handle(self, *args, files, election, dry_run, map, all_or_nothing, no_progress, **options):
        paths = [Path(f) for f in files]
        for path in paths:
            if not path.is_file():
                raise CommandError(f"No existe el archivo {path}")
        found = Election.objects.filter(slug=election).first()
        if found is None:
            raise CommandError(f"No existe la elección '{election}'")
        try:
            mapping = parse_mapping(map)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        bar = None
        try:
            batch = batch_create(
                actor=None,
                election=found,
                kind=self.kind,
                files=[(p.name, p.read_bytes()) for p in paths],
                dry_run=dry_run,
                language=get_language() or "es-ar",
                mapping=mapping,
                all_or_nothing=all_or_nothing,
            )
            if not no_progress:
                from tqdm import tqdm

                bar = tqdm(
                    total=batch.total_rows, unit=" filas", desc="Leyendo", file=getattr(self.stderr, "_out", sys.stderr)
                )

            def progress(done: int, total: int) -> None:
                if bar is not None:
                    bar.update(done - bar.n)

            batch = batch_run(batch=batch, dry_run=dry_run, on_progress=progress)
        except ApplicationError as exc:
            raise CommandError(f"{exc.message} [{exc.code}]") from exc
        finally:
            if bar is not None:
                bar.update(bar.total - bar.n)
                bar.close()
        self.report(batch)
        details = batch.details or {}
        self.stdout.write(
            f"  áreas: {details.get('areas_created', 0)} nuevas; establecimientos: {details.get('places_created', 0)} "
            f"nuevos, {details.get('places_updated', 0)} cambiados; mesas: {details.get('tables_created', 0)} nuevas, "
            f"{details.get('tables_updated', 0)} cambiadas, {details.get('tables_unchanged', 0)} sin cambios, "
            f"{details.get('tables_removed', 0)} ya no figuran"
        )
        for info in details.get("files", []):
            unused = [c["header"] for c in info.get("columns", []) if c["status"] in ("unknown", "unused", "ambiguous")]
            line = f"  {info['name']}: {info['role']}" + (f" ({info['reason']})" if info.get("reason") else "")
            if unused:
                line += f"; columnas sin usar: {', '.join(unused)}"
            self.stdout.write(line)
