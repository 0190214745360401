"""Official results (the national long CSV and the wide provincial layout, real files), the quick
count and the discrepancies with their export."""

import csv
import io
from pathlib import Path

import pytest
from django.conf import settings
from openpyxl import Workbook, load_workbook

from backend.core.exceptions import ApplicationError
from backend.count.exports import discrepancies_xlsx
from backend.count.models import BallotList, Category, ResultSheet, SheetSource
from backend.count.results_import import ballot_import, official_import_national, official_import_wide
from backend.count.selectors import discrepancy_list, quick_count
from backend.count.services import SheetFigures, sheet_submit
from backend.count.tallies import tally_rebuild

from ..factories import AreaFactory, ElectionFactory, PollingPlaceFactory, TableFactory

RESULTS = Path(settings.BASE_DIR) / "fixtures" / "results"
CORDOBA = RESULTS / "gobernador-cordoba-2019-20-mesas.csv"
TRENQUE_LAUQUEN = RESULTS / "2023-general-trenque-lauquen-3-mesas.csv"


@pytest.fixture
def cordoba(db):
    """The places and tables of the first 20 rows of the real Córdoba 2019 governor file."""
    election = ElectionFactory(slug="cba-2019", name="Córdoba 2019")
    province = AreaFactory(election=election, kind="distrito", code="CO", name="Provincia de Córdoba")
    capital = AreaFactory(election=election, parent=province, kind="departamento", code="1", name="Capital")
    places = {}
    with CORDOBA.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            code = row["id_ubicacion"].rsplit(".", 1)[0]
            if code not in places:
                places[code] = PollingPlaceFactory(election=election, area=capital, code=code, name=f"Escuela {code}")
            TableFactory(place=places[code], district=province, number=int(row["mesa"]), electors=400)
    governor = Category.objects.create(election=election, code="GOB", name="Gobernador")
    return election, governor


def _ours(election, name="Hacemos por Córdoba"):
    BallotList.objects.filter(category__election=election, name=name).update(ours=True)


def test_the_wide_provincial_file_is_read_by_header_name(cordoba):
    # given
    election, governor = cordoba
    # when
    summary = official_import_wide(election=election, source=CORDOBA, category=governor, create_missing=True)
    # then: 20 tables, 12 parties, the real figures of table 1
    assert (summary.rows, summary.sheets, summary.lists_created, summary.unknown_tables) == (20, 20, 12, [])
    sheet = ResultSheet.objects.get(official=True, table__number=1)
    names = dict(BallotList.objects.values_list("pk", "name"))
    votes = {names[int(k)]: v for k, v in sheet.votes.items()}
    assert votes["Hacemos por Córdoba"] == 69 and votes["Córdoba Cambia"] == 65
    assert (sheet.blank, sheet.null, sheet.challenged, sheet.contested, sheet.voters) == (6, 9, 0, 5, 228)
    # every row of the real feed adds up
    for s in ResultSheet.objects.filter(official=True):
        assert sum(s.votes.values()) + s.blank + s.null + s.contested + s.challenged == s.voters


def test_a_reimport_keeps_the_old_official_sheet(cordoba):
    election, governor = cordoba
    official_import_wide(election=election, source=CORDOBA, category=governor, create_missing=True)
    official_import_wide(election=election, source=CORDOBA, category=governor)
    assert ResultSheet.objects.filter(official=True).count() == 40
    assert ResultSheet.objects.filter(official=True, current=True).count() == 20


def test_unknown_parties_are_reported_without_the_create_option(cordoba):
    election, governor = cordoba
    summary = official_import_wide(election=election, source=CORDOBA, category=governor)
    assert len(summary.unknown_lists) == 12 and "GOB: Hacemos por Córdoba" in summary.unknown_lists


