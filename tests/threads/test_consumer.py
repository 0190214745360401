"""The thread WebSocket through the whole ASGI application, with WebsocketCommunicator."""

import json

import pytest
from channels.db import database_sync_to_async

from backend.assignments.models import AssignmentStatus
from backend.assignments.services import assignment_transition
from backend.threads.models import Message, Thread
from backend.threads.services import message_post, message_post_from_sms, message_set_hidden, thread_get_or_create
from backend.volunteers.models import Volunteer
from tests.factories import VolunteerFactory

from .conftest import communicator, join, member_volunteer, receive_until, run, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


def _post(thread, volunteer, body):
    return message_post(thread=thread, body=body, source="web", author_volunteer=volunteer)


def test_member_catches_up_in_order_then_receives_live_posts(geo):
    # given
    ana, beto = member_volunteer(geo, "ana"), member_volunteer(geo, "beto", table_index=1)
    thread = thread_get_or_create(place=geo.north_place)
    history = [_post(thread, ana, f"mensaje {n}").pk for n in range(3)]
    ana_cookie, beto_cookie = session_cookie(ana.user), session_cookie(beto.user)

    async def scenario():
        a = communicator(geo.north_place.pk, cookie=ana_cookie)
        b = communicator(geo.north_place.pk, cookie=beto_cookie)
        caught_a = await join(a)
        await join(b, last_id=history[-1])
        # when: beto posts through the socket
        await b.send_json_to({"type": "post", "body": "¿Llegó la urna a la mesa 2?", "client_id": "x1"})
        frames_b = await receive_until(b, "message")
        live_a = await a.receive_json_from(timeout=5)
        await a.disconnect()
        await b.disconnect()
        return caught_a, frames_b, live_a

    caught_a, frames_b, live_a = run(scenario())
    # then
    assert [m["id"] for m in caught_a] == history
    stored = Message.objects.get(body="¿Llegó la urna a la mesa 2?")
    assert stored.author_volunteer == beto and stored.source == "web"
    assert {"type": "ack", "client_id": "x1", "id": stored.pk} in frames_b
    assert live_a["type"] == "message"
    assert live_a["message"]["id"] == stored.pk and live_a["message"]["author"] == "Beto Test"


def test_catch_up_and_live_overlap_delivers_each_message_once_in_order(geo):
    # given: history, a client that joined the group but has not said hello yet, and posts meanwhile
    ana = member_volunteer(geo, "ana")
    thread = thread_get_or_create(place=geo.north_place)
    before = [_post(thread, ana, f"antes {n}").pk for n in range(4)]
    cookie = session_cookie(ana.user)

    async def scenario():
        comm = communicator(geo.north_place.pk, cookie=cookie)
        connected, _ = await comm.connect(timeout=5)
        assert connected
        assert (await comm.receive_json_from(timeout=5))["type"] == "ready"
        during = [(await database_sync_to_async(_post)(thread, ana, f"durante {n}")).pk for n in range(3)]
        # when: the client saw up to the second message before it lost the connection
        await comm.send_json_to({"type": "hello", "last_id": before[1]})
        frames = await receive_until(comm, "caught_up")
        after = (await database_sync_to_async(_post)(thread, ana, "después")).pk
        live = await comm.receive_json_from(timeout=5)
        nothing_more = await comm.receive_nothing(timeout=0.3)
        await comm.disconnect()
        return during, frames, after, live, nothing_more

    during, frames, after, live, nothing_more = run(scenario())
    # then: the gap exactly once, in order (the buffered live copies were dropped), then live
    got = [f["message"]["id"] for f in frames if f["type"] == "message"]
    assert got == before[2:] + during
    assert frames[-1] == {"type": "caught_up", "last_id": during[-1]}
    assert live["message"]["id"] == after
    assert nothing_more


