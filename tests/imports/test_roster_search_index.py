"""A large roster into an empty volunteers table builds the search's trigram index once after the load
(PostgreSQL): the index is back, in the same transaction, and the search finds the people imported."""

import psycopg
import pytest
from django.db import connection, transaction

from backend.volunteers import services
from backend.volunteers.selectors import volunteer_search
from tests.factories import VolunteerFactory

from .conftest import ROSTER_HEADER, run_roster, xlsx

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram index exists on PostgreSQL only"),
]

ROSTER = xlsx(
    [
        ROSTER_HEADER,
        ["García, María José", "30123456", "+54 9 351 500-0039", "", "Jesús María", "Escuela Norte"],
        ["Rodríguez, Ramón", "30123457", "+54 9 351 500-0040", "", "Jesús María", ""],
    ]
)


def search_index() -> tuple[int, str] | None:
    """(oid, definition) of the volunteers' trigram index, None when it is missing."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.oid, pg_get_indexdef(c.oid) FROM pg_class c WHERE c.relname = %s", [services.SEARCH_INDEX]
        )
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


@pytest.fixture
def small_load_is_large(monkeypatch):
    """The rebuild is for loads of 20,000 rows and more: these tests load two."""
    monkeypatch.setattr(services, "SEARCH_INDEX_REBUILD_MIN_ROWS", 1)


def test_first_large_import_rebuilds_the_index_and_search_finds_the_people(geo, lead, small_load_is_large):
    # given
    before = search_index()
    assert before is not None

    # when
    batch = run_roster(geo.election, ROSTER)

    # then: a new index (built after the load), defined as the migration defines it
    after = search_index()
    assert batch.created == 2
    assert after is not None and after[0] != before[0]
    assert after[1] == before[1]
    assert [v.dni for v in volunteer_search(user=lead, query="garcia maria")] == ["30123456"]
    assert [v.dni for v in volunteer_search(user=lead, query="0351 15 500-0040")] == ["30123457"]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT id FROM volunteers_volunteer WHERE search_key LIKE '%%rodriguez%%'")
        plan = " ".join(line for (line,) in cursor.fetchall())
    assert services.SEARCH_INDEX in plan


def test_import_into_a_table_with_people_keeps_the_index_it_has(geo, small_load_is_large):
    # given
    VolunteerFactory(area=geo.north_town, dni="20111222")
    before = search_index()

    # when
    batch = run_roster(geo.election, ROSTER)

    # then: the same index, maintained row by row
    assert batch.created == 2
    assert search_index() == before


def test_a_failed_load_leaves_the_index_in_place(geo):
    before = search_index()

    rows = services.SEARCH_INDEX_REBUILD_MIN_ROWS
    with pytest.raises(RuntimeError), transaction.atomic(), services.volunteers_search_index_deferred(rows=rows):
        assert search_index() is None  # dropped for the load, inside this transaction only
        raise RuntimeError("the load failed")

    assert search_index() == before


def test_a_small_load_keeps_the_index(geo):
    before = search_index()

    with (
        transaction.atomic(),
        services.volunteers_search_index_deferred(rows=services.SEARCH_INDEX_REBUILD_MIN_ROWS - 1),
    ):
        assert search_index() == before


def test_a_reader_holding_the_table_makes_the_load_keep_the_index_instead_of_waiting(geo, small_load_is_large):
    # given: another session in the middle of a transaction that read the volunteers table
    db = connection.settings_dict
    reader = psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
    )
    reader.execute("SELECT count(*) FROM volunteers_volunteer")
    before = search_index()

    # when
    try:
        batch = run_roster(geo.election, ROSTER)
    finally:
        reader.close()

    # then: imported without waiting for the reader, the index maintained as it was
    assert batch.created == 2
    assert search_index() == before
