"""WebSocket frames, generated, against a real uvicorn server and a `websockets` client.

Property: whatever a member sends (bad JSON, deep nesting, NUL, escaped lone surrogates, binary
frames, wrong types, unknown fields), every frame is answered or ignored and the socket still
answers a ping; when the server closes, it closes with a code, never 1011 (internal error); the
server's log never shows a traceback. Bounded like test_fuzz.py (FUZZ_EXAMPLES, FUZZ_SEED).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.threads.e2e_support import Server, e2e_database, manage, server_env

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
pytestmark = pytest.mark.slow


class _Server(Server):
    """e2e_support's uvicorn, with a start deadline that survives a machine shared by many test runs."""

    def __init__(self, env: dict):
        env = {**env}
        for attempt in range(3):
            try:
                super().__init__(env)
                return
            except RuntimeError:
                if attempt == 2:
                    raise


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One seeded uvicorn process whose rate limits let a fuzzer through (they have their own tests)."""
    # A database of its own: test_e2e.py's may be in use by another xdist worker at the same time.
    before = os.environ.get("TEST_DATABASE_NAME")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    os.environ["TEST_DATABASE_NAME"] = f"{before or 'test_fz'}_wsfuzz{worker}"
    try:
        database_url, drop = e2e_database(tmp_path_factory.mktemp("wsfuzz"))
    finally:
        if before is None:
            os.environ.pop("TEST_DATABASE_NAME")
        else:
            os.environ["TEST_DATABASE_NAME"] = before
    env = server_env(database_url)
    env.update(
        THREADS_WS_FRAMES_PER_SECOND="10000",
        THREADS_WS_FRAMES_BURST="10000",
        THREADS_WS_POSTS_PER_SECOND="10000",
        THREADS_WS_POSTS_BURST="10000",
        E2E_LOG_DIR=str(tmp_path_factory.mktemp("wslog")),
    )
    manage(env, "manage.py", "migrate", "--noinput", "-v0")
    seed = json.loads(manage(env, "-m", "tests.threads.e2e_support", "seed"))
    running = _Server(env)
    try:
        yield running, seed
    finally:
        running.stop()
        drop()
    log = Path(running.log.name).read_text()
    assert "Traceback" not in log, log[-3000:]


def _nested(depth: int, kind: str) -> str:
    return ("[" * depth + "]" * depth) if kind == "list" else ('{"a":' * depth + "0" + "}" * depth)


json_value = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(st.characters(), max_size=30),  # lone surrogates included: sent as \\udXXX escapes
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
typed_frame = st.fixed_dictionaries(
    {"type": st.sampled_from(["hello", "post", "read", "ping", "nada", ""])},
    optional={
        "body": st.one_of(json_value, st.text(st.characters(), max_size=60), st.just("ho\x00la")),
        "last_id": json_value,
        "client_id": json_value,
        "announcement": json_value,
    },
).map(lambda frame: json.dumps(frame))  # ensure_ascii: surrogates travel as escapes, as a browser could send them
frames = st.lists(
    st.one_of(
        typed_frame,
        json_value.map(json.dumps),
        st.text(st.characters(exclude_categories=["Cs"]), max_size=200),
        st.builds(_nested, st.integers(500, 4000), st.sampled_from(["list", "object"])),
        st.binary(max_size=200),
        st.builds(lambda n: "x" * n, st.sampled_from([8191, 8193, 20000])),
    ),
    min_size=1,
    max_size=8,
)


async def _exchange(url: str, origin: str, cookie: str, sent: list) -> tuple[list[dict], int | None]:
    """Send the frames, then a ping; return the frames received and the close code (None: still open)."""
    received: list[dict] = []
    async with connect(url, origin=origin, additional_headers={"Cookie": cookie}, open_timeout=20) as ws:
        try:
            for frame in sent:
                await ws.send(frame)
            await ws.send(json.dumps({"type": "ping"}))
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 20))
                received.append(frame)
                if frame.get("type") == "pong":
                    return received, None
        except ConnectionClosed as closed:
            return received, closed.rcvd.code if closed.rcvd else None


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("FUZZ_SEED", "") != "random",
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(sent=frames)
def test_no_frame_breaks_the_socket_or_the_server(server, sent):
    running, seed = server
    url = running.ws(seed["north"])

    received, close_code = asyncio.run(_exchange(url, running.http, seed["cookies"]["ana"], sent))

    for frame in received:
        assert isinstance(frame, dict) and isinstance(frame.get("type"), str)
        if frame["type"] == "error":
            assert frame["code"] and frame["message"]
    assert close_code is None or 1000 <= close_code != 1011
