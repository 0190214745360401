"""The admin as a lead and as a coordinator uses it: scoped rows, search, actions through services."""

import datetime

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from backend.assignments.models import Assignment, AssignmentEvent, AssignmentStatus
from backend.assignments.services import assignment_create, assignment_set_locked
from backend.count.models import BallotList, Category
from backend.count.services import SheetFigures, sheet_submit
from backend.imports.services import batch_create, batch_run
from backend.messaging.broadcasts import broadcast_create
from backend.messaging.models import MessageTemplate
from backend.threads.services import (
    announcement_sms_dispatch,
    member_set_muted,
    message_post,
    message_post_as,
    thread_get_or_create,
)
from sms.inbound import inbound_receive
from sms.services import notices_relay
from tests.factories import VolunteerFactory


def _client_for(user) -> Client:
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(user)
    return client


def _changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def _change(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


@pytest.fixture
def populated(geo, north_volunteer, south_volunteer, lead):
    north = assignment_create(
        volunteer=north_volunteer, place=geo.north_place, table=geo.north_tables[0], role="table", source="web"
    )
    south = assignment_create(
        volunteer=south_volunteer, place=geo.south_place, table=geo.south_tables[0], role="table", source="web"
    )
    for place in (geo.north_place, geo.south_place):
        message_post(
            thread=thread_get_or_create(place=place), body=f"Hola {place.name}", source="web", author_user=lead
        )
    # a moderation event and a mute, so their admin pages have a row to show
    member_set_muted(actor=lead, thread=geo.south_place.thread, muted=True, volunteer=south_volunteer)
    # an announcement sent by SMS to a member not seen on the web
    announcement = message_post_as(actor=lead, thread=geo.north_place.thread, body="Llevar DNI", announcement=True)
    announcement_sms_dispatch(message=announcement, now=timezone.now() + datetime.timedelta(hours=1))
    # SMS: the notices become outbound messages, a reply comes in, a broadcast is drafted, a text is edited
    notices_relay()
    inbound_receive(params={"MessageSid": "SM" + "0" * 32, "From": north_volunteer.phone, "Body": "MESA"})
    broadcast_create(actor=lead, election=geo.election, body="Hola {nombre}", segment={})
    MessageTemplate.objects.create(kind="help", body="Fiscaliza: responde MESA o AYUDA.")
    # imports: a dry run of a roster whose second row has a problem worth a report row
    roster = "DNI,Nombre,Apellido,Celular,Email\n30123456,Ana,Paz,+5493515550000,ana@example.org\n"
    roster += "30123457,Luis,Sosa,+5493515550001,no-es-un-email\n"
    batch = batch_create(
        actor=lead, election=geo.election, kind="roster", file_name="fiscales.csv", data=roster.encode()
    )
    batch_run(batch=batch, dry_run=True)
    # the count: a category with its lists and a result sheet with its event
    governor = Category.objects.create(election=geo.election, code="GOB", name="Gobernador")
    ours = BallotList.objects.create(category=governor, name="Nuestra", position=0, ours=True)
    sheet_submit(
        table=geo.north_tables[0],
        category=governor,
        figures=SheetFigures(votes={ours.pk: 10}, blank=1, null=0, contested=0, challenged=0, voters=11),
        source="api",
        actor=lead,
    )
    return {"north": north, "south": south}


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda m: m._meta.label)
def test_every_changelist_renders_for_a_lead(model, lead, populated):
    # given
    client = _client_for(lead)
    # when
    response = client.get(_changelist(model))
    # then
    assert response.status_code == 200


DOMAIN_MODELS = [m for m in admin.site._registry if m._meta.app_label not in {"auth", "authtoken"}]


@pytest.mark.parametrize("model", DOMAIN_MODELS, ids=lambda m: m._meta.label)
def test_every_change_page_renders_for_a_lead(model, lead, populated):
    client = _client_for(lead)
    obj = model._default_manager.first()
    assert obj is not None, f"the fixture makes no {model._meta.label} row"
    assert client.get(_change(obj)).status_code == 200


