"""Fixtures of the station-thread tests: assigned volunteers, session cookies, WebSocket clients."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client

from backend.accounts.models import Role
from backend.assignments.services import assignment_create
from tests.factories import UserFactory, VolunteerFactory


def run(coro):
    """Run one async scenario on a fresh event loop (tests stay plain functions)."""

    async def scenario():
        try:
            return await coro
        finally:
            # The consumers' database thread keeps its connection (CONN_MAX_AGE); close it so the
            # PostgreSQL test database can be dropped at the end of the session.
            await sync_to_async(connections.close_all)()

    return asyncio.run(scenario())


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Every member here has a login; PBKDF2 at full strength would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_persistent_connections():
    # Consumers query from pool threads; with CONN_MAX_AGE their PostgreSQL connections would outlive
    # the test and keep the test database from being dropped. Every wrapper shares this dict.
    database = connections.settings["default"]
    before = database.get("CONN_MAX_AGE", 0)
    database["CONN_MAX_AGE"] = 0
    yield
    database["CONN_MAX_AGE"] = before


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    # The in-memory layer binds its queues to the event loop of first use; each test has its own loop.
    channel_layers.backends = {}
    yield
    channel_layers.backends = {}


def assign(volunteer, place, table=None, *, actor=None):
    return assignment_create(
        volunteer=volunteer, place=place, table=table, role="table" if table else "place", actor=actor, source="web"
    )


def member_volunteer(geo, name: str, *, place=None, table_index: int = 0):
    """A volunteer with a login and an active assignment at `place` (north by default)."""
    place = place or geo.north_place
    tables = geo.north_tables if place == geo.north_place else geo.south_tables
    user = UserFactory(username=name, role=Role.VOLUNTEER)
    volunteer = VolunteerFactory(user=user, first_name=name.capitalize(), last_name="Test")
    assign(volunteer, place, tables[table_index])
    return volunteer


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def communicator(
    place_id: int, *, cookie: str = "", origin: str = "http://testserver", query: str = ""
) -> WebsocketCommunicator:
    """A client of the whole ASGI application (origin check, session auth, routing). Build it inside
    the scenario's event loop; take `cookie` from `session_cookie(user)` before entering it. `query`:
    the URL's query string, as "last_id=N"."""
    from backend.asgi import application

    headers = [(b"host", b"testserver")]
    if origin:
        headers.append((b"origin", origin.encode()))
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    path = f"/ws/threads/{place_id}/" + (f"?{query}" if query else "")
    return WebsocketCommunicator(application, path, headers=headers)


async def receive_until(comm, frame_type: str, timeout: float = 5):
    """Frames up to and including the first of `frame_type`."""
    frames = []
    while True:
        frame = await comm.receive_json_from(timeout=timeout)
        frames.append(frame)
        if frame["type"] == frame_type:
            return frames


async def join(comm, last_id: int = 0) -> list[dict]:
    """Connect, say hello, and return the catch-up messages."""
    connected, _ = await comm.connect(timeout=5)
    assert connected
    ready = await comm.receive_json_from(timeout=5)
    assert ready["type"] == "ready"
    await comm.send_json_to({"type": "hello", "last_id": last_id})
    frames = await receive_until(comm, "caught_up")
    return [f["message"] for f in frames if f["type"] == "message"]
