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
from backend.assignments.models import Assignment, AssignmentRole, AssignmentStatus
from backend.assignments.services import assignment_check_in, assignment_create
from backend.console.routing import websocket_urlpatterns
from tests.factories import VolunteerFactory


def _assign(place, table, *, told_hours_ago: float | None = 48, **kwargs):
    """A table watcher; told (notified by SMS) `told_hours_ago` hours ago, or a bare proposal with None."""
    assignment = assignment_create(
        volunteer=VolunteerFactory(**kwargs), place=place, table=table, role=AssignmentRole.TABLE, source="web"
    )
    if told_hours_ago is not None:
        _tell(assignment, hours_ago=told_hours_ago)
    return assignment


def _tell(assignment, *, hours_ago: float):
    """Notify the watcher through the service, then move that event back to when it happened."""
    from django.utils import timezone

    from backend.assignments.models import AssignmentEvent, AssignmentStatus
    from backend.assignments.services import assignment_transition

    assignment_transition(assignment=assignment, to_status=AssignmentStatus.NOTIFIED, source="sms")
    AssignmentEvent.objects.filter(assignment=assignment, to_status=AssignmentStatus.NOTIFIED).update(
        created_at=timezone.now() - datetime.timedelta(hours=hours_ago)
    )
    assignment.refresh_from_db()
    return assignment


