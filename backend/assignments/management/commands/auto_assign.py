"""`manage.py auto_assign --election SLUG [--area CODE] [--dry-run]`: fill the election's free slots."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from backend.assignments.engine.report import summary_lines
from backend.assignments.services import auto_assign
from backend.core.exceptions import ApplicationError
from backend.elections.models import Area, Election


class Command(BaseCommand):
    help = "Propone fiscales para cada mesa y establecimiento libre (cobertura primero, luego menor distancia)."

    def add_arguments(self, parser):
        parser.add_argument("--election", required=True, help="identificador (slug) de la elección")
        parser.add_argument("--area", help="código o ruta del área (p. ej. capital o /provincia-de-cordoba/capital/)")
        parser.add_argument("--dry-run", action="store_true", help="muestra qué haría, sin guardar nada")
        parser.add_argument("--notify", action="store_true", help="avisa por SMS a las personas propuestas")
        parser.add_argument("--k", type=int, default=10, help="establecimientos candidatos por fiscal (10)")
        parser.add_argument("--changes", type=int, default=30, help="cuántos cambios listar (30)")

    def handle(self, *args, election, area, dry_run, notify, k, changes, **options):
        try:
            election_obj = Election.objects.get(slug=election)
        except Election.DoesNotExist as exc:
            raise CommandError(_("No existe la elección «%(slug)s».") % {"slug": election}) from exc
        area_obj = None
        if area:
            matches = list(
                Area.objects.filter(election=election_obj, path=area)
                if area.startswith("/")
                else Area.objects.filter(election=election_obj, code=area).order_by("depth")
            )
            if not matches:
                raise CommandError(_("No existe el área «%(area)s» en esta elección.") % {"area": area})
            if len(matches) > 1 and matches[0].depth == matches[1].depth:
                raise CommandError(
                    _("Hay varias áreas con el código «%(area)s»; usá la ruta: %(paths)s")
                    % {"area": area, "paths": ", ".join(m.path for m in matches)}
                )
            area_obj = matches[0]
        try:
            result = auto_assign(election=election_obj, area=area_obj, dry_run=dry_run, notify=notify, k=k)
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from exc
        for line in summary_lines(result, changes=changes):
            self.stdout.write(line)
