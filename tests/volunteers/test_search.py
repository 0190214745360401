"""The search box: names without accents or case, phones in any Argentine notation, DNIs with dots,
places and tables; on whichever database the suite runs (SQLite or PostgreSQL)."""

import pytest
from django.urls import reverse

from backend.elections.selectors import place_search, table_search
from backend.volunteers.selectors import volunteer_search
from tests.factories import VolunteerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(geo):
    return {
        "agustina": VolunteerFactory(
            area=geo.north_town, first_name="Agustina", last_name="García", dni="30123456", phone="+5493515000039"
        ),
        "rodriguez": VolunteerFactory(area=geo.north_town, first_name="Ramón", last_name="Rodríguez"),
        "other": VolunteerFactory(area=geo.north_town, first_name="Ana", last_name="Suárez"),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("garcia", {"agustina"}),
        ("GARCÍA", {"agustina"}),
        ("agustina garcia", {"agustina"}),
        ("garcia agustina", {"agustina"}),
        ("rodriguez", {"rodriguez"}),
        ("0351 15 500-0039", {"agustina"}),
        ("(0351) 155000039", {"agustina"}),
        ("+54 9 351 500-0039", {"agustina"}),
        ("351 5000039", {"agustina"}),
        ("30.123.456", {"agustina"}),
        ("30123456", {"agustina"}),
        ("zzz", set()),
    ],
)
def test_one_box_finds_people_however_they_are_typed(lead, people, query, expected):
    found = {name for name, v in people.items() if v in set(volunteer_search(user=lead, query=query))}
    assert found == expected


def test_new_and_edited_people_are_findable_at_once(lead, people):
    from backend.volunteers.services import volunteer_update

    volunteer_update(volunteer=people["other"], actor=lead, source="web", last_name="Ibáñez")
    assert list(volunteer_search(user=lead, query="ibanez")) == [people["other"]]
    assert list(volunteer_search(user=lead, query="suarez")) == []


def test_places_and_tables_are_found_without_accents(geo, north_coordinator):
    geo.north_place.name = "Escuela Nicolás Avellaneda"
    geo.north_place.save()
    assert place_search(user=north_coordinator, election=geo.election, query="nicolas avellaneda") == [geo.north_place]
    assert place_search(user=north_coordinator, election=geo.election, query="escuela sur") == []  # out of scope
    assert table_search(user=north_coordinator, election=geo.election, query="mesa 2") == [geo.north_tables[1]]
    assert table_search(user=north_coordinator, election=geo.election, query="101") == []  # the south's


def test_the_console_box_lists_people_places_and_tables(client, geo, north_coordinator, people):
    client.force_login(north_coordinator)
    response = client.get(reverse("console:volunteers"), {"q": "norte"})
    html = response.content.decode()
    assert response.context["places"] == [geo.north_place]
    assert "Escuela Norte" in html


def test_results_tell_namesakes_apart_and_show_current_assignments(client, geo, north_coordinator):
    from backend.assignments.services import assignment_create

    first = VolunteerFactory(area=geo.north_town, first_name="Agustina", last_name="García", dni="30000111")
    VolunteerFactory(area=geo.north_town, first_name="Agustina", last_name="García", dni="30000222")
    assignment_create(volunteer=first, place=geo.north_place, table=geo.north_tables[0], role="table", source="web")
    client.force_login(north_coordinator)
    # when: the coordinator looks for a free watcher for table 2 by name
    response = client.get(
        reverse("console:candidates", args=[geo.north_place.pk]),
        {"rol": "table", "mesa": geo.north_tables[1].pk, "q": "agustina garcia"},
    )
    # then: the last DNI digits and locality tell them apart; the assigned one cannot be assigned again
    html = response.content.decode()
    rows = {c["dni_tail"]: c for c in response.context["candidates"]}
    assert set(rows) == {"111", "222"}
    assert rows["111"]["assignment"] is not None and rows["222"]["assignment"] is None
    assert rows["111"]["locality"] == "Jesús María"
    assert html.count('name="volunteer"') == 1 and "ya asignado" in html
