"""The election-day write path's cost: statements per report by door (regression guards, not timings),
the board event built from what the report read, and the live door's order under an ASGI loop."""

import uuid

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from twilio.request_validator import RequestValidator

from backend.core.live import BATCH, board_group, live_send, thread_group
from backend.tableday.models import TableDay, TableReport
from backend.tableday.services import table_report
from tests.sms.webhook import inbound_params, twiml_text

from ..factories import AreaFactory, PollingPlaceFactory, TableFactory


def test_a_report_reads_and_writes_in_two_statements_on_postgresql_and_a_repeat_in_one(
    geo, watcher, django_assert_num_queries
):
    table = geo.north_tables[0]
    # the table with its place, areas and day row (locked on SQLite's immediate transaction); the
    # report with the day row (one WITH on PostgreSQL that also takes the table's lock, the day's
    # INSERT the first time and its UPDATE after; two statements elsewhere)
    writes = 1 if connection.vendor == "postgresql" else 2
    with django_assert_num_queries(1 + writes):
        first = table_report(table=table, state="open", channel="api", actor=watcher.user)
    with django_assert_num_queries(1 + writes):
        second = table_report(table=table, state="closed", channel="sms", note="cerró a las 18")
    with django_assert_num_queries(1):  # a late ABRIO: the read, nothing written
        late = table_report(table=table, state="open", channel="sms")
    assert first.changed and not late.changed
    # then: both reports as given, and the day row's steps at their reports' times
    rows = list(TableReport.objects.filter(table=table).order_by("id"))
    assert [(r.pk, r.state, r.channel, r.actor_id, r.note, r.correction) for r in rows] == [
        (first.report.pk, "open", "api", watcher.user.pk, "", False),
        (second.report.pk, "closed", "sms", None, "cerró a las 18", False),
    ]
    assert [r.created_at for r in rows] == [first.report.created_at, second.report.created_at]
    day = TableDay.objects.get(table=table)
    assert (day.state, day.watcher_absent, day.opened_at, day.closed_at, day.counted_at) == (
        "closed",
        "",
        rows[0].created_at,
        rows[1].created_at,
        None,
    )
    assert day.updated_at >= rows[1].created_at


def test_an_sms_opening_stays_within_its_statement_budget(client, watcher, geo, django_assert_max_num_queries):
    params = inbound_params(watcher.phone, "ABRIO")
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(
        settings.PUBLIC_BASE_URL + "/sms/inbound/", params
    )
    # the sender, the stored message, the assignments with their tables' state, the report and the day
    # row (one statement on PostgreSQL, which takes the table's lock), the reply;
    # and the two transactions' begin and end (savepoints inside the test's transaction)
    with django_assert_max_num_queries(11):
        reply = twiml_text(client.post("/sms/inbound/", params, HTTP_X_TWILIO_SIGNATURE=signature))
    assert "mesa 1 ABIERTA" in reply
    assert TableDay.objects.get(table=geo.north_tables[0]).state == "open"


def test_an_api_report_stays_within_its_statement_budget(watcher, geo, django_assert_max_num_queries):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=watcher.user).key}")
    table = geo.north_tables[0]
    # the token, the table with the reporter's duty there and its state, the report and the day row
    # (SQLite: read again in the write transaction), and the timeline read once for the answer
    with django_assert_max_num_queries(10):
        response = api.post(f"/api/tables/{table.pk}/reports/", {"state": "open"}, format="json")
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["changed"], len(response.json()["reports"])) == ("open", True, 1)


def test_the_board_event_names_every_area_above_the_table_however_deep_the_tree(
    geo, settings, django_capture_on_commit_callbacks
):
    # given: a place six levels down (deeper than the lock's joins reach) and one two levels down;
    # a listener on the board's group (in memory: this test's calls run on one loop each)
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    chain = [geo.district]
    for level in range(5):
        chain.append(AreaFactory(election=geo.election, parent=chain[-1], kind=f"nivel{level}"))
    deep = TableFactory(place=PollingPlaceFactory(election=geo.election, area=chain[-1]), district=geo.district)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(board_group(geo.election.pk), channel)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        table_report(table=deep, state="open", channel="api")
        table_report(table=geo.north_tables[0], state="open", channel="api")
    # then
    first, second = async_to_sync(layer.receive)(channel), async_to_sync(layer.receive)(channel)
    assert first["area_ids"] == [area.pk for area in chain]
    assert (first["table_id"], first["place_id"], first["path"]) == (deep.pk, deep.place_id, chain[-1].path)
    assert second["area_ids"] == [geo.district.pk, geo.north.pk, geo.north_town.pk]
    assert (second["table"], second["place_name"], second["state"]) == (1, "Escuela Norte", "open")


@pytest.mark.django_db(transaction=True)
def test_events_sent_from_request_threads_reach_the_group_in_commit_order():
    # given: a listener on a group, and sync code run from the event loop as the ASGI server runs a view
    layer = get_channel_layer()
    group = f"board.order-{uuid.uuid4().hex[:8]}"

    def view():
        for n in range(40):
            live_send(group, {"type": "table_report.created", "n": n})

    async def scenario():
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        # when
        await database_sync_to_async(view)()
        got: list[int] = []
        while len(got) < 40:
            got += [event["n"] for event in _unbatched(await layer.receive(channel))]
        return got

    # then
    assert async_to_sync(scenario)() == list(range(40))


def _unbatched(message: dict) -> list[dict]:
    return message["events"] if message["type"] == BATCH else [message]


@pytest.mark.django_db(transaction=True)
def test_board_events_after_quiet_go_alone_and_those_sent_meanwhile_travel_together_in_order(settings):
    # given: a listener on a board group; a long window, so that the burst surely falls inside it
    settings.LIVE_BOARD_WINDOW = 2.0
    layer = get_channel_layer()
    group = board_group(int(uuid.uuid4().int % 10**9))
    send = sync_to_async(lambda n: live_send(group, {"type": "table_report.created", "n": n}))

    async def scenario():
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        # when: one event after quiet, then five while the first one's window is open
        await send(0)
        first = await layer.receive(channel)
        for n in range(1, 6):
            await send(n)
        second = await layer.receive(channel)
        await layer.group_discard(group, channel)
        return first, second

    first, second = async_to_sync(scenario)()
    # then: the first went at once, as itself; the others in one message, in the order sent
    assert first == {"type": "table_report.created", "n": 0}
    assert second == {"type": BATCH, "events": [{"type": "table_report.created", "n": n} for n in range(1, 6)]}


@pytest.mark.django_db(transaction=True)
def test_thread_events_are_never_gathered(settings):
    # given: a thread's group and the same long window
    settings.LIVE_BOARD_WINDOW = 2.0
    layer = get_channel_layer()
    group = thread_group(int(uuid.uuid4().int % 10**9))
    send = sync_to_async(lambda n: live_send(group, {"type": "message.created", "n": n}))

    async def scenario():
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        # when
        for n in range(3):
            await send(n)
        got = [await layer.receive(channel) for _ in range(3)]
        await layer.group_discard(group, channel)
        return got

    # then: one message each, in order
    assert async_to_sync(scenario)() == [{"type": "message.created", "n": n} for n in range(3)]
