"""WebSocket frames however malformed get an error frame (the socket stays usable), never a traceback;
handshakes are accepted only from an allowed origin (scheme, host and port)."""

import json

import pytest
from channels.testing import WebsocketCommunicator

from backend.core.origins import origin_tuple, websocket_origin_allowed
from backend.threads.models import Message
from tests.threads.conftest import communicator, join, member_volunteer, run, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


async def _answer(comm, frame: str) -> dict:
    await comm.send_to(text_data=frame)
    return await comm.receive_json_from(timeout=5)


async def _still_alive(comm) -> bool:
    await comm.send_json_to({"type": "ping"})
    for _ in range(10):  # live message frames of our own posts may come first
        if (await comm.receive_json_from(timeout=5)) == {"type": "pong"}:
            return True
    return False


def test_deep_nesting_nul_and_lone_surrogates_get_error_frames_and_the_socket_stays_open(geo):
    ana = member_volunteer(geo, "ana")
    cookie = session_cookie(ana.user)
    deep = "[" * 4000 + "]" * 4000  # under 8 KiB, deeper than the JSON parser's recursion limit

    async def scenario():
        comm = communicator(geo.north_place.pk, cookie=cookie)
        await join(comm)
        answers = {
            "deep": await _answer(comm, deep),
            "deep object": await _answer(comm, '{"type": "post", "body": ' + '{"a":' * 1300 + "1" + "}" * 1300 + "}"),
            "surrogate body": await _answer(comm, '{"type": "post", "body": "hola \\ud800", "client_id": "s1"}'),
            "surrogate key": await _answer(comm, '{"type": "ping", "\\udfff": 1}'),
            "nul body": await _answer(comm, json.dumps({"type": "post", "body": "ho\x00la", "client_id": "n1"})),
        }
        alive = await _still_alive(comm)
        await comm.disconnect()
        return answers, alive

    answers, alive = run(scenario())

    assert answers["deep"]["code"] == "bad_json" and answers["deep object"]["code"] == "bad_json"
    assert answers["surrogate body"]["code"] == "invalid_characters"
    assert answers["surrogate key"]["code"] == "invalid_characters"
    assert answers["nul body"]["type"] == "ack"
    assert Message.objects.get().body == "hola"
    assert alive


def test_the_board_answers_any_frame_with_an_error_frame(geo, lead):
    from backend.asgi import application

    cookie = session_cookie(lead)

    async def scenario():
        comm = WebsocketCommunicator(
            application,
            f"/ws/board/{geo.election.pk}/",
            headers=[(b"host", b"testserver"), (b"origin", b"http://testserver"), (b"cookie", cookie.encode())],
        )
        connected, _ = await comm.connect(timeout=5)
        answers = [await _answer(comm, frame) for frame in ("{", "[" * 5000, '"\\ud800"', '{"type": "x"}')]
        await comm.disconnect()
        return connected, answers

    connected, answers = run(scenario())

    assert connected
    assert {answer["code"] for answer in answers} == {"read_only"}


def _scope(origin: str, host: str = "fz.example.org", scheme: str = "wss") -> dict:
    return {"type": "websocket", "scheme": scheme, "headers": [(b"host", host.encode()), (b"origin", origin.encode())]}


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://fz.example.org", True),
        ("https://fz.example.org:443", True),
        ("https://FZ.example.org", True),
        ("https://fz.example.org:8443", False),  # another port of the same host
        ("http://fz.example.org", False),  # another scheme of the same host
        ("https://evil.example", False),
        ("https://fz.example.org.evil.example", False),
        ("null", False),
        ("", False),
        ("https://fz.example.org:99999", False),
    ],
)
def test_origin_is_matched_by_scheme_host_and_port(settings, origin, allowed):
    settings.ALLOWED_HOSTS = ["fz.example.org"]
    settings.WEBSOCKET_ALLOWED_ORIGINS = []

    assert websocket_origin_allowed(_scope(origin)) is allowed


def test_configured_origins_are_allowed_by_their_exact_port(settings):
    settings.ALLOWED_HOSTS = ["api.example.org"]
    settings.WEBSOCKET_ALLOWED_ORIGINS = ["https://app.example.org:8443"]

    assert websocket_origin_allowed(_scope("https://app.example.org:8443", host="api.example.org"))
    assert not websocket_origin_allowed(_scope("https://app.example.org", host="api.example.org"))
    assert origin_tuple("https://app.example.org:8443/") == ("https", "app.example.org", 8443)


def test_a_handshake_from_another_port_of_the_same_host_is_refused(geo):
    ana = member_volunteer(geo, "ana")
    cookie = session_cookie(ana.user)

    async def attempt(origin):
        comm = communicator(geo.north_place.pk, cookie=cookie, origin=origin)
        connected, _ = await comm.connect(timeout=5)
        await comm.disconnect()
        return connected

    async def scenario():
        return {o: await attempt(o) for o in ("http://testserver", "http://testserver:8080", "https://testserver")}

    assert run(scenario()) == {"http://testserver": True, "http://testserver:8080": False, "https://testserver": False}
