"""The national station list as the authority publishes it, on a cut of the real 2019 files.

`fixtures/national-sample/` holds 26 real rows of `paso2019-escuelas.csv` (one row per place with
a range of tables) and the matching rows of the district, section and circuit name files. The
cut keeps every trait the importer must cope with: Buenos Aires numbering per section (tables
490-502 in Almirante Brown and 493-502 in Bahía Blanca), one code on two schools, one school
with two ranges, two circuits named "San Telmo", coordinates written "lat", without a decimal
point or 300 km away, and Antarctic bases.
"""

import io
import random
import zipfile
from pathlib import Path

import pytest
from django.conf import settings

from backend.assignments.models import AssignmentRole
from backend.assignments.services import assignment_create
from backend.core.exceptions import ApplicationError
from backend.elections.models import Area, PollingPlace, Table
from backend.imports.models import BatchStatus, ImportKind
from backend.imports.services import batch_create, batch_run
from tests.factories import ElectionFactory, VolunteerFactory

from .conftest import csv_bytes, xlsx

pytestmark = pytest.mark.django_db
SAMPLE = Path(settings.BASE_DIR) / "fixtures" / "national-sample"
FILES = ["escuelas.csv", "distritos.csv", "secciones.csv", "circuitos.csv"]


def sample_files(**replace: bytes) -> list[tuple[str, bytes]]:
    return [(name, replace.get(name.split(".")[0], (SAMPLE / name).read_bytes())) for name in FILES]


def run_files(election, files, *, dry_run=False, mapping=None, all_or_nothing=False):
    batch = batch_create(
        actor=None,
        election=election,
        kind=ImportKind.STATIONS,
        files=files,
        dry_run=dry_run,
        mapping=mapping,
        all_or_nothing=all_or_nothing,
    )
    return batch_run(batch=batch, dry_run=dry_run)


def escuelas_lines() -> list[str]:
    return (SAMPLE / "escuelas.csv").read_text(encoding="utf-8").splitlines()


def test_list_as_published_imports_every_table_with_names_from_the_companion_files():
    # given
    election = ElectionFactory(slug="paso-2019")

    # when
    batch = run_files(election, sample_files())

    # then: 26 rows, 169 tables, one school with two rows, one code on two schools kept apart
    assert batch.status == BatchStatus.APPLIED and batch.rejected == 0
    assert Table.objects.filter(election=election).count() == 169
    assert PollingPlace.objects.filter(election=election).count() == 25
    assert Area.objects.get(election=election, path="/2/7/").name == "BAHIA BLANCA"
    assert Area.objects.get(election=election, path="/2/").name == "Buenos Aires"
    roles = {f["name"]: f["role"] for f in batch.details["files"]}
    assert roles == {
        "escuelas.csv": "stations",
        "distritos.csv": "names",
        "secciones.csv": "names",
        "circuitos.csv": "names",
    }
    twice = PollingPlace.objects.get(election=election, code="22983")
    assert sorted(twice.tables.values_list("number", flat=True)) == [50, 51, 52, 53, 54, 143, 144, 145]


def test_buenos_aires_numbers_tables_per_section_and_every_one_is_kept():
    election = ElectionFactory(slug="paso-2019")

    batch = run_files(election, sample_files())

    assert batch.details["numbered_by_section"] == ["2"]
    # Table 495 exists in Almirante Brown (section 3) and in Bahía Blanca (section 7).
    both = Table.objects.filter(election=election, number=495).select_related("district", "place__area")
    assert sorted(t.district.path for t in both) == ["/2/3/", "/2/7/"]
    assert all(t.place.area.path.startswith(t.district.path) for t in both)
    # The capital numbers per district.
    assert set(
        Table.objects.filter(election=election, place__area__path__startswith="/1/").values_list(
            "district__path", flat=True
        )
    ) == {"/1/"}


def test_circuits_with_the_same_name_stay_distinct_by_official_code():
    election = ElectionFactory(slug="paso-2019")

    run_files(election, sample_files())

    san_telmo = Area.objects.filter(election=election, name="San Telmo").order_by("path")
    assert [a.path for a in san_telmo] == ["/1/1/1/", "/1/1/2/"]
    assert {a.kind for a in san_telmo} == {"circuito"}


def test_electors_of_a_place_are_divided_over_its_tables_and_the_preview_says_so():
    election = ElectionFactory(slug="paso-2019")

    batch = run_files(election, sample_files())

    assert batch.details["electors_per"] == "place"
    place = PollingPlace.objects.get(election=election, code="32493")  # 4200 electors, tables 1-12
    electors = list(place.tables.order_by("number").values_list("electors", flat=True))
    assert electors == [350] * 12
    uneven = PollingPlace.objects.get(election=election, code="32498")  # 2800 electors over 8 tables
    assert sum(uneven.tables.values_list("electors", flat=True)) == 2800


