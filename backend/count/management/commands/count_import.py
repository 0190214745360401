"""Import the ballot or the authority's results per table from a file.

manage.py count_import ballot <election slug> boleta.xlsx
manage.py count_import national <election slug> resultados.csv --user jefa [--create-missing] [--check]
manage.py count_import wide <election slug> gobernador.csv --user jefa --category GOB [--create-missing] [--check]

Official results go through the console's and the API's door (`official_import_file`): the file
is stored with its hash as an `OfficialImport` by the lead named with --user, checked, then applied
(with --check, left checked for a lead to apply from the console or the API). The refusals and their
messages are the upload's.
"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError
from backend.count.models import OfficialImportState
from backend.count.results_import import ballot_import, official_import_file
from backend.count.selectors import category_get_by_code
from backend.elections.models import Election


class Command(BaseCommand):
    help = "Importa la boleta (categorías y listas) o los resultados oficiales por mesa."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=["ballot", "national", "wide"])
        parser.add_argument("election")
        parser.add_argument("path")
        parser.add_argument("--category", default="", help="Código de la categoría (formato provincial sin «cargo»).")
        parser.add_argument("--create-missing", action="store_true")
        parser.add_argument("--user", default="", help="Usuario del responsable que importa (resultados oficiales).")
        parser.add_argument(
            "--check", action="store_true", help="Solo revisar el archivo; se aplica luego desde la consola o la API."
        )

    def handle(self, *args, kind, election, path, category, create_missing, user, check, **options):
        found = Election.objects.filter(slug=election).first()
        if found is None:
            raise CommandError(_("No existe la elección %(slug)r.") % {"slug": election})
        try:
            if kind == "ballot":
                self._print(ballot_import(election=found, source=path).as_dict())
            else:
                self._official(found, kind, Path(path), category, create_missing, user, check)
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from exc

    def _official(self, election, layout, path: Path, code: str, create_missing: bool, username: str, check: bool):
        if not username:
            raise CommandError(_("Indicá quién importa con --user <usuario> (un responsable): queda registrado."))
        actor = get_user_model().objects.filter(username=username).first()
        if actor is None:
            raise CommandError(_("No existe el usuario %(name)r.") % {"name": username})
        if not path.is_file():
            raise CommandError(_("No existe el archivo %(path)s.") % {"path": path})
        chosen = None
        if code:
            # The API's refusal, word for word: a code that names no category of the election.
            chosen = category_get_by_code(election_id=election.pk, code=code)
            if chosen is None:
                raise CommandError(_("Categoría desconocida: %(code)s") % {"code": code})
        shown: dict[str, int] = {}

        def progress(phase: str, done: int, total: int) -> None:
            percent = 100 if not total else min(100, done * 100 // total)
            if percent // 10 > shown.get(phase, -1):  # a line every 10%, whatever the file's size
                shown[phase] = percent // 10
                label = _("Revisando") if phase == "check" else _("Aplicando")
                self.stdout.write(f"{label}: {percent}% ({done // 2**20} / {total // 2**20} MB)")

        with path.open("rb") as handle:
            job = official_import_file(
                election=election,
                layout=layout,
                upload=File(handle, name=path.name),
                actor=actor,
                category=chosen,
                create_missing=create_missing,
                apply=not check,
                on_progress=progress,
            )
        self.stdout.write(
            _("Importación #%(id)s: %(name)s, %(size)s bytes, SHA-256 %(sha)s.")
            % {"id": job.pk, "name": job.file_name, "size": job.file_size, "sha": job.file_sha256}
        )
        if job.state == OfficialImportState.FAILED:
            raise CommandError(job.error_message)
        if job.state == OfficialImportState.PREVIEWED:
            self._print(job.preview)
            self.stdout.write(
                _("Revisado, sin aplicar: aplicalo desde la consola o con POST /api/official-imports/%(id)s/apply/.")
                % {"id": job.pk}
            )
            return
        self._print(job.result)
        self.stdout.write(_("Aplicado: %(n)s actas oficiales.") % {"n": job.result.get("sheets", 0)})

    def _print(self, summary: dict) -> None:
        for name, value in summary.items():
            shown = value if not isinstance(value, list) else f"{len(value)} {value[:10]}"
            self.stdout.write(f"{name}: {shown}")
