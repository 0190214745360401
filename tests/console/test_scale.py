"""The console's coverage pages at country size: the number of SQL queries does not grow with the
number of districts or places, and the figures equal those counted independently, one district
at a time, straight from the tables."""

import io
import itertools

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.accounts.models import Role
from backend.assignments.models import Assignment, AssignmentStatus
from backend.elections.models import Area, PollingPlace, Table

from ..factories import (
    AreaFactory,
    CoordinatorScopeFactory,
    ElectionFactory,
    PollingPlaceFactory,
    TableFactory,
    UserFactory,
    VolunteerFactory,
)

STATUSES = itertools.cycle(
    [AssignmentStatus.CHECKED_IN, AssignmentStatus.CONFIRMED, AssignmentStatus.NOTIFIED, AssignmentStatus.PROPOSED]
)


@pytest.fixture
def country(db):
    return ElectionFactory(slug="pais-2027", name="Generales 2027")


def add_districts(election, first: int, count: int) -> None:
    """`count` districts, each: two sections > one town > two places > three tables; the first
    place's tables watched, statuses in turn, one declined (not counted), one general."""
    for d in range(first, first + count):
        district = AreaFactory(election=election, kind="distrito", code=f"d{d}", name=f"Distrito {d}")
        for s in range(2):
            section = AreaFactory(election=election, parent=district, kind="seccion", code=f"s{s}", name=f"Sección {s}")
            town = AreaFactory(election=election, parent=section, kind="localidad", code="t", name=f"Pueblo {d}-{s}")
            for p in range(2):
                place = PollingPlaceFactory(election=election, area=town, code=f"{d}-{s}-{p}", name=f"Escuela {p}")
                tables = [
                    TableFactory(place=place, district=district, number=100 * s + 10 * p + n + 1) for n in range(3)
                ]
                if p == 1:
                    continue
                for table in tables[: 1 + (d + s) % 3]:
                    _watch(place, table, next(STATUSES))
                _watch(place, tables[-1], AssignmentStatus.DECLINED)
                if (d + s) % 2:
                    _watch(place, None, AssignmentStatus.CONFIRMED)


def _watch(place, table, status) -> None:
    Assignment.objects.create(
        election=place.election,
        volunteer=VolunteerFactory(area=place.area),
        place=place,
        table=table,
        role="table" if table else "place",
        status=status,
    )


def counted(area) -> tuple[int, int, int, int]:
    """(slots, assigned, confirmed, checked in) of `area` counted straight from the rows."""
    election = area.election
    places = PollingPlace.objects.filter(area__path__startswith=area.path).count()
    tables = Table.objects.filter(place__area__path__startswith=area.path).count()
    active = Assignment.objects.filter(
        place__area__path__startswith=area.path,
        status__in=["proposed", "notified", "confirmed", "checked_in"],
    )
    return (
        places * election.place_watchers_per_place + tables * election.table_watchers_per_table,
        active.count(),
        active.filter(status__in=["confirmed", "checked_in"]).count(),
        active.filter(status="checked_in").count(),
    )


def figures(nodes) -> dict[str, tuple[int, int, int, int]]:
    return {area.path: (cov.slots, cov.assigned, cov.confirmed, cov.checked_in) for area, cov in nodes}


