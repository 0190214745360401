"""The count's hot paths stay few statements: a sheet in three on PostgreSQL, five elsewhere (a ballot
change is seen at once), the discrepancies in one query (ranked, counted and paged in SQL, figures
compared, not JSON text)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from backend.count.models import BallotList, CountTally, ResultSheet, SheetSource, SheetStatus
from backend.count.selectors import discrepancy_iter, discrepancy_list, discrepancy_page, quick_count
from backend.count.services import SheetFigures, sheet_submit
from sms.commands import volunteer_for_phone
from sms.sheets import sheet_sms_command, sheet_sms_parse

from .conftest import sheet_figures


def _statements(captured) -> list[str]:
    # Transaction control aside (BEGIN/COMMIT, or savepoints inside the test's transaction).
    return [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"] not in {"BEGIN", "COMMIT"} and not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]


def test_a_sheet_is_three_statements_on_postgresql_five_elsewhere_and_the_tallies_add_up(geo, ballot, watcher):
    # given: the ballot already read once by this process (the first sheet of the night reads it)
    table = geo.north_tables[0]
    sheet_submit(
        table=table,
        category=ballot.mayor,
        figures=SheetFigures(
            votes={ballot.mayor_ours.pk: 150, ballot.mayor_other.pk: 30},
            blank=5,
            null=3,
            contested=1,
            challenged=0,
            voters=189,
        ),
        source=SheetSource.WEB,
        actor=watcher.user,
    )
    # when
    with CaptureQueriesContext(connection) as captured:
        result = sheet_submit(
            table=table,
            category=ballot.governor,
            figures=sheet_figures(ballot),
            source=SheetSource.WEB,
            actor=watcher.user,
        )
    # then: lock, read the table's current sheets, then the sheet (its lists' votes in its JSON), the
    # tallies and the audit row (one statement on PostgreSQL, three elsewhere)
    assert result.sheet.status == SheetStatus.ACCEPTED
    assert len(_statements(captured)) == (3 if connection.vendor == "postgresql" else 5)
    tallies = dict(CountTally.objects.filter(category=ballot.governor).values_list("list_id", "votes"))
    assert tallies == {0: 0, ballot.ours.pk: 100, ballot.cambia.pk: 60, ballot.ucr.pk: 20}
    totals = CountTally.objects.get(category=ballot.governor, list_id=0)
    assert (totals.tables, totals.electors, totals.voters, totals.blank) == (1, table.electors or 0, 189, 5)
    assert quick_count(election=geo.election, category=ballot.governor).voters == 189


def test_an_sms_sheet_reads_its_assignments_then_locks_its_table_and_reads_it_in_one_statement(geo, ballot, watcher):
    # given: the ballot read once by this process; the sender as the webhook loads them (with the user)
    sheet_sms_command(volunteer=volunteer_for_phone(watcher.phone), parsed=sheet_sms_parse("ACTA 1 INT 150 30 V 180"))
    volunteer = volunteer_for_phone(watcher.phone)
    # when
    with CaptureQueriesContext(connection) as captured:
        reply = sheet_sms_command(
            volunteer=volunteer, parsed=sheet_sms_parse("ACTA 1 GOB 100 60 20 B 5 N 3 R 1 I 0 V 189")
        )
    # then: the sender's assignments (which also answer the permission); the table with its place and
    # area, locked; its current sheets; then the sheet
    assert "Recibida" in reply
    statements = _statements(captured)
    assert len(statements) == 1 + (3 if connection.vendor == "postgresql" else 5)
    if connection.vendor == "postgresql":
        assert "FOR UPDATE" in statements[1] and "elections_area" in statements[1]


def test_an_api_sheet_reads_and_locks_its_table_in_one_statement(geo, ballot, lead):
    # given: the ballot read once by this process; a lead (whose permission needs no query)
    api = APIClient()
    api.force_authenticate(lead)
    url = f"/api/tables/{geo.north_tables[0].pk}/sheets/"
    totals = {"blank": 0, "null": 0, "contested": 0, "challenged": 0, "voters": 180}
    mayor = {"category": "INT", "votes": {str(ballot.mayor_ours.pk): 150, str(ballot.mayor_other.pk): 30}}
    assert api.post(url, {**mayor, **totals}, format="json").status_code == 201
    governor = {
        "category": "GOB",
        "votes": {str(ballot.ours.pk): 100, str(ballot.cambia.pk): 60, str(ballot.ucr.pk): 20},
    }
    # when
    with CaptureQueriesContext(connection) as captured:
        response = api.post(url, {**governor, **totals}, format="json")
    # then: the table with its place and area, locked; its current sheets; then the sheet
    assert (response.status_code, response.json()["status"]) == (201, "accepted"), response.content
    statements = _statements(captured)
    assert len(statements) == (3 if connection.vendor == "postgresql" else 5)
    if connection.vendor == "postgresql":
        assert "FOR UPDATE" in statements[0] and "elections_area" in statements[0]


def test_a_list_added_to_the_ballot_is_on_the_next_sheet(geo, ballot, watcher):
    # given: a sheet read the ballot (cached in this process)
    table = geo.north_tables[0]
    sheet_submit(
        table=table, category=ballot.governor, figures=sheet_figures(ballot), source=SheetSource.WEB, actor=watcher.user
    )
    # when: a list is added (the admin) and a sheet names it
    added = BallotList.objects.create(category=ballot.governor, name="Frente de Izquierda", position=3)
    figures = sheet_figures(ballot, ours=90, voters=189)
    figures.votes[added.pk] = 10
    result = sheet_submit(
        table=table, category=ballot.governor, figures=figures, source=SheetSource.WEB, actor=watcher.user
    )
    # then: the list is known (no "unknown list" error) and the sheet compared with the first one
    assert result.sheet.status == SheetStatus.CONFLICT


def _official(table, category, votes, **totals):
    figures = {"blank": 5, "null": 3, "contested": 1, "challenged": 0, "voters": 189, **totals}
    return ResultSheet.objects.create(
        election_id=table.election_id,
        table=table,
        category=category,
        source=SheetSource.OFFICIAL,
        official=True,
        status=SheetStatus.ACCEPTED,
        current=True,
        area_path=table.place.area.path,
        votes=votes,
        **figures,
    )


@pytest.fixture
def three_tables(geo, ballot, watcher, lead):
    """Party sheets at three tables; the official figures: equal (keys in another order), a total
    that differs only, 10 of our votes given to a rival."""
    tables = geo.north_tables[:3]
    for table in tables:
        sheet_submit(
            table=table, category=ballot.governor, figures=sheet_figures(ballot), source=SheetSource.API, actor=lead
        )
    ours, cambia, ucr = str(ballot.ours.pk), str(ballot.cambia.pk), str(ballot.ucr.pk)
    _official(tables[0], ballot.governor, {ucr: 20, cambia: 60, ours: 100})
    _official(tables[1], ballot.governor, {ours: 100, cambia: 60, ucr: 20}, null=4, voters=190)
    _official(tables[2], ballot.governor, {ours: 90, cambia: 70, ucr: 20})
    return tables


def test_discrepancies_compare_figures_rank_and_page_in_one_query(geo, three_tables):
    # when
    with CaptureQueriesContext(connection) as captured:
        total, page = discrepancy_page(election=geo.election, limit=1)
    everything = discrepancy_list(election=geo.election)
    _total, second = discrepancy_page(election=geo.election, limit=1, offset=1)
    # then: the first table (same figures, keys in another order) is not a discrepancy
    assert [(d.table, d.at_stake) for d in everything] == [(3, 20), (2, 0)]
    assert everything[0].differences == {"Hacemos por Córdoba": (100, 90), "Córdoba Cambia": (60, 70)}
    assert everything[1].differences == {"null": (3, 4), "voters": (189, 190)}
    assert (total, [d.table for d in page], [d.table for d in second]) == (2, [3], [2])
    # one ranked query (and one for the area names of the page)
    assert len(captured.captured_queries) <= 2
    assert [d.table for d in discrepancy_iter(election=geo.election, area=geo.north)] == [3, 2]
    assert list(discrepancy_iter(election=geo.election, area=geo.south)) == []


def test_the_discrepancies_api_pages(geo, three_tables, lead):
    api = APIClient()
    api.force_authenticate(lead)
    page = api.get(f"/api/elections/{geo.election.pk}/discrepancies/?limit=1&offset=1").json()
    assert (page["count"], [r["table"] for r in page["results"]]) == (2, [2])
    assert api.get(f"/api/elections/{geo.election.pk}/discrepancies/?limit=0").status_code == 400
