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