def test_strangers_other_places_and_foreign_origins_are_refused(geo, south_volunteer):
    # given
    ana = member_volunteer(geo, "ana")
    carla = member_volunteer(geo, "carla", place=geo.south_place)
    ana_cookie, carla_cookie = session_cookie(ana.user), session_cookie(carla.user)
    unassigned_cookie = session_cookie(south_volunteer.user)

    async def attempt(cookie, origin="http://testserver"):
        comm = communicator(geo.north_place.pk, cookie=cookie, origin=origin)
        connected, _ = await comm.connect(timeout=5)
        await comm.disconnect()
        return connected

    async def scenario():
        return {
            "member": await attempt(ana_cookie),
            "anonymous": await attempt(""),
            "other place": await attempt(carla_cookie),
            "unassigned": await attempt(unassigned_cookie),
            "foreign origin": await attempt(ana_cookie, origin="https://evil.example"),
            "no origin": await attempt(ana_cookie, origin=""),
        }

    # when / then
    assert run(scenario()) == {
        "member": True,
        "anonymous": False,
        "other place": False,
        "unassigned": False,
        "foreign origin": False,
        "no origin": False,
    }


def test_coordinator_of_the_area_is_a_member_and_one_of_another_area_is_not(
    geo, north_coordinator, south_coordinator, lead
):
    cookies = {u.username: session_cookie(u) for u in (north_coordinator, south_coordinator, lead)}

    async def scenario():
        result = {}
        for name, cookie in cookies.items():
            comm = communicator(geo.north_place.pk, cookie=cookie)
            result[name], _ = await comm.connect(timeout=5)
            if result[name]:
                ready = await comm.receive_json_from(timeout=5)
                result[name] = ready["moderator"]
            await comm.disconnect()
        return result

    assert run(scenario()) == {"coord-norte": True, "coord-sur": False, "lead": True}


def test_oversized_malformed_and_too_frequent_frames_get_error_frames(geo, settings):
    # given
    settings.THREADS_WS_FRAMES_BURST = 6  # hello + the five frames below
    settings.THREADS_WS_FRAMES_PER_SECOND = 0.01
    ana = member_volunteer(geo, "ana")
    cookie = session_cookie(ana.user)

    async def scenario():
        comm = communicator(geo.north_place.pk, cookie=cookie)
        await join(comm)
        replies = []
        for raw in [
            json.dumps({"type": "post", "body": "x" * 9000}),
            "{not json",
            json.dumps([1, 2]),
            json.dumps({"type": "dance"}),
            json.dumps({"type": "hello", "last_id": 0}),
        ]:
            await comm.send_to(text_data=raw)
            replies.append(await comm.receive_json_from(timeout=5))
        # the burst is spent: the next frame is refused, and the connection stays open
        await comm.send_json_to({"type": "ping"})
        replies.append(await comm.receive_json_from(timeout=5))
        still_open = await comm.receive_nothing(timeout=0.2)
        await comm.disconnect()
        return replies, still_open

    replies, still_open = run(scenario())
    assert [r.get("code") for r in replies] == [
        "frame_too_large",
        "bad_json",
        "bad_frame",
        "unknown_type",
        "bad_frame",
        "rate_limited",
    ]
    assert all(r["type"] == "error" and r["message"] for r in replies)
    assert still_open
    assert not Message.objects.exists()


def test_posts_are_rate_limited_per_connection(geo, settings):
    settings.THREADS_WS_POSTS_BURST = 2
    settings.THREADS_WS_POSTS_PER_SECOND = 0.01
    ana = member_volunteer(geo, "ana")
    cookie = session_cookie(ana.user)

    async def scenario():
        comm = communicator(geo.north_place.pk, cookie=cookie)
        await join(comm)
        codes = []
        for n in range(3):
            await comm.send_json_to({"type": "post", "body": f"hola {n}", "client_id": str(n)})
            frames = await receive_until(comm, "ack" if n < 2 else "error")
            codes.append(frames[-1]["type"] if n < 2 else frames[-1]["code"])
        await comm.disconnect()
        return codes

    assert run(scenario()) == ["ack", "ack", "rate_limited"]
    assert Message.objects.count() == 2


def test_sms_from_a_member_appears_live_on_the_web(geo):
    # given: a web member connected, and a volunteer of the same place who only uses SMS
    ana = member_volunteer(geo, "ana")
    sms_only = VolunteerFactory(first_name="Dora", last_name="Sms")
    from .conftest import assign

    assign(sms_only, geo.north_place, geo.north_tables[2])
    cookie = session_cookie(ana.user)

    async def scenario():
        comm = communicator(geo.north_place.pk, cookie=cookie)
        await join(comm)
        # when: the inbound SMS webhook hands the text to the thread service
        await database_sync_to_async(message_post_from_sms)(volunteer=sms_only, body="Ya estoy en la escuela")
        frame = await comm.receive_json_from(timeout=5)
        await comm.disconnect()
        return frame

    frame = run(scenario())
    # then
    assert frame["type"] == "message"
    assert frame["message"]["body"] == "Ya estoy en la escuela"
    assert frame["message"]["source"] == "sms" and frame["message"]["author"] == "Dora Sms"


