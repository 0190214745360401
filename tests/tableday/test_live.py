"""Every door (SMS webhook, API) writes the same row and the coordinator's board hears it live."""

import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing.websocket import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient
from twilio.request_validator import RequestValidator

from backend.assignments.models import AssignmentRole
from backend.assignments.services import assignment_create
from backend.console.routing import websocket_urlpatterns
from backend.tableday.models import TableReport


def _by_sms(volunteer, table):
    params = {
        "MessageSid": f"SM{uuid.uuid4().hex}",
        "AccountSid": "AC00000000000000000000000000000000",
        "From": volunteer.phone,
        "To": "+15005550006",
        "Body": "ABRIO",
        "NumMedia": "0",
    }
    url = settings.PUBLIC_BASE_URL + "/sms/inbound/"
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)
    assert Client().post("/sms/inbound/", params, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 200


def _by_api(volunteer, table):
    api = APIClient()
    api.force_authenticate(volunteer.user)
    assert api.post(f"/api/tables/{table.pk}/reports/", {"state": "open"}, format="json").status_code == 200


def _communicator(user, election_id):
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/board/{election_id}/")
    communicator.scope["user"] = user
    return communicator


# Real commits: the broadcast runs on commit.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("door", "channel"), [(_by_sms, "sms"), (_by_api, "api")])
def test_each_door_writes_the_same_row_and_the_board_hears_it(geo, north_volunteer, north_coordinator, door, channel):
    # given
    table = geo.north_tables[0]
    assignment_create(
        volunteer=north_volunteer, place=geo.north_place, table=table, role=AssignmentRole.TABLE, source="admin"
    )

    async def scenario():
        communicator = _communicator(north_coordinator, geo.election.pk)
        connected, _ = await communicator.connect()
        await database_sync_to_async(door)(north_volunteer, table)
        event = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return connected, event

    # when
    connected, event = async_to_sync(scenario)()
    # then
    assert connected
    row = TableReport.objects.get()
    assert (row.table, row.state, row.channel, row.actor) == (table, "open", channel, north_volunteer.user)
    assert event["type"] == "table_report"
    assert (event["table_id"], event["table"], event["state"], event["channel"]) == (table.pk, 1, "open", channel)
    assert event["report_id"] == row.pk
    assert set(event["area_ids"]) == {geo.district.pk, geo.north.pk, geo.north_town.pk}


@pytest.mark.django_db(transaction=True)
def test_the_board_of_another_area_hears_nothing(geo, north_volunteer, south_coordinator):
    table = geo.north_tables[0]
    assignment_create(
        volunteer=north_volunteer, place=geo.north_place, table=table, role=AssignmentRole.TABLE, source="admin"
    )

    async def scenario():
        communicator = _communicator(south_coordinator, geo.election.pk)
        await communicator.connect()
        await database_sync_to_async(_by_api)(north_volunteer, table)
        nothing = await communicator.receive_nothing(timeout=0.5)
        await communicator.disconnect()
        return nothing

    assert async_to_sync(scenario)() is True
