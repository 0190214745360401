"""A decline names a person: the note reaches the place's coordinators and its fiscal general only."""

import uuid

import pytest
from django.test import Client
from twilio.request_validator import RequestValidator

from backend.accounts.models import Role
from backend.assignments.models import AssignmentRole
from backend.assignments.services import assignment_create
from backend.permissions import visible
from backend.threads.models import Message

from ..factories import UserFactory, VolunteerFactory

pytestmark = pytest.mark.django_db


def _with_login(volunteer):
    volunteer.user = UserFactory(role=Role.VOLUNTEER)
    volunteer.save(update_fields=["user"])
    client = Client()
    client.force_login(volunteer.user)
    return client


@pytest.fixture
def school(geo):
    """Ana and Beto watch tables at the north school, Gabi is its fiscal general."""
    people = {}
    for name, table in (("Ana", geo.north_tables[0]), ("Beto", geo.north_tables[1]), ("Gabi", None)):
        volunteer = VolunteerFactory(first_name=name, last_name="Paz", area=geo.north_town)
        assignment_create(
            volunteer=volunteer,
            place=geo.north_place,
            table=table,
            role=AssignmentRole.TABLE if table else AssignmentRole.PLACE,
            source="admin",
            notify=False,
        )
        people[name] = volunteer
    return people


def test_a_decline_by_sms_is_seen_by_coordinators_and_the_general_not_by_other_watchers(
    geo, school, north_coordinator, settings
):
    # given: everyone's view of the school's thread
    beto, gabi = _with_login(school["Beto"]), _with_login(school["Gabi"])
    coordinator = Client()
    coordinator.force_login(north_coordinator)
    # when: Ana answers "no puedo" from her phone
    params = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": school["Ana"].phone, "Body": "no puedo", "NumMedia": "0"}
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(
        settings.PUBLIC_BASE_URL + "/sms/inbound/", params
    )
    assert Client().post("/sms/inbound/", params, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 200
    # then: one note from the system, for the coordination only
    note = Message.objects.get(thread__place=geo.north_place)
    assert note.body.startswith("Ana Paz no puede ir") and note.staff_only
    api = f"/api/threads/{geo.north_place.pk}/messages/"
    page = f"/hilos/{geo.north_place.pk}/"
    for who, sees in ((coordinator, True), (gabi, True), (beto, False)):
        assert ("Ana Paz no puede ir" in who.get(api).content.decode()) is sees
        assert ("Ana Paz no puede ir" in who.get(page).content.decode()) is sees
    # and the permission module agrees
    assert visible(school["Gabi"].user, Message.objects.all()).filter(pk=note.pk).exists()
    assert not visible(school["Beto"].user, Message.objects.all()).filter(pk=note.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_the_live_socket_of_another_watcher_does_not_get_the_note(geo, school):
    from channels.db import database_sync_to_async

    from backend.assignments.services import assignment_decline
    from backend.threads.services import message_post_from_sms

    from .conftest import communicator, join, run, session_cookie

    _with_login(school["Beto"])
    cookie = session_cookie(school["Beto"].user)
    ana = school["Ana"].assignments.get()

    async def scenario():
        socket = communicator(geo.north_place.pk, cookie=cookie)
        await join(socket)
        # when: Ana declines, then the general writes a line everyone may read
        await database_sync_to_async(assignment_decline)(assignment=ana, source="sms")
        await database_sync_to_async(message_post_from_sms)(volunteer=school["Gabi"], body="Todo bien acá")
        frame = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        return frame

    # then: the socket works (the general's line arrives) and the note was withheld
    frame = run(scenario())
    assert frame["message"]["body"] == "Todo bien acá"
    assert Message.objects.filter(staff_only=True, body__startswith="Ana Paz").exists()
