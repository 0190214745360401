"""Roster import rules, with workbooks built in the test."""

import pytest
from django.db.models import signals

from backend.imports.models import BatchStatus, ImportRow, RowStatus
from backend.volunteers.models import Availability, RolesAccepted, Volunteer
from tests.factories import VolunteerFactory

from .conftest import ROSTER_HEADER, csv_bytes, run_roster, xlsx

pytestmark = pytest.mark.django_db


def rows_of(batch) -> dict[int, ImportRow]:
    return {r.row_number: r for r in batch.rows.all()}


def test_messy_roster_is_read_below_a_title_with_every_cleaning_rule(geo):
    # given
    data = xlsx(
        [
            [*ROSTER_HEADER, "Disponibilidad", "Rol"],
            ["GARCÍA, María José", "30.123.456", "(0351) 15 412 3456", "MJ@Example.org", "", "", "solo mañana", "mesa"],
            ["Juan Pérez", 28123456.0, 5491145678901, "no-es-mail", "", "", "Todo el día", "fiscal general"],
            [None, None, None, None],
            ["Ana de la Fuente", "DNI 27123456", "+54 9 11 4567 0000", "", "", "", "tarde", "cualquiera"],
            ["TOTAL", "3", None, None],
        ],
        title_rows=[["Padrón de fiscales"], ["Generado el 1/9"], []],
    )

    # when
    batch = run_roster(geo.election, data)

    # then
    assert (batch.status, batch.created, batch.rejected, batch.warnings) == (BatchStatus.APPLIED, 3, 0, 1)
    assert batch.header_row == 4
    maria = Volunteer.objects.get(dni="30123456")
    assert (maria.first_name, maria.last_name, maria.phone, maria.email) == (
        "María José",
        "García",
        "+5493514123456",
        "mj@example.org",
    )
    assert (maria.availability, maria.roles_accepted, maria.source_batch) == (
        Availability.MORNING,
        RolesAccepted.TABLE,
        batch,
    )
    juan = Volunteer.objects.get(dni="28123456")
    assert (juan.phone, juan.email, juan.roles_accepted) == ("+5491145678901", "", RolesAccepted.PLACE)
    assert "email inválido" in rows_of(batch)[6].reason
    ana = Volunteer.objects.get(dni="27123456")
    assert (ana.last_name, ana.availability, ana.roles_accepted) == ("de la Fuente", "afternoon", "any")
    assert batch.row_statuses[8] == "."  # the totals row (row 9) is skipped, not rejected


def test_bad_dni_bad_phone_and_missing_area_code_reject_the_row_and_name_why(geo):
    data = xlsx(
        [
            ROSTER_HEADER,
            ["Uno", "30.123", "351 15 412 3456"],
            ["Dos", "30111222", "hola"],
            ["Tres", "30111333", "15-412-3456"],
            ["Cuatro", "30111444", "0351 15 412 9999"],
        ]
    )

    batch = run_roster(geo.election, data)

    reasons = {n: r.reason for n, r in rows_of(batch).items()}
    assert batch.rejected == 3 and batch.created == 1
    assert "DNI inválido" in reasons[2] and "30.123" in reasons[2]
    assert "celular inválido" in reasons[3]
    assert "código de área" in reasons[4]
    assert list(Volunteer.objects.values_list("dni", flat=True)) == ["30111444"]


def test_default_area_code_completes_local_numbers_with_a_warning(geo):
    data = xlsx([ROSTER_HEADER, ["Tres", "30111333", "15-412-3456"]])

    batch = run_roster(geo.election, data, default_area_code="0351")

    assert batch.created == 1 and batch.warnings == 1
    assert Volunteer.objects.get(dni="30111333").phone == "+5493514123456"
    assert "se usó 351" in rows_of(batch)[2].reason


def test_landline_written_number_is_stored_as_mobile_with_a_row_warning(geo):
    batch = run_roster(geo.election, xlsx([ROSTER_HEADER, ["Fijo", "30111555", "11 4567-8901"]]))

    assert Volunteer.objects.get(dni="30111555").phone == "+5491145678901"
    row = rows_of(batch)[2]
    assert row.has_warning and "fijo" in row.reason