def queries_of(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


@pytest.fixture
def lead_client(client, db):
    client.force_login(UserFactory(username="jefa", role=Role.LEAD))
    return client


@pytest.mark.parametrize("page", ["/consola/", "/consola/dia/", "/consola/cobertura.xlsx"])
def test_the_whole_country_costs_the_same_queries_with_2_or_10_districts(country, lead_client, page):
    add_districts(country, 0, 2)
    lead_client.get(page)  # the session's election is remembered after the first request
    with_two = queries_of(lead_client, page)
    add_districts(country, 2, 8)
    assert queries_of(lead_client, page) == with_two


def test_a_district_costs_the_same_queries_with_2_or_10_sections(country, lead_client):
    add_districts(country, 0, 1)
    district = Area.objects.get(election=country, depth=0)
    url = f"/consola/?area={district.pk}"
    lead_client.get(url)
    with_two = queries_of(lead_client, url)
    for s in range(2, 10):
        section = AreaFactory(election=country, parent=district, kind="seccion", code=f"s{s}", name=f"Sección {s}")
        town = AreaFactory(election=country, parent=section, kind="localidad", code="t", name="Pueblo")
        place = PollingPlaceFactory(election=country, area=town, code=f"x-{s}", name="Escuela")
        _watch(place, TableFactory(place=place, district=district, number=900 + s), AssignmentStatus.CONFIRMED)
    assert queries_of(lead_client, url) == with_two


def test_the_country_page_shows_each_district_as_counted_from_the_rows(country, lead_client):
    add_districts(country, 0, 10)
    response = lead_client.get("/consola/")
    districts = Area.objects.filter(election=country, depth=0)
    assert figures(response.context["nodes"]) == {d.path: counted(d) for d in districts}
    total = response.context["total"]
    assert (total.slots, total.assigned, total.confirmed, total.checked_in) == tuple(
        map(sum, zip(*(counted(d) for d in districts), strict=True))
    )


def test_a_district_page_shows_its_sections_and_total_as_counted(country, lead_client):
    add_districts(country, 0, 3)
    district = Area.objects.get(election=country, code="d1")
    response = lead_client.get(f"/consola/?area={district.pk}")
    assert figures(response.context["nodes"]) == {s.path: counted(s) for s in district.children.all()}
    total = response.context["total"]
    assert (total.slots, total.assigned, total.confirmed, total.checked_in) == counted(district)


def test_election_day_shows_each_district_as_counted(country, lead_client):
    add_districts(country, 0, 4)
    response = lead_client.get("/consola/dia/")
    assert figures(response.context["nodes"]) == {d.path: counted(d) for d in Area.objects.filter(depth=0)}


def test_a_coordinator_sees_their_district_as_counted_and_nothing_else(country, client):
    add_districts(country, 0, 4)
    district = Area.objects.get(election=country, code="d2")
    coordinator = UserFactory(username="coord", role=Role.COORDINATOR)
    CoordinatorScopeFactory(user=coordinator, area=district)
    client.force_login(coordinator)
    response = client.get("/consola/")
    assert figures(response.context["nodes"]) == {district.path: counted(district)}


def test_the_coverage_workbook_has_every_place_with_its_counts(country, lead_client):
    add_districts(country, 0, 3)
    response = lead_client.get("/consola/cobertura.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = {row[1]: row[4:8] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert len(rows) == PollingPlace.objects.filter(election=country).count()
    for place in PollingPlace.objects.filter(election=country):
        tables = place.tables.count()
        active = place.assignments.filter(status__in=["proposed", "notified", "confirmed", "checked_in"])
        assert rows[place.code] == (
            country.place_watchers_per_place + tables * country.table_watchers_per_table,
            active.count(),
            active.filter(status__in=["confirmed", "checked_in"]).count(),
            active.filter(status="checked_in").count(),
        )


def test_a_coordinator_with_two_districts_sees_each_as_counted_on_coverage_and_election_day(country, client):
    # given: scopes on two districts of four (their counts are read for both in one statement)
    add_districts(country, 0, 4)
    first, second = Area.objects.get(election=country, code="d1"), Area.objects.get(election=country, code="d3")
    coordinator = UserFactory(username="coord", role=Role.COORDINATOR)
    CoordinatorScopeFactory(user=coordinator, area=first)
    CoordinatorScopeFactory(user=coordinator, area=second)
    client.force_login(coordinator)
    # when
    pages = [client.get("/consola/"), client.get("/consola/dia/")]
    # then
    for response in pages:
        assert figures(response.context["nodes"]) == {first.path: counted(first), second.path: counted(second)}


def test_a_town_page_lists_each_of_its_places_as_counted(country, lead_client):
    # given
    add_districts(country, 0, 2)
    town = Area.objects.get(election=country, path__startswith="/d1/s0/", kind="localidad")
    # when
    response = lead_client.get(f"/consola/?area={town.pk}")
    # then: the place with watchers and the one without, each with its own counts
    listed = {
        place.code: (cov.slots, cov.assigned, cov.confirmed, cov.checked_in)
        for place, cov in response.context["places"]
    }
    expected = {}
    for place in PollingPlace.objects.filter(area=town):
        active = place.assignments.filter(status__in=["proposed", "notified", "confirmed", "checked_in"])
        expected[place.code] = (
            country.place_watchers_per_place + place.tables.count() * country.table_watchers_per_table,
            active.count(),
            active.filter(status__in=["confirmed", "checked_in"]).count(),
            active.filter(status="checked_in").count(),
        )
    assert listed == expected
    assert len(expected) == 2
