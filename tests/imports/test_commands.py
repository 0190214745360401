"""`import_stations` and `import_roster` management commands."""

import pytest
from django.core.management import CommandError, call_command

from backend.elections.models import PollingPlace, Table
from backend.imports.models import ImportBatch
from backend.volunteers.models import Volunteer
from tests.factories import ElectionFactory

from .conftest import ROSTER_HEADER, xlsx

pytestmark = pytest.mark.django_db


def test_import_stations_and_roster_commands(tmp_path, capsys):
    # given
    election = ElectionFactory(slug="cmd-2027")
    stations = tmp_path / "mesas.xlsx"
    stations.write_bytes(
        xlsx(
            [
                ["Distrito", "Localidad", "Código establecimiento", "Establecimiento", "Mesa"],
                ["Córdoba", "Jesús María", "CO.1", "Escuela Norte", 1],
                ["Córdoba", "Jesús María", "CO.1", "Escuela Norte", 2],
            ]
        )
    )
    roster = tmp_path / "fiscales.xlsx"
    roster.write_bytes(xlsx([ROSTER_HEADER, ["García, Ana", "30111111", "15-412-3456", "", "Jesús María", "CO.1"]]))

    # when
    call_command("import_stations", str(stations), "--election", "cmd-2027", "--dry-run")
    assert not Table.objects.exists()
    call_command("import_stations", str(stations), "--election", "cmd-2027")
    call_command("import_roster", str(roster), "--election", "cmd-2027", "--default-area-code", "351")
    call_command("import_roster", str(roster), "--election", "cmd-2027", "--default-area-code", "351")

    # then
    out = capsys.readouterr().out
    assert Table.objects.filter(election=election).count() == 2
    volunteer = Volunteer.objects.get()
    assert volunteer.phone == "+5493514123456"
    assert volunteer.votes_at == PollingPlace.objects.get(code="CO.1")
    assert "Sin cambios" in out.splitlines()[-1] or "Sin cambios" in out
    assert ImportBatch.objects.count() == 4 and ImportBatch.objects.filter(created_by__isnull=True).count() == 4


def test_command_errors_are_clear(tmp_path):
    ElectionFactory(slug="cmd-2027")
    bad = tmp_path / "x.xlsx"
    bad.write_bytes(b"%PDF-1.4")

    with pytest.raises(CommandError, match="no es una planilla"):
        call_command("import_roster", str(bad), "--election", "cmd-2027")
    with pytest.raises(CommandError, match="No existe la elección"):
        call_command("import_roster", str(bad), "--election", "nope")


def test_import_stations_takes_the_national_files_as_published_with_a_mapping_and_a_progress_bar(tmp_path, capsys):
    # given: the real cut of the 2019 list, its name files, and a renamed column the lead maps by hand
    from pathlib import Path

    from django.conf import settings

    sample = Path(settings.BASE_DIR) / "fixtures" / "national-sample"
    ElectionFactory(slug="paso-2019")
    escuelas = tmp_path / "escuelas.csv"
    escuelas.write_text((sample / "escuelas.csv").read_text().replace("cant_mesas", "total_de_urnas", 1))
    names = [str(sample / n) for n in ("distritos.csv", "secciones.csv", "circuitos.csv")]

    # when
    call_command(
        "import_stations", str(escuelas), *names, "--election", "paso-2019", "--map", "total_de_urnas=table_count"
    )

    # then
    captured = capsys.readouterr()
    assert Table.objects.filter(election__slug="paso-2019").count() == 169
    assert "mesas: 169 nuevas" in captured.out
    assert "seccion_politica" in captured.out  # an unused column is listed
    assert "Leyendo" in captured.err and "filas" in captured.err  # the progress bar


def test_import_stations_refuses_a_mapping_to_an_unknown_field(tmp_path):
    ElectionFactory(slug="cmd-2027")
    path = tmp_path / "mesas.csv"
    path.write_text("x\n1\n")

    with pytest.raises(CommandError, match="Campo desconocido"):
        call_command("import_stations", str(path), "--election", "cmd-2027", "--map", "Mesa=numero")
