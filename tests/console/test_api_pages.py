"""The API's assignment list at any size: a cursor walks every assignment once, grouped by place,
and a page costs the same queries on page 1 and further on, with few or many assignments."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from backend.assignments.models import Assignment, AssignmentStatus
from tests.factories import PollingPlaceFactory, TableFactory, VolunteerFactory


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _fill(geo, places: int) -> None:
    """`places` more places in the north, two tables each, both watched, and a general."""
    first = Assignment.objects.count()
    for p in range(first, first + places):
        place = PollingPlaceFactory(election=geo.election, area=geo.north_town, code=f"N-{100 + p}")
        for n in range(2):
            table = TableFactory(place=place, district=geo.district, number=1000 + 10 * p + n)
            Assignment.objects.create(
                election=geo.election,
                volunteer=VolunteerFactory(area=geo.north_town),
                place=place,
                table=table,
                role="table",
                status=AssignmentStatus.CONFIRMED,
            )
        Assignment.objects.create(
            election=geo.election,
            volunteer=VolunteerFactory(area=geo.north_town),
            place=place,
            role="place",
            status=AssignmentStatus.NOTIFIED,
        )


def _walk(client, url: str) -> tuple[list[dict], list[int]]:
    """Every row by following `next`, and the SQL queries of each page."""
    rows, queries = [], []
    while url:
        with CaptureQueriesContext(connection) as captured:
            body = client.get(url).json()
        queries.append(len(captured))
        rows.extend(body["results"])
        url = body["next"]
    return rows, queries


def test_the_cursor_walks_every_assignment_once_grouped_by_place(geo, lead):
    _fill(geo, 5)
    rows, _queries = _walk(_client(lead), f"/api/assignments/?election={geo.election.slug}&page_size=4")
    assert sorted(r["id"] for r in rows) == sorted(Assignment.objects.values_list("pk", flat=True))
    assert len(rows) == 15
    places = [r["place"] for r in rows]
    assert places == sorted(places)
    # Inside a place: the general first (role "place" sorts before "table"), then the tables.
    first_place = [r for r in rows if r["place"] == places[0]]
    assert [r["role"] for r in first_place] == ["place", "table", "table"]


def test_a_page_costs_the_same_queries_with_few_or_many_assignments(geo, lead):
    client = _client(lead)
    url = f"/api/assignments/?election={geo.election.slug}&page_size=4"
    _fill(geo, 2)
    _rows, few = _walk(client, url)
    _fill(geo, 10)
    _rows, many = _walk(client, url)
    assert len(set(few + many)) == 1, (few, many)


def test_the_cursor_keeps_a_coordinator_in_their_scope(geo, north_coordinator, south_volunteer):
    _fill(geo, 3)
    Assignment.objects.create(
        election=geo.election,
        volunteer=south_volunteer,
        place=geo.south_place,
        table=geo.south_tables[0],
        role="table",
        status=AssignmentStatus.CONFIRMED,
    )
    rows, _queries = _walk(_client(north_coordinator), f"/api/assignments/?election={geo.election.slug}&page_size=2")
    assert len(rows) == 9 and geo.south_place.pk not in {r["place"] for r in rows}
