"""Volunteer search and profile: name, DNI, phone; history, opt-out; only within scope."""

from django.urls import reverse

from backend.assignments.models import AssignmentRole
from backend.assignments.services import assignment_confirm, assignment_create
from tests.factories import VolunteerFactory


def _names(response):
    return [v.full_name for v in response.context["results"]]


def test_search_by_name_dni_and_phone(client, geo, north_coordinator, north_volunteer):
    # given
    VolunteerFactory(area=geo.north_town, first_name="Ana", last_name="Suárez")
    client.force_login(north_coordinator)
    url = reverse("console:volunteers")
    # when
    by_name = client.get(url, {"q": "garcía maría"})
    by_dni = client.get(url, {"q": north_volunteer.dni})
    by_phone = client.get(url, {"q": north_volunteer.phone[-8:]})
    # then
    assert _names(by_name) == ["María García"]
    assert _names(by_dni) == ["María García"]
    assert _names(by_phone) == ["María García"]


def test_search_never_shows_volunteers_outside_the_scope(client, geo, north_coordinator, south_volunteer):
    # given
    client.force_login(north_coordinator)
    # when
    response = client.get(reverse("console:volunteers"), {"q": south_volunteer.dni})
    everyone = client.get(reverse("console:volunteers"))
    # then
    assert _names(response) == []
    assert "Pérez" not in everyone.content.decode()


def test_htmx_search_returns_only_the_results_fragment(client, geo, north_coordinator, north_volunteer):
    # given
    client.force_login(north_coordinator)
    # when
    response = client.get(reverse("console:volunteers"), {"q": "María"}, headers={"HX-Request": "true"})
    # then
    html = response.content.decode()
    assert "María" in html
    assert "<html" not in html


def test_profile_shows_history_and_opt_out(client, geo, north_coordinator, north_volunteer):
    # given
    assignment = assignment_create(
        volunteer=north_volunteer,
        place=geo.north_place,
        table=geo.north_tables[0],
        role=AssignmentRole.TABLE,
        source="web",
        actor=north_coordinator,
        reason="vota en este establecimiento",
    )
    assignment_confirm(assignment=assignment, source="sms")
    north_volunteer.opted_out = True
    north_volunteer.save()
    client.force_login(north_coordinator)
    # when
    response = client.get(reverse("console:volunteer", args=[north_volunteer.pk]))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert north_volunteer.dni in html
    assert "Dado de baja de SMS" in html
    assert "Escuela Norte" in html
    assert "vota en este establecimiento" in html
    assert "Propuesta → Confirmada" in html
    assert "coord-norte" in html


def test_profile_outside_the_scope_is_not_found(client, geo, north_coordinator, south_volunteer):
    # given
    client.force_login(north_coordinator)
    # when
    response = client.get(reverse("console:volunteer", args=[south_volunteer.pk]))
    # then
    assert response.status_code == 404
