"""Election day: the board page, late watchers flagged after the configured time, the live feed."""

import datetime

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing.websocket import WebsocketCommunicator
from django.urls import reverse

from backend.accounts.models import CoordinatorScope
from backend.accounts.services import coordinator_scope_remove
from backend.assignments.models import AssignmentRole
from backend.assignments.services import assignment_check_in, assignment_create
from backend.console.routing import websocket_urlpatterns
from tests.factories import VolunteerFactory


def _assign(place, table, **kwargs):
    return assignment_create(
        volunteer=VolunteerFactory(**kwargs), place=place, table=table, role=AssignmentRole.TABLE, source="web"
    )


def test_board_counts_check_ins_in_scope(
    client, geo, north_coordinator, django_capture_on_commit_callbacks, election_day
):
    # given
    arrived = _assign(geo.north_place, geo.north_tables[0], first_name="Rita", last_name="Paz")
    _assign(geo.north_place, geo.north_tables[1])
    with django_capture_on_commit_callbacks(execute=True):
        assignment_check_in(assignment=arrived, source="sms")
    client.force_login(north_coordinator)
    # when
    response = client.get(reverse("console:election_day"))
    # then
    html = response.content.decode()
    assert response.context["total"].checked_in == 1
    assert "Rita Paz" in html
    assert "Sur" not in html


def test_late_watchers_are_flagged_only_after_the_configured_time(client, geo, north_coordinator, settings):
    # given: one watcher who never checked in
    settings.CONSOLE_CHECK_IN_GRACE_MINUTES = 30
    _assign(geo.north_place, geo.north_tables[0], first_name="Leo", last_name="Tarde")
    client.force_login(north_coordinator)
    geo.election.date = datetime.date.today() + datetime.timedelta(days=3)
    geo.election.save()
    # when
    before = client.get(reverse("console:election_day"))
    geo.election.date = datetime.date.today() - datetime.timedelta(days=1)
    geo.election.save()
    after = client.get(reverse("console:election_day"))
    # then
    assert before.context["flagged"] == []
    assert "se marcan las mesas" in before.content.decode()
    assert [a.volunteer.full_name for a, _proposals, _thread in after.context["flagged"]] == ["Leo Tarde"]


def test_late_watchers_of_other_areas_are_not_flagged(client, geo, north_coordinator):
    # given
    geo.election.date = datetime.date.today() - datetime.timedelta(days=1)
    geo.election.save()
    _assign(geo.south_place, geo.south_tables[0])
    client.force_login(north_coordinator)
    # when
    response = client.get(reverse("console:election_day"))
    # then
    assert response.context["flagged"] == []


def _communicator(user, election_id):
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/board/{election_id}/")
    communicator.scope["user"] = user
    return communicator


# Real commits: the broadcast runs on commit, and database_sync_to_async closes connections that a
# test-wide transaction would keep open.
@pytest.mark.django_db(transaction=True)
def test_live_board_receives_check_ins_in_scope(geo, north_coordinator, election_day):
    # given
    assignment = _assign(geo.north_place, geo.north_tables[2], first_name="Rita", last_name="Paz")

    def check_in():
        assignment_check_in(assignment=assignment, source="sms")

    async def scenario():
        communicator = _communicator(north_coordinator, geo.election.pk)
        connected, _ = await communicator.connect()
        await database_sync_to_async(check_in)()
        event = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return connected, event

    # when
    connected, event = async_to_sync(scenario)()
    # then
    assert connected
    assert event["type"] == "check_in"
    assert (event["volunteer"], event["place_id"], event["table"]) == ("Rita Paz", geo.north_place.pk, 3)
    assert set(event["area_ids"]) == {geo.district.pk, geo.north.pk, geo.north_town.pk}


@pytest.mark.django_db(transaction=True)
def test_live_board_hides_check_ins_outside_the_scope(geo, south_coordinator, election_day):
    # given
    assignment = _assign(geo.north_place, geo.north_tables[2])

    def check_in():
        assignment_check_in(assignment=assignment, source="sms")

    async def scenario():
        communicator = _communicator(south_coordinator, geo.election.pk)
        await communicator.connect()
        await database_sync_to_async(check_in)()
        nothing = await communicator.receive_nothing(timeout=0.5)
        await communicator.disconnect()
        return nothing

    # when / then
    assert async_to_sync(scenario)() is True


@pytest.mark.django_db(transaction=True)
def test_live_board_refuses_volunteers_and_anonymous(geo, north_volunteer):
    # given
    from django.contrib.auth.models import AnonymousUser

    async def attempt(user):
        communicator = _communicator(user, geo.election.pk)
        connected, code = await communicator.connect()
        return connected, code

    # when
    volunteer = async_to_sync(attempt)(north_volunteer.user)
    anonymous = async_to_sync(attempt)(AnonymousUser())
    # then
    assert volunteer == (False, 4403)
    assert anonymous == (False, 4403)


def test_one_click_replacement_of_a_late_watcher(client, geo, north_coordinator):
    # given: election day has passed its check-in time; Leo never arrived; Ana votes there
    from backend.assignments.models import Assignment, AssignmentStatus

    geo.election.date = datetime.date.today() - datetime.timedelta(days=1)
    geo.election.save()
    late = _assign(geo.north_place, geo.north_tables[0], first_name="Leo", last_name="Tarde", area=geo.north_town)
    VolunteerFactory(area=geo.north_town, votes_at=geo.north_place, first_name="Ana", last_name="Cerca")
    client.force_login(north_coordinator)
    page = client.get(reverse("console:election_day"))
    _late, proposals, _thread = page.context["flagged"][0]
    # when
    client.post(reverse("console:replace", args=[late.pk]), {"volunteer": proposals[0]["volunteer_id"]})
    # then
    late.refresh_from_db()
    new = Assignment.objects.get(table=geo.north_tables[0], status=AssignmentStatus.PROPOSED)
    assert proposals[0]["name"] == "Ana Cerca"
    assert late.status == AssignmentStatus.CANCELLED
    assert (new.volunteer.full_name, new.replaces) == ("Ana Cerca", late)


def test_a_long_late_list_shows_the_first_ones_and_counts_the_rest(client, geo, north_coordinator):
    # given: more late watchers than one phone page holds
    from backend.console.views import day

    geo.election.date = datetime.date.today() - datetime.timedelta(days=1)
    geo.election.table_watchers_per_table = 9
    geo.election.save()
    for table in geo.north_tables:
        for _slot in range(8):
            _assign(geo.north_place, table, area=geo.north_town)
    client.force_login(north_coordinator)
    # when
    response = client.get(reverse("console:election_day"))
    # then
    assert len(response.context["flagged"]) == day.FLAGGED_SHOWN
    assert response.context["late_total"] == 24
    assert "Y 4 más" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_live_board_closes_when_the_coordinators_scope_is_taken_away(geo, north_coordinator):
    # given: the north coordinator watches the board
    scope = CoordinatorScope.objects.get(user=north_coordinator)

    async def scenario():
        communicator = _communicator(north_coordinator, geo.election.pk)
        connected, _ = await communicator.connect()
        # when: a lead removes her only scope
        await database_sync_to_async(coordinator_scope_remove)(scope=scope)
        closed = await communicator.receive_output(timeout=5)
        return connected, closed

    connected, closed = async_to_sync(scenario)()
    # then
    assert connected
    assert closed == {"type": "websocket.close", "code": 4403}