def test_one_code_on_two_schools_is_a_conflict_on_both_rows_never_a_merge():
    election = ElectionFactory(slug="paso-2019")

    batch = run_files(election, sample_files())

    places = PollingPlace.objects.filter(election=election, code__startswith="nueva.14").order_by("code")
    assert [(p.code, p.name, p.area.path) for p in places] == [
        ("nueva.14-2-59-437", "ESCUELA EDUC.ESPECIAL N°501", "/2/59/437/"),
        ("nueva.14-2-64-527", "ESCUELA ES N°1", "/2/64/527/"),
    ]
    reasons = dict(batch.rows.values_list("row_number", "reason"))
    lines = [n for n, line in enumerate(escuelas_lines(), start=1) if ",nueva.14," in line]
    assert len(lines) == 2
    assert all("el código nueva.14 también es de" in reasons[n] for n in lines)
    assert batch.details["conflicts"] == 2


def test_reimport_changes_nothing_whatever_the_order_of_the_rows():
    # given
    election = ElectionFactory(slug="paso-2019")
    run_files(election, sample_files())
    before = sorted(PollingPlace.objects.filter(election=election).values_list("code", "name", "area__path"))
    header, *rows = escuelas_lines()
    random.Random(7).shuffle(rows)
    shuffled = "\n".join([header, *reversed(rows)]).encode()

    # when
    again = run_files(election, sample_files(escuelas=shuffled))

    # then
    assert (again.created, again.updated, again.rejected) == (0, 0, 0)
    assert again.summary.startswith("Sin cambios")
    after = sorted(PollingPlace.objects.filter(election=election).values_list("code", "name", "area__path"))
    assert after == before
    assert Table.objects.filter(election=election).count() == 169


def test_coordinates_written_as_text_without_decimal_point_or_far_away_are_flagged_and_not_stored():
    election = ElectionFactory(slug="paso-2019")

    batch = run_files(election, sample_files())

    def place(code):
        return PollingPlace.objects.get(election=election, code=code)

    reasons = {r.reason for r in batch.rows.filter(has_warning=True)}
    assert place("15474").latitude is None  # "lat", "lon"
    assert place("3728").latitude is None  # -34819
    assert place("3719").longitude is None  # -58362
    assert place("4035").latitude is None  # 300 km from the other places of Bahía Blanca
    assert place("28887").latitude == -34.81275  # a good one is kept
    assert place("27437").latitude == pytest.approx(-64.24398)  # an Antarctic base is in the country
    assert any("texto en lugar de un número" in r for r in reasons)
    assert any("sin punto decimal" in r for r in reasons)
    assert any("km de los demás establecimientos de su sección" in r for r in reasons)
    assert batch.details["coordinates_flagged"] == 7


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("POINT(-58.370293 -34.621698)", (-34.621698, -58.370293)),
        ("SRID=4326;POINT(-58.370293 -34.621698)", (-34.621698, -58.370293)),
        # EWKB as PostGIS prints it: little endian, point with SRID 4326
        (
            "0101000020E6100000" + __import__("struct").pack("<dd", -58.370293, -34.621698).hex(),
            (-34.621698, -58.370293),
        ),
        ("POINT(-3.70379 40.416775)", None),  # Madrid: outside Argentina
    ],
)
def test_a_geometry_column_in_wkt_or_ewkb_gives_the_coordinates(cell, expected):
    election = ElectionFactory(slug="geom")
    data = csv_bytes(
        [
            ["distrito_nro", "seccion_nro", "escuela_nro", "escuela", "mesa", "geom"],
            [1, 1, "100", "Escuela 100", 1, cell],
        ]
    )

    batch = run_files(election, [("mesas.csv", data)])

    place = PollingPlace.objects.get(election=election, code="100")
    got = (place.latitude, place.longitude) if place.latitude is not None else None
    assert got == (pytest.approx(expected[0]), pytest.approx(expected[1])) if expected else got is None
    if expected is None:
        assert "fuera de la Argentina" in batch.rows.get().reason