def test_the_national_long_csv_builds_the_ballot_and_a_sheet_per_table_and_category(db):
    # given: Buenos Aires > Trenque Lauquen (section 115), tables 1-3 (the file has no district column)
    election = ElectionFactory(slug="gen-2023", name="Generales 2023")
    province = AreaFactory(election=election, kind="distrito", code="02", name="Buenos Aires")
    section = AreaFactory(election=election, parent=province, kind="seccion", code="115", name="Trenque Lauquen")
    place = PollingPlaceFactory(election=election, area=section, code="TL-1", name="Escuela 1")
    for number in (1, 2, 3):
        TableFactory(place=place, district=section, number=number, electors=350)
    # when
    summary = official_import_national(election=election, source=TRENQUE_LAUQUEN, create_missing=True)
    # then
    assert summary.categories_created == 8 and summary.sheets == 24 and summary.errors == []
    president = Category.objects.get(election=election, name="PRESIDENTE Y VICE")
    sheet = ResultSheet.objects.get(official=True, table__number=1, category=president)
    by_name = {bl.name: sheet.votes[str(bl.pk)] for bl in BallotList.objects.filter(category=president)}
    assert by_name["LA LIBERTAD AVANZA"] == 81 and by_name["JUNTOS POR EL CAMBIO"] == 78
    with TRENQUE_LAUQUEN.open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["mesa_id"] == "1" and r["cargo_nombre"] == "PRESIDENTE Y VICE"]
    assert sheet.voters == sum(int(r["votos_cantidad"]) for r in rows)
    assert sheet.blank == sum(int(r["votos_cantidad"]) for r in rows if r["votos_tipo"] == "EN BLANCO")


def test_columns_are_found_by_name_in_any_order(db):
    # given: the 2025 order (ids at the end) and only the columns we need, unquoted
    election = ElectionFactory(slug="gen-2025", name="Generales 2025")
    province = AreaFactory(election=election, kind="distrito", code="02", name="Buenos Aires")
    place = PollingPlaceFactory(election=election, area=province, code="P-1", name="Escuela")
    TableFactory(place=place, district=province, number=7, electors=350)
    text = (
        "votos_cantidad,votos_tipo,agrupacion_nombre,cargo_nombre,mesa_id,distrito_id,estado_final\n"
        "120,POSITIVO,LISTA A,DIPUTADOS NACIONALES,00007,2,1\n"
        "80,POSITIVO,LISTA B,DIPUTADOS NACIONALES,00007,2,1\n"
        "4,EN BLANCO,,DIPUTADOS NACIONALES,00007,2,1\n"
        "2,NULO,,DIPUTADOS NACIONALES,00007,2,1\n"
    )
    summary = official_import_national(election=election, source=text.encode(), filename="r.csv", create_missing=True)
    sheet = ResultSheet.objects.get(official=True)
    assert summary.sheets == 1 and (sheet.voters, sheet.blank, sheet.null) == (206, 4, 2)


def test_a_file_without_the_needed_columns_says_which(db):
    election = ElectionFactory(slug="x", name="X")
    with pytest.raises(ApplicationError) as err:
        official_import_national(election=election, source=b"mesa_id,cargo_nombre\n1,X\n", filename="r.csv")
    assert "votos_tipo" in err.value.message