def test_a_volunteer_whose_assignment_is_cancelled_is_disconnected_at_once(geo):
    # given
    ana, beto = member_volunteer(geo, "ana"), member_volunteer(geo, "beto", table_index=1)
    assignment = ana.assignments.get()
    ana_cookie, beto_cookie = session_cookie(ana.user), session_cookie(beto.user)

    async def scenario():
        a = communicator(geo.north_place.pk, cookie=ana_cookie)
        b = communicator(geo.north_place.pk, cookie=beto_cookie)
        await join(a)
        await join(b)
        # when: the coordinator cancels ana's assignment
        await database_sync_to_async(assignment_transition)(
            assignment=assignment, to_status=AssignmentStatus.CANCELLED, source="web"
        )
        notice = await a.receive_json_from(timeout=5)
        closed = await a.receive_output(timeout=5)
        beto_untouched = await b.receive_nothing(timeout=0.3)
        await b.disconnect()
        return notice, closed, beto_untouched

    notice, closed, beto_untouched = run(scenario())
    # then
    assert notice["code"] == "not_a_member"
    assert closed == {"type": "websocket.close", "code": 4403}
    assert beto_untouched


def test_hidden_messages_disappear_for_members_but_not_for_moderators(geo, north_coordinator):
    # given
    ana = member_volunteer(geo, "ana")
    thread = thread_get_or_create(place=geo.north_place)
    rude = _post(thread, ana, "mensaje fuera de lugar")
    ana_cookie, coord_cookie = session_cookie(ana.user), session_cookie(north_coordinator)

    async def scenario():
        a = communicator(geo.north_place.pk, cookie=ana_cookie)
        c = communicator(geo.north_place.pk, cookie=coord_cookie)
        await join(a)
        await join(c)
        await database_sync_to_async(message_set_hidden)(
            actor=north_coordinator, message=rude, hidden=True, reason="insulto"
        )
        update_a = await a.receive_json_from(timeout=5)
        update_c = await c.receive_json_from(timeout=5)
        await a.disconnect()
        await c.disconnect()
        again_a = communicator(geo.north_place.pk, cookie=ana_cookie)
        again_c = communicator(geo.north_place.pk, cookie=coord_cookie)
        history_a, history_c = await join(again_a), await join(again_c)
        await again_a.disconnect()
        await again_c.disconnect()
        return update_a, update_c, history_a, history_c

    update_a, update_c, history_a, history_c = run(scenario())
    assert update_a["type"] == "message.updated" and update_a["message"]["hidden"] is True
    assert update_a["message"]["body"] == ""
    assert update_c["message"]["body"] == "mensaje fuera de lugar"
    assert history_a == []
    assert [m["id"] for m in history_c] == [rude.pk]


def test_an_announcement_reaching_an_open_page_counts_as_seen_on_the_web(geo, north_coordinator):
    # given
    ana = member_volunteer(geo, "ana")
    thread = Thread.objects.get(pk=thread_get_or_create(place=geo.north_place).pk)
    cookie = session_cookie(ana.user)
    Volunteer.objects.filter(pk=ana.pk).update(last_seen_web_at=None)

    async def scenario():
        comm = communicator(geo.north_place.pk, cookie=cookie)
        await join(comm)
        await database_sync_to_async(Volunteer.objects.filter(pk=ana.pk).update)(last_seen_web_at=None)
        message = await database_sync_to_async(message_post)(
            thread=thread, body="Cierre a las 18", source="web", author_user=north_coordinator, announcement=True
        )
        frame = await comm.receive_json_from(timeout=5)
        await comm.send_json_to({"type": "ping"})
        await receive_until(comm, "pong")  # the consumer finished handling the announcement
        await comm.disconnect()
        return message, frame

    message, frame = run(scenario())
    ana.refresh_from_db()
    assert frame["message"]["announcement"] is True
    assert ana.last_seen_web_at >= message.created_at


