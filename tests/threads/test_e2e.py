"""End to end: real uvicorn processes, a database they share, and `websockets` clients.

The servers run in their own processes, so they cannot see pytest's test database (in-memory on
SQLite, uncommitted on PostgreSQL): the module builds its own database (a SQLite file, or a
PostgreSQL database next to the test database), migrates and seeds it in a subprocess. Without
Redis each server has its own in-memory channel layer, so the tests that need a second process
(a second server, the SMS webhook, a reassignment) run only when REDIS_URL is set.
"""

import asyncio
import json
import os

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from .e2e_support import Server, e2e_database, manage, server_env

pytestmark = pytest.mark.slow
REDIS_URL = os.environ.get("REDIS_URL", "")
needs_redis = pytest.mark.skipif(
    not REDIS_URL, reason="needs REDIS_URL: a second process shares threads only through Redis"
)
TIMEOUT = 10


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The seeded database, one in-memory server, and (with Redis) two Redis-backed servers."""
    database_url, drop = e2e_database(tmp_path_factory.mktemp("e2e"))
    env = server_env(database_url)
    manage(env, "manage.py", "migrate", "--noinput", "-v0")
    seed = json.loads(manage(env, "-m", "tests.threads.e2e_support", "seed"))
    servers = {"memory": Server(env)}
    redis_env = None
    try:
        if REDIS_URL:
            redis_env = server_env(database_url, redis_url=REDIS_URL)
            servers["redis_a"] = Server(redis_env)
            servers["redis_b"] = Server(redis_env)
        yield {"seed": seed, "servers": servers, "redis_env": redis_env}
    finally:
        for server in servers.values():
            server.stop()
        drop()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


class Member:
    """One browser tab: a websockets client with the member's session cookie."""

    def __init__(self, world, name, server="memory", place="north", origin=None):
        self.server = world["servers"][server]
        self.url = self.server.ws(world["seed"][place])
        self.cookie = world["seed"]["cookies"].get(name, "")
        self.origin = origin or self.server.http
        self.ws = None

    async def open(self, last_id=0, *, in_url=False):
        """Connect and catch up after `last_id`: by hello, or (`in_url`) by the URL's query as the page does."""
        headers = {"Cookie": self.cookie} if self.cookie else {}
        url = f"{self.url}?last_id={last_id}" if in_url else self.url
        self.ws = await connect(url, origin=self.origin, additional_headers=headers, open_timeout=TIMEOUT)
        ready = await self.next()
        assert ready["type"] == "ready"
        if in_url:
            assert ready["resumes_from"] == last_id
        else:
            await self.send({"type": "hello", "last_id": last_id})
        return [f["message"] for f in await self.until("caught_up")]

    async def send(self, frame):
        await self.ws.send(json.dumps(frame))

    async def next(self):
        return json.loads(await asyncio.wait_for(self.ws.recv(), TIMEOUT))

    async def until(self, frame_type):
        frames = []
        while True:
            frame = await self.next()
            if frame["type"] == frame_type:
                return frames
            frames.append(frame)

    async def message(self):
        frame = await self.next()
        assert frame["type"] == "message", frame
        return frame["message"]

    async def post(self, body):
        """Send a post; return its id once both the ack and the author's own copy have arrived."""
        await self.send({"type": "post", "body": body, "client_id": body})
        acked, echoed = None, set()
        while acked is None or acked not in echoed:
            frame = await self.next()
            if frame["type"] == "ack":
                acked = frame["id"]
            else:
                assert frame["type"] == "message", frame
                echoed.add(frame["message"]["id"])
        return acked

    async def silent(self, seconds=0.5):
        try:
            frame = await asyncio.wait_for(self.ws.recv(), seconds)
        except TimeoutError:
            return True
        raise AssertionError(f"unexpected frame {frame}")

    async def close(self):
        await self.ws.close()