def test_ballot_import_from_a_spreadsheet(geo):
    # given: an xlsx built with openpyxl, as a lead would fill it
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Categoría", "Código", "Distrito", "Lista", "Número", "Orden", "Nuestra"])
    sheet.append(["Gobernador", "GOB", "", "Hacemos por Córdoba", "501", 1, "sí"])
    sheet.append(["Gobernador", "GOB", "", "Juntos", "502", 2, ""])
    sheet.append(["Intendente", "INT", "Atlántida", "Vecinal", "1", 1, "si"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    # when
    summary = ballot_import(election=geo.election, source=buffer.getvalue(), filename="boleta.xlsx")
    again = ballot_import(election=geo.election, source=buffer.getvalue(), filename="boleta.xlsx")
    # then
    assert (summary.categories_created, summary.lists_created) == (1, 2)
    assert summary.errors == ["Fila 4: distrito desconocido «Atlántida»."]
    assert (again.categories_created, again.lists_created) == (0, 0)
    assert BallotList.objects.get(name="Hacemos por Córdoba").ours


def _party_sheets_from_official(election, governor, actor=None, change=None):
    """Sheets as the watchers would send them: the official figures, except `change[table] = (list, delta)`."""
    change = change or {}
    for official in ResultSheet.objects.filter(official=True, current=True).select_related("table__place__area"):
        votes = {int(k): v for k, v in official.votes.items()}
        voters = official.voters
        if official.table.number in change:
            list_id, delta = change[official.table.number]
            votes[list_id] += delta
            voters += delta
        sheet_submit(
            table=official.table,
            category=governor,
            figures=SheetFigures(
                votes=votes,
                blank=official.blank,
                null=official.null,
                contested=official.contested,
                challenged=official.challenged,
                voters=voters,
            ),
            source=SheetSource.API,
            actor=actor,
        )


def test_quick_count_per_area(cordoba, lead):
    # given
    election, governor = cordoba
    official_import_wide(election=election, source=CORDOBA, category=governor, create_missing=True)
    _ours(election)
    _party_sheets_from_official(election, governor, actor=lead)
    # when
    count = quick_count(election=election, category=governor)
    # then: every table reported; the real result of those 20 tables
    with CORDOBA.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    ours = sum(int(r["Hacemos por Córdoba"]) for r in rows)
    cambia = sum(int(r["Córdoba Cambia"]) for r in rows)
    assert (count.tables, count.tables_reported, count.electors_share) == (20, 20, 100.0)
    assert count.voters == sum(int(r["cant_votantes"]) for r in rows)
    top = count.lists[0]
    assert (top.name, top.votes, top.ours) == ("Hacemos por Córdoba", ours, True)
    assert count.margin == ours - cambia and count.margin_over == "Córdoba Cambia"
    assert round(sum(t.percent for t in count.lists)) == 100
    # the running sums rebuilt from the sheets (after a bulk write) say the same
    tally_rebuild(election_id=election.pk)
    assert quick_count(election=election, category=governor) == count


def test_discrepancies_ranked_by_votes_at_stake_with_the_export(cordoba, lead, tmp_path):
    # given: the official file took 10 votes from us at table 3 and gave 2 to a rival at table 5
    election, governor = cordoba
    official_import_wide(election=election, source=CORDOBA, category=governor, create_missing=True)
    _ours(election)
    ours = BallotList.objects.get(name="Hacemos por Córdoba")
    cambia = BallotList.objects.get(name="Córdoba Cambia")
    _party_sheets_from_official(election, governor, actor=lead, change={3: (ours.pk, 10), 5: (cambia.pk, -2)})
    # when
    found = discrepancy_list(election=election)
    # then
    assert [(d.table, d.at_stake) for d in found] == [(3, 10), (5, 2)]
    assert found[0].differences["Hacemos por Córdoba"][0] - found[0].differences["Hacemos por Córdoba"][1] == 10
    assert found[0].district == "Provincia de Córdoba" and found[0].section == "Capital"
    # the legal team's spreadsheet, read back with openpyxl
    workbook = load_workbook(io.BytesIO(discrepancies_xlsx(found, base_url="https://fz.example/")))
    rows = list(workbook.active.iter_rows(values_only=True))
    assert rows[0][:6] == ("Distrito", "Sección", "Circuito", "Establecimiento", "Mesa", "Categoría")
    assert rows[1][:7] == (
        "Provincia de Córdoba",
        "Capital",
        None,
        "Escuela CO.1.112.1",
        3,
        "Gobernador",
        "Hacemos por Córdoba",
    )


def test_a_row_of_another_district_does_not_match_our_only_table_with_that_number(db):
    # given: our only table 7 is in district 02; the file's rows are table 7 of district 3 and 02's
    election = ElectionFactory(slug="gen-2025b", name="Generales 2025")
    province = AreaFactory(election=election, kind="distrito", code="02", name="Buenos Aires")
    place = PollingPlaceFactory(election=election, area=province, code="P-1", name="Escuela")
    TableFactory(place=place, district=province, number=7, electors=350)
    header = "votos_cantidad,votos_tipo,agrupacion_nombre,cargo_nombre,mesa_id,distrito_id\n"
    other = "120,POSITIVO,LISTA A,DIPUTADOS NACIONALES,00007,3\n4,EN BLANCO,,DIPUTADOS NACIONALES,00007,3\n"
    ours = "90,POSITIVO,LISTA A,DIPUTADOS NACIONALES,00007,2\n5,EN BLANCO,,DIPUTADOS NACIONALES,00007,2\n"
    # when: only the other district's rows, then both
    with pytest.raises(ApplicationError) as refused:
        official_import_national(
            election=election, source=(header + other).encode(), filename="r.csv", create_missing=True
        )
    summary = official_import_national(
        election=election, source=(header + other + ours).encode(), filename="r.csv", create_missing=True
    )
    # then: district 3's table 7 is unknown, never written over ours
    assert "otro distrito" in refused.value.message
    sheet = ResultSheet.objects.get(official=True)
    assert summary.sheets == 1 and summary.unknown_table_count == 1
    assert (sum(sheet.votes.values()), sheet.blank) == (90, 5)