def test_a_volunteer_moved_to_another_place_leaves_the_old_thread_and_can_join_the_new_one(geo):
    # given: ana watches in the north, carla in the south; both connected to their threads
    from backend.assignments.services import assignment_swap

    ana = member_volunteer(geo, "ana")
    carla = member_volunteer(geo, "carla", place=geo.south_place)
    ana_cookie, carla_cookie = session_cookie(ana.user), session_cookie(carla.user)
    first, second = ana.assignments.get(), carla.assignments.get()

    async def scenario():
        a = communicator(geo.north_place.pk, cookie=ana_cookie)
        c = communicator(geo.south_place.pk, cookie=carla_cookie)
        await join(a)
        await join(c)
        # when: a coordinator swaps their slots
        await database_sync_to_async(assignment_swap)(first=first, second=second, source="web")
        closed = []
        for comm in (a, c):
            assert (await comm.receive_json_from(timeout=5))["code"] == "not_a_member"
            closed.append(await comm.receive_output(timeout=5))
        ana_south = communicator(geo.south_place.pk, cookie=ana_cookie)
        joined, _ = await ana_south.connect(timeout=5)
        await ana_south.disconnect()
        return closed, joined

    closed, joined_new_place = run(scenario())
    # then
    assert closed == [{"type": "websocket.close", "code": 4403}] * 2
    assert joined_new_place


# --- the last id in the URL: caught up at connect, without hello -----------------------------------


def _count_catch_up_queries(monkeypatch) -> list[int]:
    """The thread ids of every catch-up page read from the database from now on."""
    from backend.threads import selectors

    reads: list[int] = []
    original = selectors.message_rows_after

    def counted(**kwargs):
        reads.append(kwargs["thread_id"])
        return original(**kwargs)

    monkeypatch.setattr(selectors, "message_rows_after", counted)
    return reads


def test_a_client_giving_its_last_id_in_the_url_is_caught_up_without_hello(geo):
    # given
    ana, beto = member_volunteer(geo, "ana"), member_volunteer(geo, "beto", table_index=1)
    thread = thread_get_or_create(place=geo.north_place)
    history = [_post(thread, beto, f"mensaje {n}").pk for n in range(3)]
    cookie = session_cookie(ana.user)

    async def scenario():
        comm = communicator(geo.north_place.pk, cookie=cookie, query=f"last_id={history[0]}")
        connected, _ = await comm.connect(timeout=5)
        assert connected
        # when: the client says nothing
        frames = await receive_until(comm, "caught_up")
        live = (await database_sync_to_async(_post)(thread, beto, "en vivo")).pk
        live_frame = await comm.receive_json_from(timeout=5)
        nothing_more = await comm.receive_nothing(timeout=0.3)
        await comm.disconnect()
        return frames, live, live_frame, nothing_more

    frames, live, live_frame, nothing_more = run(scenario())
    # then: ready says where it resumes from, the gap comes once, in order, then live
    assert frames[0]["type"] == "ready" and frames[0]["resumes_from"] == history[0]
    assert [f["message"]["id"] for f in frames[1:-1]] == history[1:]
    assert frames[-1] == {"type": "caught_up", "last_id": history[-1]}
    assert live_frame["message"]["id"] == live and nothing_more


def test_a_socket_that_holds_everything_is_caught_up_without_reading_the_messages(geo, monkeypatch):
    # given: beto's socket already listens to the thread in this process, ana's page holds every message
    ana, beto = member_volunteer(geo, "ana"), member_volunteer(geo, "beto", table_index=1)
    thread = thread_get_or_create(place=geo.north_place)
    newest = [_post(thread, beto, f"mensaje {n}").pk for n in range(2)][-1]
    ana_cookie, beto_cookie = session_cookie(ana.user), session_cookie(beto.user)

    async def scenario():
        b = communicator(geo.north_place.pk, cookie=beto_cookie, query=f"last_id={newest}")
        await b.connect(timeout=5)
        await receive_until(b, "caught_up")
        reads = _count_catch_up_queries(monkeypatch)
        # when
        a = communicator(geo.north_place.pk, cookie=ana_cookie, query=f"last_id={newest}")
        await a.connect(timeout=5)
        frames = await receive_until(a, "caught_up")
        live = (await database_sync_to_async(_post)(thread, beto, "en vivo")).pk
        live_frame = await a.receive_json_from(timeout=5)
        nothing_more = await a.receive_nothing(timeout=0.3)
        await a.disconnect()
        await b.disconnect()
        return reads, frames, live, live_frame, nothing_more

    reads, frames, live, live_frame, nothing_more = run(scenario())
    # then
    assert reads == []
    assert [f["type"] for f in frames] == ["ready", "caught_up"]
    assert live_frame["message"]["id"] == live and nothing_more