async def refused(member) -> int:
    try:
        await member.open()
    except InvalidStatus as exc:
        return exc.response.status_code
    await member.close()
    return 101


def test_two_members_and_their_coordinator_talk_and_another_place_hears_nothing(world):
    async def scenario():
        ana, beto, coord = Member(world, "ana"), Member(world, "beto"), Member(world, "coordinadora")
        carla = Member(world, "carla", place="south")
        for m in (ana, beto, coord, carla):
            await m.open()
        # when: ana writes, then the coordinator answers
        sent = await ana.post("Llegué, la mesa 10 abre a horario")
        got_beto, got_coord = await beto.message(), await coord.message()
        answer = await coord.post("Gracias Ana")
        got_ana = await ana.message()
        # then: the other place heard nothing of it
        quiet = await carla.silent()
        for m in (ana, beto, coord, carla):
            await m.close()
        return sent, got_beto, got_coord, answer, got_ana, quiet

    sent, got_beto, got_coord, answer, got_ana, quiet = run(scenario())
    assert got_beto["id"] == got_coord["id"] == sent
    assert got_beto["body"] == "Llegué, la mesa 10 abre a horario" and got_beto["author"] == "Ana E2e"
    assert got_ana["id"] == answer and got_ana["author_kind"] == "staff"
    assert quiet


def test_strangers_other_places_and_foreign_origins_are_refused(world):
    async def scenario():
        return {
            "member of another place": await refused(Member(world, "carla")),
            "volunteer without assignment": await refused(Member(world, "extraño")),
            "anonymous": await refused(Member(world, "nadie")),
            "foreign origin": await refused(Member(world, "ana", origin="https://evil.example")),
            "member": await refused(Member(world, "ana")),
        }

    assert run(scenario()) == {
        "member of another place": 403,
        "volunteer without assignment": 403,
        "anonymous": 403,
        "foreign origin": 403,
        "member": 101,
    }


def test_the_socket_reads_the_session_itself_and_lets_in_only_a_live_session_of_a_member(world):
    # given: sessions of members, of strangers to the north place, and sessions that are no good
    # (the thread socket has no AuthMiddlewareStack: it judges the session as Django's get_user does)
    forged = "sessionid=" + "f" * 32

    async def scenario():
        results = {}
        for name in [
            "eva",
            "responsable",
            "coordinadora",
            "coordinador_sur",
            "coordinador_inactivo",
            "eva_vencida",
            "eva_otra_clave",
            "eva_firma_falsa",
        ]:
            results[name] = await refused(Member(world, name))
        stranger = Member(world, "nadie")
        stranger.cookie = forged
        results["forged cookie"] = await refused(stranger)
        return results

    # when / then: only the live sessions of members get a socket (101); the rest a 403 handshake
    assert run(scenario()) == {
        "eva": 101,
        "responsable": 101,
        "coordinadora": 101,
        "coordinador_sur": 403,
        "coordinador_inactivo": 403,
        "eva_vencida": 403,
        "eva_otra_clave": 403,
        "eva_firma_falsa": 403,
        "forged cookie": 403,
    }


def test_reconnecting_with_the_last_id_delivers_the_gap_exactly_once_in_order(world):
    async def scenario():
        ana, beto = Member(world, "ana"), Member(world, "beto")
        await ana.open(last_id=10**9)
        await beto.open(last_id=10**9)
        last_seen = await ana.post("antes del corte")
        await beto.message()
        # when: ana's phone loses the connection while beto keeps writing
        await ana.close()
        gap = [await beto.post(f"mientras tanto {n}") for n in range(3)]
        caught_up = await ana.open(last_id=last_seen)
        live = await beto.post("ya de vuelta")
        got_live = await ana.message()
        quiet = await ana.silent()
        await ana.close()
        await beto.close()
        return gap, caught_up, live, got_live, quiet

    gap, caught_up, live, got_live, quiet = run(scenario())
    assert [m["id"] for m in caught_up] == gap
    assert [m["body"] for m in caught_up] == [f"mientras tanto {n}" for n in range(3)]
    assert got_live["id"] == live and quiet