def test_same_dni_twice_is_one_volunteer_rows_merged_and_reported(geo):
    data = xlsx(
        [
            [*ROSTER_HEADER, "Disponibilidad"],
            ["GARCÍA, María", "30.123.456", "351 15 412 3456", "", "", "", ""],
            ["María García", 30123456, "351 15 412 3456", "maria@example.org", "", "", "tarde"],
        ]
    )

    batch = run_roster(geo.election, data)

    volunteer = Volunteer.objects.get()
    assert (volunteer.email, volunteer.availability) == ("maria@example.org", "afternoon")
    assert (batch.created, batch.merged) == (1, 1)
    merged = rows_of(batch)[3]
    assert merged.status == RowStatus.MERGED and "fila 2" in merged.reason


def test_same_phone_under_two_dnis_rejects_both_and_writes_neither(geo):
    data = xlsx(
        [
            ROSTER_HEADER,
            ["Uno", "30111111", "351 15 412 3456"],
            ["Dos", "30222222", "+54 9 351 412-3456"],
            ["Tres", "30333333", "351 15 999 0000"],
        ]
    )

    batch = run_roster(geo.election, data)

    assert list(Volunteer.objects.values_list("dni", flat=True)) == ["30333333"]
    rows = rows_of(batch)
    assert rows[2].status == rows[3].status == RowStatus.REJECTED
    assert "fila 3" in rows[2].reason and "fila 2" in rows[3].reason


@pytest.fixture(params=["in-lists", "table-scan"])
def lookup(request, monkeypatch):
    """Both ways of reading the database: IN lists (small files) and one table scan (large files)."""
    if request.param == "table-scan":
        monkeypatch.setattr("backend.imports.roster.QUERY_CHUNK", 0)
    return request.param


def test_phone_of_another_volunteer_in_the_database_is_never_overwritten(geo, lookup):
    # given
    owner = VolunteerFactory(dni="20000001", phone="+5493514123456")

    # when someone else's row claims that phone
    batch = run_roster(geo.election, xlsx([ROSTER_HEADER, ["Otra", "30999999", "351 15 412 3456"]]))

    # then
    assert batch.rejected == 1 and not Volunteer.objects.filter(dni="30999999").exists()
    owner.refresh_from_db()
    assert owner.phone == "+5493514123456"
    assert "otro fiscal" in rows_of(batch)[2].reason


def test_existing_volunteer_is_updated_with_changed_fields_listed_and_never_duplicated(geo, lookup):
    # given
    VolunteerFactory(dni="30123456", first_name="María", last_name="García", phone="+5493510000000", email="")

    # when
    batch = run_roster(
        geo.election, xlsx([ROSTER_HEADER, ["GARCÍA, María", "30.123.456", "351 15 412 3456", "m@example.org"]])
    )

    # then
    assert (batch.created, batch.updated) == (0, 1)
    assert Volunteer.objects.count() == 1
    volunteer = Volunteer.objects.get()
    assert (volunteer.phone, volunteer.email) == ("+5493514123456", "m@example.org")
    assert rows_of(batch)[2].reason == "cambió: celular, email"


def test_reimporting_the_same_file_changes_nothing_and_says_so(geo, lookup):
    data = xlsx([ROSTER_HEADER, ["Uno", "30111111", "351 15 412 3456"], ["Dos", "30222222", "11 15 4567 8901"]])
    run_roster(geo.election, data)
    before = list(Volunteer.objects.order_by("dni").values())

    again = run_roster(geo.election, data)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert again.summary.startswith("Sin cambios")
    assert "mismo archivo" in again.summary
    assert list(Volunteer.objects.order_by("dni").values()) == before


