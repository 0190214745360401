"""The one bulk writer: COPY on PostgreSQL, batched INSERTs on SQLite, the same rows either way."""

import pytest
from django.db import connection

from backend.core.bulk import bulk_insert, insert_rows
from backend.imports.models import ImportBatch, ImportKind, ImportRow
from backend.notices.models import Notice, NoticeKind
from backend.notices.services import notice_build
from backend.volunteers.models import Volunteer

from ..factories import VolunteerFactory

pytestmark = pytest.mark.django_db


def test_rows_built_by_the_single_write_constructor_land_with_defaults_json_and_timestamps():
    # given: notices built by the same constructor a single notice uses
    volunteers = [VolunteerFactory() for _i in range(3)]
    built = [
        notice_build(volunteer_id=v.pk, kind=NoticeKind.INSTRUCTION, payload={"text": f"Hola {i} ñandú"})
        for i, v in enumerate(volunteers)
    ]
    # when
    written = bulk_insert(Notice, built, batch_size=2)
    # then
    rows = list(Notice.objects.order_by("volunteer_id").values("volunteer_id", "kind", "payload", "processed_at"))
    assert written == 3
    assert [r["payload"]["text"] for r in rows] == ["Hola 0 ñandú", "Hola 1 ñandú", "Hola 2 ñandú"]
    assert {r["kind"] for r in rows} == {"instruction"} and {r["processed_at"] for r in rows} == {None}
    stamps = set(Notice.objects.values_list("created_at", flat=True))
    assert len(stamps) == 1 and None not in stamps


def test_dict_rows_get_model_defaults_for_the_fields_they_leave_out(geo):
    # when: only the fields that vary are given
    bulk_insert(
        Volunteer,
        [{"dni": str(40_000_000 + i), "first_name": f"Nombre {i}", "last_name": "Apellido"} for i in range(5)],
    )
    # then
    rows = Volunteer.objects.filter(last_name="Apellido")
    assert rows.count() == 5
    assert set(rows.values_list("availability", "roles_accepted", "opted_out", "excluded")) == {
        (
            Volunteer._meta.get_field("availability").default,
            Volunteer._meta.get_field("roles_accepted").default,
            False,
            False,
        )
    }


def test_nothing_to_write_touches_nothing():
    assert bulk_insert(Notice, []) == 0
    assert Notice.objects.count() == 0
    assert connection.vendor in {"sqlite", "postgresql"}


def test_a_violated_constraint_is_djangos_integrity_error_on_every_database():
    # given: a DNI that exists already
    from django.db import IntegrityError, transaction

    VolunteerFactory(dni="41000000")
    # when / then: COPY on PostgreSQL and INSERT on SQLite raise the same error, and nothing lands
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert(Volunteer, [{"dni": "41000001", "first_name": "A"}, {"dni": "41000000", "first_name": "B"}])
    assert not Volunteer.objects.filter(dni="41000001").exists()


def test_a_generator_of_rows_is_written_a_chunk_at_a_time_and_completely(geo):
    # given report rows produced one by one, more than three chunks of them, never held in a list
    batch = ImportBatch.objects.create(kind=ImportKind.ROSTER, election=geo.election, file_name="f.xlsx")
    produced = []

    def rows():
        for number in range(1, 8):
            produced.append(number)
            yield (batch.pk, number, "rejected", f"motivo {number}", False)

    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            (cache_before,) = cursor.fetchone()

    # when
    columns = ["batch_id", "row_number", "status", "reason", "has_warning"]
    insert_rows(ImportRow._meta.db_table, columns, rows(), batch_size=2)

    # then every row landed, and SQLite's page cache is back to its size
    assert produced == list(range(1, 8))
    assert list(batch.rows.order_by("row_number").values_list("row_number", "reason")) == [
        (n, f"motivo {n}") for n in range(1, 8)
    ]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            assert cursor.fetchone() == (cache_before,)