def test_a_coordinator_sees_only_their_subtree(geo, north_coordinator, populated, north_volunteer, south_volunteer):
    # given
    client = _client_for(north_coordinator)
    # when
    places = client.get(_changelist(geo.north_place)).content.decode()
    volunteers = client.get(_changelist(north_volunteer)).content.decode()
    assignments = client.get(_changelist(Assignment)).content.decode()
    # then
    assert "Escuela Norte" in places and "Escuela Sur" not in places
    assert north_volunteer.dni in volunteers and south_volunteer.dni not in volunteers
    assert "García" in assignments and "Pérez" not in assignments


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:elections_election_changelist",
        "admin:elections_area_changelist",
        "admin:elections_pollingplace_changelist",
        "admin:elections_table_changelist",
        "admin:volunteers_volunteer_changelist",
        "admin:assignments_assignment_changelist",
        "admin:assignments_assignmentevent_changelist",
        "admin:notices_notice_changelist",
        "admin:threads_thread_changelist",
        "admin:threads_message_changelist",
    ],
)
def test_changelists_render_for_a_coordinator(url_name, north_coordinator, populated):
    client = _client_for(north_coordinator)
    assert client.get(reverse(url_name)).status_code == 200


def test_a_coordinator_cannot_open_an_object_outside_their_scope(geo, north_coordinator, populated):
    client = _client_for(north_coordinator)
    # The admin answers "does not exist" (a redirect to the index), revealing nothing.
    assert client.get(_change(geo.south_place)).status_code == 302
    assert client.get(_change(populated["south"])).status_code == 302
    assert client.get(_change(geo.north_place)).status_code == 200


def test_a_coordinator_does_not_manage_users(north_coordinator):
    client = _client_for(north_coordinator)
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403
    index = client.get(reverse("admin:index")).content.decode()
    assert "/admin/accounts/user/" not in index
    assert "/admin/volunteers/volunteer/" in index


def test_a_volunteer_user_cannot_enter_the_admin(north_volunteer):
    client = Client()
    client.force_login(north_volunteer.user)
    assert client.get(_changelist(Assignment)).status_code == 302  # to the login page


@pytest.mark.parametrize("typed", ["{dni}", "{dotted}", "{last_name}"])
def test_search_finds_a_volunteer_by_dni_or_name(typed, lead, geo):
    # given
    wanted = VolunteerFactory(dni="23456789", last_name="Quiroga", first_name="Ana")
    VolunteerFactory(dni="34567890", last_name="Bustos")
    client = _client_for(lead)
    # when
    term = typed.format(dni="23456789", dotted="23.456.789", last_name="quiroga")
    page = client.get(_changelist(wanted), {"q": term})
    # then
    rows = list(page.context["cl"].result_list)
    assert rows == [wanted]


def test_search_finds_a_volunteer_by_phone_typed_with_spaces(lead, geo):
    wanted = VolunteerFactory(phone="+5493515550101")
    VolunteerFactory(phone="+5493515550202")
    page = _client_for(lead).get(_changelist(wanted), {"q": "351 555-0101"})
    assert list(page.context["cl"].result_list) == [wanted]


def test_search_stays_inside_the_coordinators_scope(north_coordinator, north_volunteer, south_volunteer):
    page = _client_for(north_coordinator).get(_changelist(south_volunteer), {"q": south_volunteer.dni})
    assert list(page.context["cl"].result_list) == []


def test_area_filter_narrows_to_a_subtree(lead, geo, populated):
    page = _client_for(lead).get(_changelist(Assignment), {"area_path": geo.south.pk})
    assert list(page.context["cl"].result_list) == [populated["south"]]


def test_confirm_action_goes_through_the_service(lead, populated):
    # given
    client = _client_for(lead)
    assignment = populated["north"]
    # when
    client.post(_changelist(Assignment), {"action": "confirm", "_selected_action": [assignment.pk]}, follow=True)
    # then
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.CONFIRMED
    event = assignment.events.order_by("-id").first()
    assert (event.from_status, event.to_status, event.source, event.actor) == ("proposed", "confirmed", "admin", lead)


def test_a_refused_transition_is_reported_and_changes_nothing(lead, populated, election_day):
    client = _client_for(lead)
    assignment = populated["north"]
    client.post(_changelist(Assignment), {"action": "check_in", "_selected_action": [assignment.pk]})
    response = client.post(
        _changelist(Assignment), {"action": "confirm", "_selected_action": [assignment.pk]}, follow=True
    )
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.CHECKED_IN
    assert any("No se puede pasar" in str(m) for m in response.context["messages"])


def test_a_coordinator_cannot_act_on_assignments_outside_their_scope(north_coordinator, populated):
    client = _client_for(north_coordinator)
    south = populated["south"]
    client.post(_changelist(Assignment), {"action": "cancel", "_selected_action": [south.pk]})
    south.refresh_from_db()
    assert south.status == AssignmentStatus.PROPOSED