def test_dry_run_counts_without_writing_volunteers(geo):
    data = xlsx([ROSTER_HEADER, ["Uno", "30111111", "351 15 412 3456"], ["Dos", "30.1", "351 15 412 0000"]])

    batch = run_roster(geo.election, data, dry_run=True)

    assert (batch.status, batch.created, batch.rejected) == (BatchStatus.PREVIEWED, 1, 1)
    assert "Todavía no se guardó nada" in batch.summary
    assert not Volunteer.objects.exists()


def test_apply_is_one_transaction_all_rows_or_none(geo):
    # given a failure while writing the batch after the volunteers were inserted
    data = xlsx([ROSTER_HEADER, ["Uno", "30111111", "351 15 412 3456"], ["Dos", "30222222", "351 15 412 0000"]])

    def explode(sender, instance, **kwargs):
        if instance.status == BatchStatus.APPLIED:
            raise RuntimeError("disk full")

    from backend.imports.models import ImportBatch

    signals.pre_save.connect(explode, sender=ImportBatch)
    try:
        with pytest.raises(RuntimeError):
            run_roster(geo.election, data)
    finally:
        signals.pre_save.disconnect(explode, sender=ImportBatch)

    # then no volunteer landed, and the batch says it failed
    assert not Volunteer.objects.exists()
    assert ImportBatch.objects.get().status == BatchStatus.FAILED


def test_votes_at_matched_by_code_or_fuzzy_name_within_locality_with_score(geo):
    data = xlsx(
        [
            ROSTER_HEADER,
            ["Uno", "30111111", "351 15 412 3456", "", "", "S-1"],
            ["Dos", "30222222", "351 15 412 0000", "", "Jesús María", "esc. nort"],
            ["Tres", "30333333", "351 15 412 1111", "", "Jesus Maria", "Instituto Inexistente Sarasa"],
        ]
    )

    batch = run_roster(geo.election, data)

    uno, dos, tres = (Volunteer.objects.get(dni=d) for d in ("30111111", "30222222", "30333333"))
    assert (uno.votes_at, uno.votes_at_score) == (geo.south_place, 100.0)
    assert dos.votes_at == geo.north_place and 80 <= dos.votes_at_score < 100
    assert dos.area == geo.north_town
    assert tres.votes_at is None and tres.area == geo.north_town
    assert "no se encontró el establecimiento" in rows_of(batch)[4].reason


def test_formulas_are_never_imported_as_formulas(geo):
    # given a csv with formula text and a workbook with a formula cell
    data = csv_bytes(
        [[*ROSTER_HEADER, "Notas"], ['=HYPERLINK("http://x","Ana")', "30111111", "351 15 412 3456", "", "", "", "=1+1"]]
    )
    data_xlsx = xlsx([[*ROSTER_HEADER, "Notas"], ["Beto", "30222222", "351 15 412 0000", "", "", "", "=2+2"]])

    first = run_roster(geo.election, data, name="fiscales.csv")
    run_roster(geo.election, data_xlsx)

    assert first.rejected == 1 and "falta el nombre" in rows_of(first)[2].reason
    beto = Volunteer.objects.get(dni="30222222")
    assert "=" not in beto.notes
    assert not Volunteer.objects.filter(notes__startswith="=").exists()


def test_csv_with_semicolons_and_latin1_encoding(geo):
    data = "Apellido;Nombre;DNI;Teléfono\nPÉREZ;José;30.111.111;0351 15 412 3456\n".encode("cp1252")

    batch = run_roster(geo.election, data, name="padron.csv")

    assert batch.created == 1
    volunteer = Volunteer.objects.get()
    assert (volunteer.first_name, volunteer.last_name) == ("José", "Pérez")


def test_messages_follow_the_leads_language(geo):
    data = xlsx([ROSTER_HEADER, ["Uno", "30.1", "351 15 412 3456"]])

    batch = run_roster(geo.election, data, dry_run=True, language="en")

    assert batch.language == "en"
    assert rows_of(batch)[2].reason == "invalid DNI: «30.1» (must be 7 or 8 digits)"
    assert batch.summary.startswith("Preview: 0 new, 0 updated, 0 unchanged, 0 with warnings, 1 rejected")