def test_a_message_stored_while_a_socket_reads_its_membership_reaches_it_once(geo, monkeypatch):
    # given: beto's socket listens to the thread; ana connects holding every message so far, and
    # a message is stored right after her membership is read, before her socket joins the thread
    from backend.threads import selectors

    ana, beto = member_volunteer(geo, "ana"), member_volunteer(geo, "beto", table_index=1)
    thread = thread_get_or_create(place=geo.north_place)
    newest = _post(thread, beto, "antes").pk
    ana_cookie, beto_cookie = session_cookie(ana.user), session_cookie(beto.user)
    original = selectors.thread_member_for_session
    stored: list[int] = []

    def read_then_someone_posts(**kwargs):
        found = original(**kwargs)
        if found is not None and found[0] == ana.user:
            stored.append(_post(thread, beto, "entre la lectura y la unión").pk)
        return found

    async def scenario():
        b = communicator(geo.north_place.pk, cookie=beto_cookie, query=f"last_id={newest}")
        await b.connect(timeout=5)
        await receive_until(b, "caught_up")
        monkeypatch.setattr(selectors, "thread_member_for_session", read_then_someone_posts)
        # when
        a = communicator(geo.north_place.pk, cookie=ana_cookie, query=f"last_id={newest}")
        await a.connect(timeout=5)
        frames = await receive_until(a, "caught_up")
        # With Redis the message's event may reach this process after the catch-up: then it comes live.
        while not await a.receive_nothing(timeout=0.5):
            frames.append(await a.receive_json_from(timeout=1))
        await a.disconnect()
        await b.disconnect()
        return frames

    frames = run(scenario())
    # then: the message arrives once, from the catch-up or live, and nothing else does
    assert [f["message"]["id"] for f in frames if f["type"] == "message"] == stored
    assert {f["type"] for f in frames} == {"ready", "message", "caught_up"}


def test_a_last_id_in_the_url_that_is_not_a_number_gets_an_error_and_hello_still_works(geo):
    # given
    ana = member_volunteer(geo, "ana")
    thread = thread_get_or_create(place=geo.north_place)
    history = [_post(thread, ana, f"mensaje {n}").pk for n in range(2)]
    cookie = session_cookie(ana.user)

    async def scenario():
        comm = communicator(geo.north_place.pk, cookie=cookie, query="last_id=-3")
        connected, _ = await comm.connect(timeout=5)
        ready = await comm.receive_json_from(timeout=5)
        error = await comm.receive_json_from(timeout=5)
        # when: the client falls back to hello
        await comm.send_json_to({"type": "hello", "last_id": 0})
        frames = await receive_until(comm, "caught_up")
        await comm.disconnect()
        return connected, ready, error, frames

    connected, ready, error, frames = run(scenario())
    # then
    assert connected and ready["type"] == "ready" and "resumes_from" not in ready
    assert error["type"] == "error" and error["code"] == "bad_query"
    assert [f["message"]["id"] for f in frames if f["type"] == "message"] == history


def test_a_last_id_in_the_url_lets_no_stranger_in(geo, south_volunteer):
    # given: a volunteer of another place and someone without a session, both giving a last id
    carla = member_volunteer(geo, "carla", place=geo.south_place)
    carla_cookie = session_cookie(carla.user)

    async def attempt(cookie):
        comm = communicator(geo.north_place.pk, cookie=cookie, query="last_id=0")
        connected, _ = await comm.connect(timeout=5)
        await comm.disconnect()
        return connected

    async def scenario():
        return await attempt(carla_cookie), await attempt("")

    # when / then
    assert run(scenario()) == (False, False)
