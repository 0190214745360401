"""A sheet from any door reaches the quick-count board live, filtered to the coordinator's scope."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing.websocket import WebsocketCommunicator
from rest_framework.test import APIClient

from backend.console.routing import websocket_urlpatterns


def _by_api(user, table, ballot):
    api = APIClient()
    api.force_authenticate(user)
    payload = {
        "category": "GOB",
        "votes": {str(ballot.ours.pk): 100, str(ballot.cambia.pk): 60, str(ballot.ucr.pk): 20},
        "blank": 5,
        "null": 3,
        "contested": 1,
        "challenged": 0,
        "voters": 189,
    }
    assert api.post(f"/api/tables/{table.pk}/sheets/", payload, format="json").status_code == 201


def _communicator(user, election_id):
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/board/{election_id}/")
    communicator.scope["user"] = user
    return communicator


@pytest.mark.django_db(transaction=True)
def test_the_board_hears_a_sheet_and_another_areas_board_does_not(
    geo, ballot, watcher, north_coordinator, south_coordinator
):
    table = geo.north_tables[0]

    async def scenario():
        north = _communicator(north_coordinator, geo.election.pk)
        south = _communicator(south_coordinator, geo.election.pk)
        await north.connect()
        await south.connect()
        await database_sync_to_async(_by_api)(watcher.user, table, ballot)
        event = await north.receive_json_from(timeout=5)
        silent = await south.receive_nothing(timeout=0.5)
        await north.disconnect()
        await south.disconnect()
        return event, silent

    event, silent = async_to_sync(scenario)()
    assert event == {"type": "count", "table": 1, "category_id": ballot.governor.pk, "status": "accepted"}
    assert silent
