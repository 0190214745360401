"""The same broadcast rules from every door: console pages, API, admin actions.

A coordinator writes to their scope; a lead approves and sends it, or cancels it, through each door;
the same rows come out (the coordinator's audience, the stored count and cost, the same statuses).
"""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from backend.assignments.services import assignment_create
from backend.messaging.broadcasts import broadcast_create
from backend.messaging.models import Broadcast, BroadcastStatus, OutboundMessage
from sms.tasks import queue_broadcast

from ..factories import VolunteerFactory

pytestmark = pytest.mark.django_db


def _console(user, action: str, broadcast: Broadcast) -> str:
    client = Client()
    client.force_login(user)
    response = client.post(reverse(f"console:instruction_{action}", args=[broadcast.pk]), follow=True)
    assert response.status_code == 200
    return " ".join(str(m) for m in response.context["messages"])


def _api(user, action: str, broadcast: Broadcast) -> str:
    api = APIClient()
    api.force_authenticate(user)
    response = api.post(f"/api/sms/broadcasts/{broadcast.pk}/{action}/")
    assert response.status_code < 500
    return response.json().get("message", "")


def _admin(user, action: str, broadcast: Broadcast) -> str:
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(user)
    response = client.post(
        reverse("admin:messaging_broadcast_changelist"),
        {"action": action, "_selected_action": [broadcast.pk]},
        follow=True,
    )
    assert response.status_code == 200
    return " ".join(str(m) for m in response.context["messages"])


DOORS = {"console": _console, "api": _api, "admin": _admin}


@pytest.fixture
def written(geo, north_coordinator, north_volunteer, south_volunteer, settings):
    """A north coordinator's instruction with {escuela} and {mesa} to their three assigned watchers."""
    settings.SMS_BROADCAST_APPROVAL_THRESHOLD = 1
    settings.SMS_BACKEND = "local"
    people = [north_volunteer, VolunteerFactory(first_name="Lucas", area=geo.north_town)]
    for volunteer, table in zip(people, geo.north_tables, strict=False):
        assignment_create(volunteer=volunteer, place=geo.north_place, table=table, role="table", source="admin")
    assignment_create(
        volunteer=south_volunteer, place=geo.south_place, table=geo.south_tables[0], role="table", source="admin"
    )
    VolunteerFactory(first_name="Suelto", area=geo.north_town)  # in scope, unassigned
    return broadcast_create(
        actor=north_coordinator,
        election=geo.election,
        body="Hola {nombre}: {escuela}, mesa {mesa}.",
        segment={"complete_only": True},
    )


@pytest.mark.parametrize("door", DOORS)
def test_a_lead_approves_and_sends_the_coordinators_audience_from_every_door(
    door, written, lead, django_capture_on_commit_callbacks
):
    # given
    assert (written.status, written.recipient_count) == (BroadcastStatus.PENDING_APPROVAL, 2)
    # when
    DOORS[door](lead, "approve", written)
    with django_capture_on_commit_callbacks(execute=True):
        DOORS[door](lead, "send", written)
    # then: the two northern watchers, not the south, not the unassigned northerner; nothing recomputed
    written.refresh_from_db()
    assert written.status == BroadcastStatus.DONE
    assert (written.approved_by, written.sent_by) == (lead, lead)
    assert (written.recipient_count, str(written.estimated_cost)) == (2, "0.1000")
    assert sorted(OutboundMessage.objects.values_list("body", flat=True)) == [
        "Hola Lucas: Escuela Norte, mesa 2.",
        "Hola Maria: Escuela Norte, mesa 1.",
    ]


@pytest.mark.parametrize("door", DOORS)
def test_cancel_says_how_many_were_stopped_from_every_door(door, written, lead, django_capture_on_commit_callbacks):
    # given: approved, sent, queued by the worker, nothing drained yet
    DOORS["api"](lead, "approve", written)
    with django_capture_on_commit_callbacks(execute=False):
        DOORS["api"](lead, "send", written)
    with django_capture_on_commit_callbacks(execute=False):
        queue_broadcast(written.pk)
    # when
    said = DOORS[door](lead, "cancel", written)
    # then
    written.refresh_from_db()
    assert (written.status, written.stopped_count) == (BroadcastStatus.CANCELLED, 2)
    assert "se detuvieron 2 mensajes" in said
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {"cancelled"}


@pytest.mark.parametrize("door", DOORS)
def test_a_coordinator_cannot_approve_their_own_broadcast_from_any_door(door, written, north_coordinator):
    DOORS[door](north_coordinator, "approve", written)
    written.refresh_from_db()
    assert written.status == BroadcastStatus.PENDING_APPROVAL
