"""End to end: a burst of table reports against real uvicorn servers reaches every board socket
once per report, in each table's order, as the same frames a lone report makes.

The servers gather board events for `LIVE_BOARD_WINDOW` seconds after each channel-layer message
(backend/core/live.py); their settings (`board_e2e_settings.py`) make the window long (0.3 s) so
that the burst surely travels gathered.
Without Redis one server (in-memory layer) takes the reports and holds the sockets; with Redis a
second server takes half the tables, and its events reach the sockets on the first through Redis.
"""

import asyncio
import json
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from websockets.asyncio.client import connect

from tests.threads.e2e_support import Server, e2e_database, manage, server_env

pytestmark = pytest.mark.slow
REDIS_URL = os.environ.get("REDIS_URL", "")
STEPS = ["open", "closed", "counted", "sheet_sent"]  # each table reports these, one after the other
FRAME_KEYS = {
    "type",
    "report_id",
    "election_id",
    "table_id",
    "table",
    "place_id",
    "place_name",
    "reported",
    "state",
    "channel",
    "correction",
    "path",
    "area_ids",
    "at",
}
TIMEOUT = 30


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    database_url, drop = e2e_database(tmp_path_factory.mktemp("board"), suffix="board_e2e")
    env = server_env(database_url)
    manage(env, "manage.py", "migrate", "--noinput", "-v0")
    seed = json.loads(manage(env, "-m", "tests.console.board_e2e_support", "seed"))
    settings = {"DJANGO_SETTINGS_MODULE": "tests.console.board_e2e_settings", "API_THROTTLE_USER": "100000/min"}
    servers: list[Server] = []
    try:
        if REDIS_URL:
            redis_env = {**server_env(database_url, redis_url=REDIS_URL), **settings}
            servers += [Server(redis_env), Server(redis_env)]
        else:
            servers.append(Server({**env, **settings}))
        yield {"seed": seed, "servers": servers}
    finally:
        for server in servers:
            server.stop()
        drop()


def _report_every_step(base: str, token: str, table_id: int) -> None:
    """One table's reports, each sent after the previous one was answered (so committed)."""
    with requests.Session() as session:
        for state in STEPS:
            response = session.post(
                f"{base}/api/tables/{table_id}/reports/",
                json={"state": state},
                headers={"Authorization": f"Token {token}"},
                timeout=TIMEOUT,
            )
            assert response.status_code == 200, response.text


async def _board(server: Server, election_id: int, cookie: str):
    url = f"ws://127.0.0.1:{server.port}/ws/board/{election_id}/"
    return await connect(url, origin=server.http, additional_headers={"Cookie": cookie}, open_timeout=TIMEOUT)


async def _frames(ws, expected: int) -> list:
    """The frames of `ws` until `expected` have come, then any more that come within a second."""
    frames = [json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT)) for _ in range(expected)]
    while True:
        try:
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), 1)))
        except TimeoutError:
            return frames


def test_a_burst_of_reports_reaches_each_board_once_in_order_as_lone_frames(world):
    # given: a lead's board (every table) and a north coordinator's (north's tables only), both on
    # the first server; the tables' reports split between the servers
    seed, servers = world["seed"], world["servers"]
    north, south = seed["tables"]["north"], seed["tables"]["south"]
    tables = north + south
    server_of = {table_id: servers[i % len(servers)] for i, table_id in enumerate(tables)}

    async def scenario():
        lead = await _board(servers[0], seed["election"], seed["cookies"]["lead"])
        coordinator = await _board(servers[0], seed["election"], seed["cookies"]["north-coordinator"])
        listening = [
            asyncio.create_task(_frames(lead, len(tables) * len(STEPS))),
            asyncio.create_task(_frames(coordinator, len(north) * len(STEPS))),
        ]
        # when: every table reports its four steps, eight tables at a time
        with ThreadPoolExecutor(8) as pool:
            jobs = [
                asyncio.wrap_future(pool.submit(_report_every_step, server_of[t].http, seed["token"], t))
                for t in tables
            ]
            await asyncio.gather(*jobs)
        got = await asyncio.gather(*listening)
        await lead.close()
        await coordinator.close()
        return got

    lead_frames, coordinator_frames = asyncio.run(scenario())

    # then: each board heard each report once, each table's in the order they were made, every
    # frame one event shaped as a lone report's; the coordinator nothing outside north
    for frames, expected_tables in ((lead_frames, tables), (coordinator_frames, north)):
        assert all(isinstance(f, dict) and set(f) == FRAME_KEYS and f["type"] == "table_report" for f in frames)
        assert len({f["report_id"] for f in frames}) == len(frames)
        assert Counter(f["table_id"] for f in frames) == dict.fromkeys(expected_tables, len(STEPS))
        for table_id in expected_tables:
            assert [f["reported"] for f in frames if f["table_id"] == table_id] == STEPS