def test_comma_decimals_are_read():
    election = ElectionFactory(slug="comma")
    data = csv_bytes(
        [
            ["Distrito", "Código establecimiento", "Establecimiento", "Mesa", "Latitud", "Longitud"],
            ["Córdoba", "C-1", "Escuela 1", 1, "-31,4201", "-64,1888"],
        ]
    )

    run_files(election, [("mesas.csv", data)])

    place = PollingPlace.objects.get(election=election, code="C-1")
    assert (place.latitude, place.longitude) == (-31.4201, -64.1888)


def test_range_columns_are_never_taken_for_the_table_number_and_unknown_columns_are_listed():
    # given: "mesa_desde" starts with "mesa"; the old importer took it for the table number
    election = ElectionFactory(slug="range")
    data = xlsx(
        [
            ["Distrito", "Código establecimiento", "Establecimiento", "mesa_desde", "mesa_hasta", "Zona de riesgo"],
            ["Córdoba", "C-1", "Escuela 1", 1, 10, "alta"],
            ["Córdoba", "C-2", "Escuela 2", 11, 20, "baja"],
        ]
    )

    # when
    batch = run_files(election, [("mesas.xlsx", data)])

    # then
    assert Table.objects.filter(election=election).count() == 20
    columns = {c["header"]: c for c in batch.details["files"][0]["columns"]}
    assert columns["mesa_desde"]["field"] == "range_from"
    assert columns["mesa_hasta"]["field"] == "range_to"
    assert columns["Zona de riesgo"]["status"] == "unknown"


def test_ambiguous_columns_stop_the_import_until_the_lead_maps_them_by_hand():
    # given: two columns that both read as the table number
    election = ElectionFactory(slug="ambiguous")
    data = xlsx(
        [
            ["Distrito", "Código establecimiento", "Establecimiento", "Mesa", "Nro. Mesa"],
            ["Córdoba", "C-1", "Escuela 1", "viejo", 7],
        ]
    )

    # when / then
    with pytest.raises(ApplicationError) as error:
        run_files(election, [("mesas.xlsx", data)])
    assert error.value.code == "ambiguous_columns"
    assert "Mesa" in str(error.value.message) and "Nro. Mesa" in str(error.value.message)
    assert not Area.objects.filter(election=election).exists()

    # when the lead maps one and ignores the other
    batch = run_files(election, [("mesas.xlsx", data)], mapping={"Nro. Mesa": "table_number", "Mesa": ""})

    # then
    assert list(Table.objects.filter(election=election).values_list("number", flat=True)) == [7]
    statuses = {c["header"]: c["status"] for c in batch.details["files"][0]["columns"]}
    assert statuses["Nro. Mesa"] == "mapped" and statuses["Mesa"] == "ignored"


def test_a_mapping_to_an_unknown_field_is_refused():
    election = ElectionFactory(slug="badmap")
    with pytest.raises(ApplicationError) as error:
        run_files(election, sample_files(), mapping={"Mesa": "mesa_numero"})
    assert error.value.code == "bad_mapping"


def test_table_code_identifies_the_table_when_the_list_has_one():
    election = ElectionFactory(slug="codes")
    rows = [
        ["Distrito", "Sección", "Código establecimiento", "Establecimiento", "Código de mesa", "Mesa"],
        ["Buenos Aires", "La Plata", "BA-1", "Escuela 1", "0200100001", 1],
        ["Buenos Aires", "Berisso", "BA-2", "Escuela 2", "0200200001", 1],
    ]
    run_files(election, [("mesas.xlsx", xlsx(rows))])
    rows[1][3] = "Escuela 1 (renombrada)"
    rows[2][2] = "BA-1"  # the table moved to the other place

    batch = run_files(election, [("mesas.xlsx", xlsx([rows[0], rows[2]]))])

    table = Table.objects.get(election=election, code="0200200001")
    assert table.place.code == "BA-1"
    assert Table.objects.filter(election=election).count() == 2
    assert batch.details["tables_updated"] == 1


def test_a_row_repeating_tables_is_rejected_whole_and_leaves_no_half_area_tree():
    election = ElectionFactory(slug="dup")
    data = csv_bytes(
        [
            ["distrito_nro", "seccion_nro", "circuito_nro", "escuela_nro", "escuela", "desde", "hasta", "cant_mesas"],
            [5, 1, 1, "10", "Escuela A", 1, 5, 5],
            [5, 1, 2, "11", "Escuela B", 4, 6, 3],  # 4 and 5 again, in the same section
            [5, 1, 1, "12", "Escuela C", 7, 8, 3],  # the count does not match the range
        ]
    )

    batch = run_files(election, [("mesas.csv", data)])

    assert batch.rejected == 2
    reasons = dict(batch.rows.values_list("row_number", "reason"))
    assert "la mesa 4 ya figura en la fila 2" in reasons[3]
    assert "tiene 2 mesas pero la cantidad dice 3" in reasons[4]
    assert not PollingPlace.objects.filter(election=election, code__in=["11", "12"]).exists()
    assert not Area.objects.filter(election=election, path="/5/1/2/").exists()
    assert Table.objects.filter(election=election).count() == 5


