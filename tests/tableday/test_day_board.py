"""The day board: each table's current state kept beside its reports, counted with grouped queries
per area and place, drill-down to place and table, late places flagged, the correction audited."""

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.incidents.services import incident_report
from backend.tableday.models import TableDay, TableReport
from backend.tableday.selectors import day_counts_by_area, day_counts_by_place, places_not_opened
from backend.tableday.services import table_day_rebuild, table_report
from tests.factories import PollingPlaceFactory, TableFactory


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_current_state_row_follows_the_reports_and_a_correction_clears_later_steps(geo, lead):
    table = geo.north_tables[0]
    table_report(table=table, state="open", channel="sms")
    table_report(table=table, state="closed", channel="sms")
    table_report(table=table, state="open", channel="sms")  # late SMS: nothing changes
    day = TableDay.objects.get(table=table)
    assert day.state == "closed"
    assert day.opened_at is not None and day.closed_at is not None and day.counted_at is None

    table_report(table=table, state="open", channel="web", actor=lead, correction=True, note="cerró por error")
    day.refresh_from_db()
    assert (day.state, day.closed_at) == ("open", None)
    assert day.opened_at is not None
    # The row is derived: rebuilding it from the reports gives the same answer.
    rebuilt = table_day_rebuild(table=table)
    assert (rebuilt.state, rebuilt.closed_at is None, rebuilt.opened_at is not None) == ("open", True, True)


def test_counts_roll_up_the_area_tree_and_a_coordinator_counts_only_their_scope(geo, lead, north_coordinator):
    n1, n2, _n3 = geo.north_tables
    table_report(table=n1, state="open", channel="sms")
    table_report(table=n2, state="counted", channel="sms")  # a jump ahead counts as opened and closed too
    table_report(table=geo.south_tables[0], state="open", channel="sms")
    table_report(table=geo.south_tables[1], state="no_watcher", channel="web")
    areas = [geo.district, geo.north, geo.south]

    counts = day_counts_by_area(user=lead, election=geo.election, areas=areas)
    district, north, south = (counts[a.pk] for a in areas)
    assert (district.tables, district.opened, district.closed, district.counted) == (6, 3, 1, 1)
    assert (north.tables, north.opened, north.waiting, north.unwatched) == (3, 2, 1, 0)
    assert (south.tables, south.opened, south.unwatched) == (3, 1, 1)
    assert north.first_opened_at is not None

    mine = day_counts_by_area(user=north_coordinator, election=geo.election, areas=[geo.north], under=geo.north)
    assert (mine[geo.north.pk].tables, mine[geo.north.pk].opened) == (3, 2)
    per_place = day_counts_by_place(user=north_coordinator, election=geo.election, area=geo.district)
    assert set(per_place) == {geo.north_place.pk}


def test_places_with_an_unopened_table_are_listed_with_how_many_wait(geo, lead):
    for table in geo.north_tables:
        table_report(table=table, state="open", channel="sms")
    table_report(table=geo.south_tables[0], state="open", channel="sms")
    rows = list(places_not_opened(user=lead, election=geo.election))
    assert [(r["place_id"], r["waiting"]) for r in rows] == [(geo.south_place.pk, 2)]


def test_the_board_page_flags_late_places_after_the_deadline(geo, lead, settings):
    geo.election.date = timezone.localdate()
    geo.election.save(update_fields=["date"])
    settings.TABLEDAY_OPEN_DEADLINE = "00:00"
    table_report(table=geo.north_tables[0], state="open", channel="sms")
    page = _client(lead).get("/consola/dia/mesas/", {"area": geo.north_town.pk})
    assert page.status_code == 200
    flagged = page.context["late_page"].object_list
    assert [(r["place_id"], r["waiting"]) for r in flagged] == [(geo.north_place.pk, 2)]
    assert page.context["total"].opened == 1
    assert b'data-testid="late-place"' in page.content


def test_before_the_deadline_nothing_is_flagged(geo, lead, settings):
    geo.election.date = timezone.localdate() + datetime.timedelta(days=1)
    geo.election.save(update_fields=["date"])
    page = _client(lead).get("/consola/dia/mesas/")
    assert page.context["late_page"] is None


def test_the_board_costs_the_same_queries_for_one_place_or_many(geo, lead):
    """Grouped queries: adding places under the area adds no query (no loop per place)."""

    def queries() -> int:
        client = _client(lead)
        client.get("/consola/dia/mesas/", {"area": geo.north_town.pk})  # warm the session
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/consola/dia/mesas/", {"area": geo.north_town.pk}).status_code == 200
        return len(ctx.captured_queries)

    before = queries()
    for i in range(5):
        place = PollingPlaceFactory(election=geo.election, area=geo.north_town, code=f"N-{i + 2}", name=f"Escuela {i}")
        for n in range(3):
            table = TableFactory(place=place, district=geo.district, number=1000 + 10 * i + n)
            table_report(table=table, state="open", channel="sms")
    assert queries() == before


def test_a_coordinator_opens_only_their_places_and_tables(geo, north_coordinator):
    client = _client(north_coordinator)
    assert client.get(f"/consola/dia/establecimientos/{geo.north_place.pk}/").status_code == 200
    assert client.get(f"/consola/dia/establecimientos/{geo.south_place.pk}/").status_code == 404
    assert client.get(f"/consola/dia/mesas/{geo.north_tables[0].pk}/").status_code == 200
    assert client.get(f"/consola/dia/mesas/{geo.south_tables[0].pk}/").status_code == 404
    page = client.get("/consola/dia/mesas/", {"area": geo.south.pk})
    assert page.status_code == 404


def test_the_school_page_shows_each_tables_state_and_the_incidents(geo, north_coordinator, north_volunteer):
    table_report(table=geo.north_tables[1], state="closed", channel="sms")
    incident_report(place=geo.north_place, table=geo.north_tables[1], text="faltan boletas", actor=None, channel="sms")
    page = _client(north_coordinator).get(f"/consola/dia/establecimientos/{geo.north_place.pk}/")
    rows = {row["table"].number: row["day"] for row in page.context["tables"]}
    assert rows[1] is None and rows[2].state == "closed"
    assert [i.text for i in page.context["incidents"]] == ["faltan boletas"]


def test_a_coordinator_corrects_a_table_back_with_a_reason_and_it_is_kept(geo, north_coordinator, south_coordinator):
    table = geo.north_tables[0]
    table_report(table=table, state="closed", channel="sms")
    client = _client(north_coordinator)
    # without a reason: refused, nothing recorded
    client.post(f"/consola/dia/mesas/{table.pk}/corregir/", {"state": "open", "note": ""})
    assert TableReport.objects.filter(table=table, correction=True).count() == 0
    client.post(f"/consola/dia/mesas/{table.pk}/corregir/", {"state": "open", "note": "el fiscal se equivocó"})
    correction = TableReport.objects.get(table=table, correction=True)
    assert (correction.state, correction.actor, correction.note) == ("open", north_coordinator, "el fiscal se equivocó")
    assert TableDay.objects.get(table=table).state == "open"
    # another area's coordinator cannot
    response = _client(south_coordinator).post(
        f"/consola/dia/mesas/{table.pk}/corregir/", {"state": "waiting", "note": "x"}
    )
    assert response.status_code == 404
    assert TableDay.objects.get(table=table).state == "open"


@pytest.mark.parametrize("path", ["/consola/dia/mesas/", "/consola/dia/incidentes/"])
def test_volunteers_do_not_get_the_boards(geo, north_volunteer, path):
    assert _client(north_volunteer.user).get(path).status_code == 403