def test_the_admin_cancel_refuses_a_locked_assignment_like_the_console(lead, populated):
    # given: a lead pinned the north assignment
    client = _client_for(lead)
    north = assignment_set_locked(assignment=populated["north"], locked=True, source="web")
    # when: they try to cancel it from the admin's action
    response = client.post(_changelist(Assignment), {"action": "cancel", "_selected_action": [north.pk]}, follow=True)
    # then: it stays, and the admin says why
    north.refresh_from_db()
    assert north.status == AssignmentStatus.PROPOSED
    assert any("fijada" in str(m) for m in response.context["messages"])


def test_adding_an_assignment_uses_the_service(lead, geo, north_volunteer):
    client = _client_for(lead)
    response = client.post(
        reverse("admin:assignments_assignment_add"),
        {
            "volunteer": north_volunteer.pk,
            "place": geo.north_place.pk,
            "table": geo.north_tables[1].pk,
            "role": "table",
            "reason": "pedido por teléfono",
        },
    )
    assert response.status_code == 302
    assignment = Assignment.objects.get(volunteer=north_volunteer)
    assert assignment.table == geo.north_tables[1]
    assert list(assignment.events.values_list("kind", "source", "actor")) == [("created", "admin", lead.pk)]
    assert assignment.notices.filter(kind="assignment").count() == 1


def test_adding_a_second_active_assignment_shows_the_services_error(lead, geo, populated, north_volunteer):
    client = _client_for(lead)
    response = client.post(
        reverse("admin:assignments_assignment_add"),
        {
            "volunteer": north_volunteer.pk,
            "place": geo.north_place.pk,
            "table": geo.north_tables[2].pk,
            "role": "table",
        },
    )
    assert response.status_code == 200
    assert "ya tiene una asignación activa" in response.content.decode()
    assert Assignment.objects.filter(volunteer=north_volunteer).count() == 1


def test_a_coordinator_cannot_add_an_assignment_outside_their_scope(north_coordinator, geo, south_volunteer):
    client = _client_for(north_coordinator)
    response = client.post(
        reverse("admin:assignments_assignment_add"),
        {
            "volunteer": south_volunteer.pk,
            "place": geo.south_place.pk,
            "table": geo.south_tables[1].pk,
            "role": "table",
        },
    )
    assert response.status_code == 200  # the form with errors: those choices are not theirs
    assert not Assignment.objects.exists()


def test_audit_rows_are_read_only_even_for_a_lead(lead, populated):
    client = _client_for(lead)
    event = AssignmentEvent.objects.first()
    page = client.get(_change(event))
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert client.post(reverse("admin:assignments_assignmentevent_delete", args=[event.pk])).status_code == 403


def test_a_coordinator_hides_a_message_in_their_scope_only(geo, north_coordinator, populated):
    client = _client_for(north_coordinator)
    north_message = geo.north_place.thread.messages.get(announcement=False)
    south_message = geo.south_place.thread.messages.get()
    response = client.post(_change(north_message), {"pinned": "", "hidden": "on"})
    assert response.status_code == 302
    north_message.refresh_from_db()
    assert north_message.hidden is True
    # through the moderation service: audited like a hide from the thread page
    assert list(north_message.thread.moderation_events.values_list("kind", "actor")) == [("hide", north_coordinator.pk)]
    assert client.post(_change(south_message), {"hidden": "on"}).status_code == 302  # "does not exist"
    south_message.refresh_from_db()
    assert south_message.hidden is False


def test_a_coordinator_edits_a_volunteer_but_not_their_login_account(north_coordinator, north_volunteer):
    # given: the volunteer has a login account (north_volunteer.user)
    client = _client_for(north_coordinator)
    page = client.get(_change(north_volunteer))
    # then: the account is shown, not offered as a choice the coordinator cannot see
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert "user" not in form.fields
    assert "dni" in form.fields
    assert list(form.fields["area"].queryset) == [north_volunteer.area.parent, north_volunteer.area]


def test_a_coordinator_finds_their_volunteer_by_dotted_dni_but_not_others(north_coordinator, geo):
    mine = VolunteerFactory(dni="27111222", area=geo.north_town)
    VolunteerFactory(dni="27111223", area=geo.south_town)
    client = _client_for(north_coordinator)
    assert list(client.get(_changelist(mine), {"q": "27.111.222"}).context["cl"].result_list) == [mine]
    assert list(client.get(_changelist(mine), {"q": "27.111.223"}).context["cl"].result_list) == []
