"""Station list import: the real Córdoba file, idempotence, header detection and row problems."""

from pathlib import Path

import pytest
from django.conf import settings

from backend.elections.models import Area, PollingPlace, Table
from backend.imports.models import BatchStatus
from tests.factories import ElectionFactory

from .conftest import run_stations, xlsx

pytestmark = pytest.mark.django_db
CORDOBA = Path(settings.BASE_DIR) / "fixtures" / "cordoba-2019-mesas.xlsx"


def test_real_cordoba_file_imports_completely_and_reimport_changes_nothing():
    # given
    election = ElectionFactory(slug="cba-2019")
    data = CORDOBA.read_bytes()

    # when
    first = run_stations(election, data, name="cordoba-2019-mesas.xlsx")

    # then
    depth = {d: Area.objects.filter(election=election, depth=d).count() for d in (0, 1, 2)}
    assert depth == {0: 1, 1: 26, 2: 497}
    assert PollingPlace.objects.filter(election=election).count() == 1220
    assert Table.objects.filter(election=election).count() == 8653
    assert (first.status, first.created, first.rejected) == (BatchStatus.APPLIED, 8653, 0)
    assert first.details["places_created"] == 1220 and first.details["areas_created"] == 524

    # when imported again
    again = run_stations(election, data, name="cordoba-2019-mesas.xlsx")

    # then
    assert (again.created, again.updated, again.unchanged) == (0, 0, 8653)
    assert again.summary.startswith("Sin cambios")
    assert Table.objects.filter(election=election).count() == 8653


def test_dry_run_counts_and_writes_no_station(geo):
    data = xlsx(
        [
            ["Distrito", "Sección", "Circuito", "Código establecimiento", "Establecimiento", "Mesa", "Electores"],
            ["Buenos Aires", "La Plata", "1", "BA-1", "Escuela 1", 1, 350],
            ["Buenos Aires", "La Plata", "1", "BA-1", "Escuela 1", 2, 348],
        ]
    )
    election = ElectionFactory(slug="ba")

    batch = run_stations(election, data, dry_run=True)

    assert (batch.status, batch.created) == (BatchStatus.PREVIEWED, 2)
    assert not Area.objects.filter(election=election).exists()
    assert not Table.objects.filter(election=election).exists()


def test_header_below_titles_with_coordinates_and_problem_rows_reported():
    election = ElectionFactory(slug="ba2")
    data = xlsx(
        [
            ["Distrito", "Sección", "Código establecimiento", "Establecimiento", "Dirección", "Lat", "Lon", "Mesa"],
            ["Buenos Aires", "La Plata", "BA-1", "Escuela 1", "Calle 7 123", "-34.92", "-57.95", 1],
            ["Buenos Aires", "La Plata", "BA-2", "Escuela 2", "", "", "", "sin número"],
            ["Buenos Aires", "La Plata", "", "Escuela 3", "", "", "", 3],
            ["Buenos Aires", "La Plata", "BA-1", "Escuela 1", "", "", "", 1],
            ["Total", "", "", "", "", "", "", ""],
        ],
        title_rows=[["Padrón de mesas - Elecciones 2027"], []],
    )

    batch = run_stations(election, data)

    place = PollingPlace.objects.get(election=election, code="BA-1")
    assert (place.address, place.latitude, place.longitude) == ("Calle 7 123", -34.92, -57.95)
    assert place.area.path == "/buenos-aires/la-plata/"
    reasons = dict(batch.rows.values_list("row_number", "reason"))
    assert batch.header_row == 3
    assert "número de mesa inválido" in reasons[5]
    assert "código de establecimiento" in reasons[6]
    assert "ya figura en la fila 4" in reasons[7]
    assert batch.row_statuses == "...nrrr."  # titles, header, 1 new, 3 rejected, the totals row skipped
    assert (batch.created, batch.rejected) == (1, 3)


def test_missing_column_is_named_and_nothing_is_written():
    election = ElectionFactory(slug="ba3")
    data = xlsx([["Distrito", "Establecimiento", "Mesa"], ["BA", "Escuela 1", 1]])

    from backend.core.exceptions import ApplicationError

    with pytest.raises(ApplicationError) as error:
        run_stations(election, data)

    assert error.value.code == "missing_columns"
    assert "Código establecimiento" in str(error.value.message)
    assert not Area.objects.filter(election=election).exists()
