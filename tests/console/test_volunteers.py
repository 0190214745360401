"""Volunteer search and profile: name, DNI, phone; history, opt-out; only within scope."""

from django.urls import reverse

from backend.assignments.models import AssignmentRole
from backend.assignments.services import assignment_confirm, assignment_create
from backend.volunteers.models import VolunteerEvent
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


def test_a_coordinator_fixes_a_phone_from_the_console_and_it_is_audited(
    client, geo, north_coordinator, north_volunteer
):
    # given
    from backend.volunteers.models import VolunteerEvent

    client.force_login(north_coordinator)
    url = reverse("console:volunteer_edit", args=[north_volunteer.pk])
    form = {"phone": "0351 15 500-0039", "availability": "morning", "roles_accepted": "table", "notes": "solo mañana"}
    # when
    response = client.post(url, form)
    # then
    north_volunteer.refresh_from_db()
    event = VolunteerEvent.objects.get(volunteer=north_volunteer)
    assert response.status_code == 302
    assert (north_volunteer.phone, north_volunteer.availability, north_volunteer.roles_accepted) == (
        "+5493515000039",
        "morning",
        "table",
    )
    assert event.actor == north_coordinator and event.changes["phone"][1] == "+5493515000039"
    assert "+5493515000039" in client.get(reverse("console:volunteer", args=[north_volunteer.pk])).content.decode()


def test_a_bad_phone_is_shown_on_the_form_and_nothing_changes(client, geo, north_coordinator, north_volunteer):
    client.force_login(north_coordinator)
    before = north_volunteer.phone
    response = client.post(
        reverse("console:volunteer_edit", args=[north_volunteer.pk]),
        {"phone": "15 500-0039", "availability": "full_day", "roles_accepted": "any", "notes": "x"},
    )
    north_volunteer.refresh_from_db()
    assert response.status_code == 200 and "característica" in response.content.decode()
    assert north_volunteer.phone == before and north_volunteer.notes == ""


def test_exclusion_needs_a_reason(client, geo, north_coordinator, north_volunteer):
    client.force_login(north_coordinator)
    response = client.post(
        reverse("console:volunteer_edit", args=[north_volunteer.pk]),
        {"phone": north_volunteer.phone, "availability": "full_day", "roles_accepted": "any", "excluded": "on"},
    )
    north_volunteer.refresh_from_db()
    assert "motivo" in response.content.decode() and not north_volunteer.excluded


def test_a_coordinator_cannot_edit_someone_outside_the_scope(client, geo, north_coordinator, south_volunteer):
    client.force_login(north_coordinator)
    url = reverse("console:volunteer_edit", args=[south_volunteer.pk])
    response = client.post(url, {"phone": "0351 15 500-0039", "availability": "full_day", "roles_accepted": "any"})
    south_volunteer.refresh_from_db()
    assert response.status_code == 404 and south_volunteer.phone != "+5493515000039"


def test_profile_shows_sms_keywords_in_spanish(client, geo, north_coordinator, north_volunteer):
    from backend.messaging.models import InboundMessage

    InboundMessage.objects.create(
        sid="SM1", from_number=north_volunteer.phone, body="si", keyword="yes", volunteer=north_volunteer
    )
    client.force_login(north_coordinator)
    html = client.get(reverse("console:volunteer", args=[north_volunteer.pk])).content.decode()
    assert "SI: confirmó" in html and "· yes" not in html


def test_a_coordinator_sets_the_channel_from_the_console(client, geo, north_coordinator, north_volunteer):
    client.force_login(north_coordinator)
    url = reverse("console:volunteer_edit", args=[north_volunteer.pk])
    assert "WhatsApp" in client.get(url).content.decode()
    form = {"phone": north_volunteer.phone, "availability": "full_day", "roles_accepted": "any", "channel": "whatsapp"}
    assert client.post(url, form).status_code == 302
    north_volunteer.refresh_from_db()
    assert north_volunteer.channel == "whatsapp"
    assert VolunteerEvent.objects.get(volunteer=north_volunteer).changes["channel"] == ["auto", "whatsapp"]