def _proposals(client, late) -> list[dict]:
    """The proposals the board's "Proponer reemplazo" loads for one late watcher (htmx fragment)."""
    response = client.get(reverse("console:late_proposals", args=[late.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return response.context["proposals"]


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
    assert [a.volunteer.full_name for a, _thread in after.context["flagged"]] == ["Leo Tarde"]


def test_a_proposal_nobody_was_told_of_is_not_counted_late(client, geo, north_coordinator):
    # given: the check-in time has passed; Leo was told two days ago, Nadia's proposal was never sent
    geo.election.date = datetime.date.today() - datetime.timedelta(days=1)
    geo.election.save()
    _assign(geo.north_place, geo.north_tables[0], first_name="Leo", last_name="Tarde")
    _assign(geo.north_place, geo.north_tables[1], first_name="Nadia", last_name="Sinaviso", told_hours_ago=None)
    client.force_login(north_coordinator)
    # when
    response = client.get(reverse("console:election_day"))
    # then: only the person who knew where to go is missing
    assert [a.volunteer.full_name for a, _t in response.context["flagged"]] == ["Leo Tarde"]
    assert response.context["late_total"] == 1


def test_a_replacement_is_late_only_once_its_own_grace_has_passed(client, geo, north_coordinator, settings):
    # given: a replacement told 10 minutes ago, with 30 minutes of grace
    settings.CONSOLE_CHECK_IN_GRACE_MINUTES = 30
    geo.election.date = datetime.date.today() - datetime.timedelta(days=1)
    geo.election.save()
    fresh = _assign(geo.north_place, geo.north_tables[0], first_name="Rosa", last_name="Nueva", told_hours_ago=10 / 60)
    client.force_login(north_coordinator)
    # when
    soon_after = client.get(reverse("console:election_day")).context["late_total"]
    _tell_again = fresh.events.filter(to_status="notified")
    from django.utils import timezone

    _tell_again.update(created_at=timezone.now() - datetime.timedelta(minutes=31))
    later = client.get(reverse("console:election_day")).context["late_total"]
    # then
    assert (soon_after, later) == (0, 1)


def test_late_watchers_of_one_place_get_different_proposals(client, geo, north_coordinator):
    # given: three late watchers in one place and six free volunteers nearby
    geo.election.date = datetime.date.today() - datetime.timedelta(days=1)
    geo.election.save()
    for table in geo.north_tables:
        _assign(geo.north_place, table, area=geo.north_town)
    for i in range(6):
        VolunteerFactory(area=geo.north_town, votes_at=geo.north_place, first_name=f"Libre{i}")
    client.force_login(north_coordinator)
    # when: the coordinator opens each late watcher's proposals from the board
    flagged = client.get(reverse("console:election_day")).context["flagged"]
    pairs = [_proposals(client, a) for a, _t in flagged]
    # then: each watcher has two proposals and nobody is proposed twice
    proposed = [c["volunteer_id"] for proposals in pairs for c in proposals]
    assert [len(p) for p in pairs] == [2, 2, 2]
    assert len(set(proposed)) == len(proposed) == 6


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
def test_coverage_pages_hear_of_every_change_in_their_scope(geo, north_coordinator, south_coordinator):
    # given: both coordinators have a page open
    def assign_and_decline():
        assignment = _assign(geo.north_place, geo.north_tables[2], told_hours_ago=None)
        from backend.assignments.services import assignment_decline

        assignment_decline(assignment=assignment, source="sms")

    async def scenario():
        north = _communicator(north_coordinator, geo.election.pk)
        south = _communicator(south_coordinator, geo.election.pk)
        await north.connect()
        await south.connect()
        await database_sync_to_async(assign_and_decline)()
        first = await north.receive_json_from(timeout=5)
        south_heard = not await south.receive_nothing(timeout=0.5)
        await north.disconnect()
        await south.disconnect()
        return first, south_heard

    # when
    first, south_heard = async_to_sync(scenario)()
    # then: the north's page re-reads itself; the south hears nothing of the north
    assert first == {"type": "changed"}
    assert south_heard is False


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
    _late, _thread = page.context["flagged"][0]
    assert reverse("console:late_proposals", args=[late.pk]) in page.content.decode()
    proposals = _proposals(client, late)
    # when
    client.post(reverse("console:replace", args=[late.pk]), {"volunteer": proposals[0]["volunteer_id"]})
    # then: Leo, who had been told, is absent; Ana's proposal is not late before she is told
    late.refresh_from_db()
    new = Assignment.objects.get(table=geo.north_tables[0], status=AssignmentStatus.PROPOSED)
    assert proposals[0]["name"] == "Ana Cerca"
    assert late.status == AssignmentStatus.NO_SHOW
    assert (new.volunteer.full_name, new.replaces) == ("Ana Cerca", late)
    assert client.get(reverse("console:election_day")).context["late_total"] == 0


def test_every_late_watcher_is_reachable_page_by_page(client, geo, north_coordinator):
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
    second = client.get(reverse("console:election_day"), {"tarde": 2})
    # then: 20 on the first page, the other 4 on the second, none twice
    first_ids = {a.pk for a, _t in response.context["flagged"]}
    second_ids = {a.pk for a, _t in second.context["flagged"]}
    assert len(first_ids) == day.FLAGGED_SHOWN and len(second_ids) == 4
    assert response.context["late_total"] == 24 and not first_ids & second_ids
    assert "tarde=2" in response.content.decode()


def test_unread_announcements_show_on_the_board_with_phones_to_call(client, geo, north_coordinator, settings):
    # given: an announcement 20 minutes old that Dora neither read on the web nor got by SMS
    from django.utils import timezone

    from backend.threads import services as threads
    from backend.threads.models import Message

    settings.THREADS_UNREAD_ESCALATION_AFTER = datetime.timedelta(minutes=15)
    dora = _assign(geo.north_place, geo.north_tables[0], first_name="Dora", last_name="Sinleer").volunteer
    thread = threads.thread_get_or_create(place=geo.north_place)
    posted = threads.message_post_as(actor=north_coordinator, thread=thread, body="Cierre 18 h", announcement=True)
    Message.objects.filter(pk=posted.pk).update(created_at=timezone.now() - datetime.timedelta(minutes=20))
    client.force_login(north_coordinator)
    # when
    response = client.get(reverse("console:election_day"))
    # then
    html = response.content.decode()
    assert [u.volunteer_name for u in response.context["unread"]] == ["Dora Sinleer"]
    assert 'data-testid="unread-announcements"' in html and f'href="tel:{dora.phone}"' in html


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


def test_proposals_for_someone_who_arrived_meanwhile_say_so(client, geo, north_coordinator):
    # given: Leo was late; he checks in before the coordinator opens his proposals
    geo.election.date = datetime.date.today() - datetime.timedelta(days=1)
    geo.election.save()
    late = _assign(geo.north_place, geo.north_tables[0], first_name="Leo", last_name="Tarde", area=geo.north_town)
    VolunteerFactory(area=geo.north_town, votes_at=geo.north_place)
    client.force_login(north_coordinator)
    assert len(_proposals(client, late)) == 1
    # (the check-in service accepts only the election's own day; the election here was yesterday)
    Assignment.objects.filter(pk=late.pk).update(status=AssignmentStatus.CHECKED_IN)
    # when
    response = client.get(reverse("console:late_proposals", args=[late.pk]))
    # then: a page (no JavaScript) that says so, and nothing to click
    assert response.status_code == 200 and response.context["proposals"] == []
    assert "Ya no figura sin presente" in response.content.decode()


def test_proposals_of_a_watcher_outside_the_scope_are_not_found(client, geo, south_coordinator):
    geo.election.date = datetime.date.today() - datetime.timedelta(days=1)
    geo.election.save()
    late = _assign(geo.north_place, geo.north_tables[0], area=geo.north_town)
    client.force_login(south_coordinator)
    assert client.get(reverse("console:late_proposals", args=[late.pk])).status_code == 404
