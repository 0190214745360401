"""A large roster into an empty volunteers table builds the table's indexes (and, on PostgreSQL, its
unique and foreign-key constraints) once after the load, in the same transaction: afterwards the table
has every one of them, as the migrations define them, and the search finds the people imported.
Whatever goes wrong, nobody ever sees the table without them."""

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction

from backend.volunteers import services
from backend.volunteers.models import Volunteer
from backend.volunteers.selectors import volunteer_search
from tests.factories import VolunteerFactory

from .conftest import ROSTER_HEADER, run_roster, xlsx

pytestmark = pytest.mark.django_db

ROSTER = xlsx(
    [
        ROSTER_HEADER,
        ["García, María José", "30123456", "+54 9 351 500-0039", "", "Jesús María", "Escuela Norte"],
        ["Rodríguez, Ramón", "30123457", "+54 9 351 500-0040", "", "Jesús María", ""],
    ]
)
TABLE = Volunteer._meta.db_table
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a second PostgreSQL session")


def indexes_and_constraints() -> dict[str, tuple[int | None, str]]:
    """{name: (object id or None, definition)} of the volunteers table's indexes and constraints."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT i.relname, i.oid, pg_get_indexdef(i.oid) FROM pg_index x "
                "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = %s::regclass "
                "UNION ALL SELECT conname, oid, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass",
                [TABLE, TABLE],
            )
            return {name: (oid, sql) for name, oid, sql in cursor.fetchall()}
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE tbl_name = %s", [TABLE])
        return {name: (None, sql) for name, sql in cursor.fetchall()}


def definitions() -> dict[str, str]:
    return {name: sql for name, (_oid, sql) in indexes_and_constraints().items()}


def rebuilt_names(before, after) -> set[str]:
    """The indexes and constraints made again (a new object id on PostgreSQL; SQLite keeps no ids)."""
    return {name for name, (oid, _sql) in after.items() if oid is not None and before[name][0] != oid}


def database_session():
    """Another connection to the test database, as another process would hold one."""
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
        autocommit=False,
    )


@pytest.fixture
def small_load_is_large(monkeypatch):
    """The rebuild is for loads of 20,000 rows and more: these tests load two."""
    monkeypatch.setattr(services, "BULK_LOAD_MIN_ROWS", 1)


def test_first_large_import_rebuilds_every_index_as_defined_and_search_finds_the_people(geo, lead, small_load_is_large):
    # given
    before = indexes_and_constraints()

    # when
    batch = run_roster(geo.election, ROSTER)

    # then: the same indexes and constraints, defined as the migrations define them
    after = indexes_and_constraints()
    assert batch.created == 2
    assert definitions() == {name: sql for name, (_oid, sql) in before.items()}
    if connection.vendor == "postgresql":  # built after the load: new objects, the primary key kept
        assert {"volunteer_search_key_trgm", "volunteers_volunteer_dni_key", "volunteer_name"} <= rebuilt_names(
            before, after
        )
        assert "volunteers_volunteer_pkey" not in rebuilt_names(before, after)
    assert [v.dni for v in volunteer_search(user=lead, query="garcia maria")] == ["30123456"]
    assert [v.dni for v in volunteer_search(user=lead, query="0351 15 500-0040")] == ["30123457"]


def test_import_into_a_table_with_people_keeps_its_indexes(geo, small_load_is_large):
    # given
    VolunteerFactory(area=geo.north_town, dni="20111222")
    before = indexes_and_constraints()

    # when
    batch = run_roster(geo.election, ROSTER)

    # then: the same objects, maintained row by row
    assert batch.created == 2
    assert indexes_and_constraints() == before


def test_a_small_import_keeps_the_indexes(geo):
    before = indexes_and_constraints()

    batch = run_roster(geo.election, ROSTER)

    assert batch.created == 2
    assert indexes_and_constraints() == before


def test_a_failed_load_leaves_every_index_and_constraint_in_place(geo):
    before = indexes_and_constraints()

    with (
        pytest.raises(RuntimeError),
        transaction.atomic(),
        services.volunteers_indexes_deferred(rows=services.BULK_LOAD_MIN_ROWS),
    ):
        assert "volunteer_name" not in indexes_and_constraints()  # dropped for the load, in this transaction only
        raise RuntimeError("the load failed")

    assert indexes_and_constraints() == before


def test_unique_dni_still_holds_after_the_rebuild(geo):
    # given: a load that broke the rule it cannot check row by row while the constraint is away
    before = definitions()

    # when
    with (
        pytest.raises(IntegrityError),
        transaction.atomic(),
        services.volunteers_indexes_deferred(rows=services.BULK_LOAD_MIN_ROWS),
    ):
        VolunteerFactory(area=geo.north_town, dni="20111222", phone="+5493515000001")
        VolunteerFactory(area=geo.north_town, dni="20111222", phone="+5493515000002")

    # then: refused when the constraint came back, and nothing written
    assert definitions() == before
    assert not Volunteer.objects.exists()


@postgres_only
@pytest.mark.postgres
def test_a_reader_holding_the_table_makes_the_load_keep_the_indexes_instead_of_waiting(geo, small_load_is_large):
    # given: another session in the middle of a transaction that read the volunteers table
    reader = database_session()
    reader.execute(f"SELECT count(*) FROM {TABLE}")
    before = indexes_and_constraints()

    # when
    try:
        batch = run_roster(geo.election, ROSTER)
    finally:
        reader.close()

    # then: imported without waiting for the reader, the indexes maintained as they were
    assert batch.created == 2
    assert indexes_and_constraints() == before


@postgres_only
@pytest.mark.postgres
def test_a_concurrent_writer_makes_the_load_keep_the_indexes_instead_of_waiting(geo, small_load_is_large):
    # given: another session has written a volunteer and not committed yet (the table still looks empty)
    writer = database_session()
    writer.execute(
        f"INSERT INTO {TABLE} (created_at, updated_at, dni, first_name, last_name, phone_verified, phone_rule, "
        "email, address, availability, roles_accepted, trained, tags, notes, opted_out, channel, excluded, "
        "excluded_reason, search_key) VALUES (now(), now(), '20111222', 'Ana', 'Paz', true, '', '', '', "
        "'full_day', 'any', false, '[]', '', false, 'auto', false, '', 'paz ana 20111222')"
    )
    before = indexes_and_constraints()

    # when
    try:
        batch = run_roster(geo.election, ROSTER)
        writer.rollback()  # its row, committed, would outlive this test's transaction
    finally:
        writer.close()

    # then
    assert batch.created == 2
    assert indexes_and_constraints() == before
    assert Volunteer.objects.count() == 2


@postgres_only
@pytest.mark.postgres
def test_a_reader_of_the_places_makes_the_load_keep_the_foreign_keys_instead_of_waiting(geo, small_load_is_large):
    # given: dropping the foreign key to the places would lock them; someone is reading them
    reader = database_session()
    reader.execute("SELECT count(*) FROM elections_pollingplace")
    before = indexes_and_constraints()

    # when
    try:
        batch = run_roster(geo.election, ROSTER)
    finally:
        reader.close()

    # then
    assert batch.created == 2
    assert indexes_and_constraints() == before