def test_reconnecting_with_the_last_id_in_the_url_delivers_the_gap_exactly_once_without_hello(world):
    async def scenario():
        ana, beto = Member(world, "ana"), Member(world, "beto")
        await ana.open(last_id=10**9, in_url=True)
        await beto.open(last_id=10**9, in_url=True)
        last_seen = await ana.post("antes del corte, por la dirección")
        await beto.message()
        # when: ana's phone loses the connection while beto keeps writing
        await ana.close()
        gap = [await beto.post(f"mientras tanto, por la dirección {n}") for n in range(3)]
        caught_up = await ana.open(last_id=last_seen, in_url=True)
        beto_tab = Member(world, "beto")
        held_everything = await beto_tab.open(last_id=gap[-1], in_url=True)
        live = await beto.post("ya de vuelta, por la dirección")
        got_live = await ana.message()
        quiet = await ana.silent()
        for member in (ana, beto, beto_tab):
            await member.close()
        return gap, caught_up, held_everything, live, got_live, quiet

    gap, caught_up, held_everything, live, got_live, quiet = run(scenario())
    assert [m["id"] for m in caught_up] == gap
    assert held_everything == []
    assert got_live["id"] == live and quiet


@pytest.mark.redis
@needs_redis
def test_two_server_processes_deliver_to_each_others_clients_through_redis(world):
    async def scenario():
        ana, beto = Member(world, "ana", server="redis_a"), Member(world, "beto", server="redis_b")
        await ana.open(last_id=10**9)
        await beto.open(last_id=10**9)
        from_a = await ana.post("desde el servidor A")
        got_b = await beto.message()
        from_b = await beto.post("desde el servidor B")
        got_a = await ana.message()
        await ana.close()
        await beto.close()
        return from_a, got_b, from_b, got_a

    from_a, got_b, from_b, got_a = run(scenario())
    assert got_b["id"] == from_a and got_a["id"] == from_b


@pytest.mark.redis
@needs_redis
def test_sockets_reconnecting_together_to_the_other_server_get_the_gap_exactly_once(world):
    """A storm across two processes: both members drop from server A while the thread goes on,
    then come back at the same moment to server B (sharing its catch-up query)."""

    async def scenario():
        ana_a, beto_a = Member(world, "ana", server="redis_a"), Member(world, "beto", server="redis_a")
        await ana_a.open(last_id=10**9)
        await beto_a.open(last_id=10**9)
        last_seen = await ana_a.post("antes del corte")
        await beto_a.message()
        await ana_a.close()
        await beto_a.close()
        writer = Member(world, "ana", server="redis_b")
        await writer.open(last_id=10**9)
        gap = [await writer.post(f"durante el corte {n}") for n in range(3)]
        ana_b, beto_b = Member(world, "ana", server="redis_b"), Member(world, "beto", server="redis_b")
        # One by hello, one by the URL (the page's way): both share the server's catch-up.
        caught = await asyncio.gather(ana_b.open(last_id=last_seen), beto_b.open(last_id=last_seen, in_url=True))
        live = await writer.post("de vuelta")
        got_live = [await ana_b.message(), await beto_b.message()]
        quiet = [await ana_b.silent(), await beto_b.silent()]
        for member in (writer, ana_b, beto_b):
            await member.close()
        return gap, caught, live, got_live, quiet

    gap, caught, live, got_live, quiet = run(scenario())
    assert [[m["id"] for m in messages] for messages in caught] == [gap, gap]
    assert [m["id"] for m in got_live] == [live, live] and all(quiet)


def _actor(world, *args):
    return json.loads(manage(world["redis_env"], "-m", "tests.threads.e2e_support", *args))