def test_all_or_nothing_writes_nothing_when_any_row_is_rejected():
    election = ElectionFactory(slug="strict")
    lines = escuelas_lines()
    broken = "\n".join([*lines, "2,7,86,99999,ESCUELA ROTA,CALLE 1,BAHIA BLANCA,10,5,0,,0,0,,"]).encode()

    batch = run_files(election, sample_files(escuelas=broken), all_or_nothing=True)

    assert batch.rejected == 1 and batch.details["aborted"] is True
    assert batch.status == BatchStatus.PREVIEWED
    assert batch.summary.startswith("No se guardó nada")
    assert not Table.objects.filter(election=election).exists()
    assert not Area.objects.filter(election=election).exists()


def test_dry_run_shows_changes_old_to_new_and_tables_gone_with_their_watchers():
    # given: the sample imported, a watcher at table 1 of the first school
    election = ElectionFactory(slug="paso-2019")
    run_files(election, sample_files())
    place = PollingPlace.objects.get(election=election, code="32493")
    table = place.tables.get(number=1)
    volunteer = VolunteerFactory(area=place.area)
    assignment_create(
        volunteer=volunteer, place=place, table=table, role=AssignmentRole.TABLE, source="manual", notify=False
    )
    header, _first, *rest = escuelas_lines()
    renamed = [line.replace("INST MARIA AUXILIADORA", "INSTITUTO MARÍA AUXILIADORA") for line in rest]

    # when: a new list without the first school, another one renamed
    batch = run_files(election, sample_files(escuelas="\n".join([header, *renamed]).encode()), dry_run=True)

    # then
    assert batch.status == BatchStatus.PREVIEWED
    assert {
        "what": "establecimiento 32498",
        "field": "name",
        "old": "INST MARIA AUXILIADORA",
        "new": "INSTITUTO MARÍA AUXILIADORA",
    } in batch.details["changes"]
    assert batch.details["tables_removed"] == 12
    gone = {r["number"]: r for r in batch.details["removed"] if r["place_code"] == "32493"}
    assert gone[1]["watchers"] == 1 and gone[2]["watchers"] == 0
    assert PollingPlace.objects.get(election=election, code="32498").name == "INST MARIA AUXILIADORA"


def test_a_zip_of_the_files_imports_the_same_as_the_files_sent_together():
    election = ElectionFactory(slug="zip")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in sample_files():
            archive.writestr(f"paso2019/{name}", data)
        archive.writestr("paso2019/categorias.csv", "opcion_codigo,partido_codigo,partido_nombre\n13,13,MAS\n")

    batch = run_files(election, [("paso2019.zip", buffer.getvalue())])

    assert Table.objects.filter(election=election).count() == 169
    roles = {f["name"]: (f["role"], f["reason"]) for f in batch.details["files"]}
    assert roles["categorias.csv"][0] == "unused"  # listed, never silently ignored
    assert "no tiene columnas" in roles["categorias.csv"][1]


def test_the_report_of_a_list_sent_with_its_name_files_repeats_the_rows_of_the_list():
    from openpyxl import load_workbook

    from backend.imports.services import batch_report

    election = ElectionFactory(slug="report")
    batch = run_files(election, sample_files())

    batch = batch_report(batch=batch)

    with batch.report.open("rb") as handle:
        sheet = load_workbook(handle, read_only=True).active
        rows = list(sheet.iter_rows(values_only=True))
    text = " ".join(str(c) for row in rows for c in row if c is not None)
    assert "ESCUELA ES N°1" in text and "también es de" in text
    assert len(rows) >= 27  # the header and the 26 rows of escuelas.csv


def test_a_later_list_without_the_name_files_keeps_the_names_it_cannot_see():
    # given: the list imported with its name files
    election = ElectionFactory(slug="names")
    run_files(election, sample_files())

    # when: the list alone
    again = run_files(election, [("escuelas.csv", (SAMPLE / "escuelas.csv").read_bytes())])

    # then: "Sección 7" does not replace "BAHIA BLANCA"
    assert Area.objects.get(election=election, path="/2/7/").name == "BAHIA BLANCA"
    assert again.details["areas_updated"] == 0 and again.updated == 0