@pytest.mark.redis
@needs_redis
def test_an_sms_from_a_member_appears_live_on_the_web(world):
    async def scenario():
        ana = Member(world, "ana", server="redis_a")
        await ana.open(last_id=10**9)
        # when: the inbound SMS webhook (another process) posts dora's text
        stored = await asyncio.to_thread(_actor, world, "sms", str(world["seed"]["volunteers"]["dora"]), "Estoy afuera")
        got = await ana.message()
        await ana.close()
        return stored, got

    stored, got = run(scenario())
    assert got["id"] == stored["id"] and got["source"] == "sms" and got["body"] == "Estoy afuera"


@pytest.mark.redis
@needs_redis
def test_a_reassigned_volunteer_is_disconnected_from_the_old_thread(world):
    async def scenario():
        beto, coord = Member(world, "beto", server="redis_b"), Member(world, "coordinadora", server="redis_a")
        await beto.open(last_id=10**9)
        await coord.open(last_id=10**9)
        # when: the console (another process) cancels beto's assignment
        await asyncio.to_thread(_actor, world, "cancel", str(world["seed"]["volunteers"]["beto"]))
        notice = await beto.next()
        try:
            await asyncio.wait_for(beto.ws.recv(), TIMEOUT)
            code = None
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else None
        coordinator_still_here = await coord.silent()
        await coord.close()
        again = await refused(Member(world, "beto", server="redis_a"))
        return notice, code, coordinator_still_here, again

    notice, code, coordinator_still_here, again = run(scenario())
    assert notice["code"] == "not_a_member"
    assert code == 4403
    assert coordinator_still_here
    assert again == 403


CHROMIUM = "/usr/bin/chromium"


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's Chromium at /usr/bin/chromium")
def test_the_page_talks_live_shows_offline_and_catches_up_when_back(world):
    from playwright.sync_api import expect, sync_playwright

    server = world["servers"]["memory"]
    url = f"{server.http}/hilos/{world['seed']['north']}/"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        pages = {}
        # The coordinator, not beto: with Redis an earlier test cancels beto's assignment.
        for name in ("ana", "coordinadora"):
            context = browser.new_context(viewport={"width": 390, "height": 844}, locale="es-AR")
            cookie = world["seed"]["cookies"][name].split("=", 1)[1]
            context.add_cookies([{"name": "sessionid", "value": cookie, "url": server.http}])
            pages[name] = context.new_page()
            pages[name].goto(url)
            expect(pages[name].locator("#status")).to_have_text("En vivo", timeout=TIMEOUT * 1000)
        ana, coord = pages["ana"], pages["coordinadora"]
        # when: ana writes through the form (sent over the socket)
        ana.fill("#body", "Hola desde el navegador")
        ana.click("#nuevo")
        # then: the coordinator sees it live
        expect(coord.locator("#messages li", has_text="Hola desde el navegador")).to_have_count(1, timeout=10_000)
        # when: the coordinator's phone loses its connection and ana keeps writing
        coord.context.set_offline(True)
        coord.evaluate("window.dispatchEvent(new Event('offline'))")
        expect(coord.locator("#status")).to_have_text("sin conexión")
        ana.fill("#body", "Mientras no estabas")
        ana.click("#nuevo")
        expect(ana.locator("#messages li", has_text="Mientras no estabas")).to_have_count(1, timeout=10_000)
        assert coord.locator("#messages li", has_text="Mientras no estabas").count() == 0
        # then: back online, the coordinator catches up by last id, once
        coord.context.set_offline(False)
        coord.evaluate("window.dispatchEvent(new Event('online'))")
        expect(coord.locator("#status")).to_have_text("En vivo", timeout=15_000)
        expect(coord.locator("#messages li", has_text="Mientras no estabas")).to_have_count(1, timeout=10_000)
        expect(coord.locator("#messages li", has_text="Hola desde el navegador")).to_have_count(1)
        browser.close()
