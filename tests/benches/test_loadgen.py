"""The benches' load generator (bench/loadgen.py) against a real HTTP server on a socket.

The server is a small asyncio one in a thread of the test process: it answers with a
Content-Length, a chunked body or `Connection: close`, and can hold every answer back until the
test releases it, so that the open loop's backlog is known exactly (no timing in the assertions).
"""

import asyncio
import socket
import threading
from contextlib import contextmanager

from bench.loadgen import LoadGenerator, Prepared, form_post, http_request


@contextmanager
def _server(*, hold: threading.Event | None = None):
    """(port, requests seen): a keep-alive HTTP/1.1 server; the path picks the answer's framing."""
    seen: list[bytes] = []
    loop = asyncio.new_event_loop()
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    port = listening.getsockname()[1]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = await reader.readexactly(length)
            seen.append(head + body)
            if hold is not None:
                await loop.run_in_executor(None, hold.wait)
            path = head.split(b" ")[1]
            if path == b"/drop":
                writer.close()
                return
            if path == b"/chunked":
                writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
            elif path == b"/close":
                writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                await writer.drain()
                writer.close()
                return
            elif path == b"/refused":
                writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\n\r\nsigned")
            else:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
            await writer.drain()
        writer.close()

    async def serve() -> asyncio.Server:
        return await asyncio.start_server(handle, sock=listening)

    server = loop.run_until_complete(serve())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield port, seen
    finally:
        if hold is not None:
            hold.set()
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def test_closed_loop_answers_every_request_whatever_the_framing_and_reconnects_after_close():
    with _server() as (port, seen):
        host = f"127.0.0.1:{port}"
        paths = ["/plain", "/chunked", "/close", "/refused"] * 10
        prepared = [
            Prepared(path.strip("/"), http_request("GET", path, host=host), 403 if path == "/refused" else 200)
            for path in paths
        ]
        generator = LoadGenerator("127.0.0.1", port, prepared, concurrency=3)
        generator.go()
        outcome = generator.result()

    assert outcome.mode == "closed"
    assert outcome.status == [{"/chunked": 200, "/close": 201, "/refused": 403}.get(p, 200) for p in paths]
    # Only the /close answers are not what was expected (201 for 200): reported, not hidden.
    assert len(outcome.errors) == 10 and all(e.startswith("close 201") for e in outcome.errors)
    assert outcome.failed == 10
    # The 3 first connections, one more after each `Connection: close`.
    assert outcome.connections == 3 + 10
    assert len(seen) == 40
    assert all(d >= s for s, d in zip(outcome.sent, outcome.done, strict=True))
    assert outcome.client_cpu > 0


def test_a_request_the_server_drops_twice_is_counted_as_failed_and_the_run_goes_on():
    with _server() as (port, seen):
        host = f"127.0.0.1:{port}"
        paths = ["/plain", "/drop", "/plain"]
        prepared = [Prepared(path.strip("/"), http_request("GET", path, host=host)) for path in paths]
        generator = LoadGenerator("127.0.0.1", port, prepared, concurrency=1)
        generator.go()
        outcome = generator.result()

    assert outcome.status == [200, 0, 200]
    assert len(outcome.errors) == 1 and outcome.errors[0].startswith("drop 0")
    # sent once, then once more on a new connection; never a third time
    assert [r.split(b" ")[1] for r in seen] == [b"/plain", b"/drop", b"/drop", b"/plain"]


def test_form_post_sends_the_prebuilt_body_and_headers_as_written():
    with _server() as (port, seen):
        raw = form_post(
            "/sms/inbound/", {"From": "+5493510000001", "Body": "ABRIO"}, host="h", headers={"X-Twilio-Signature": "s"}
        )
        generator = LoadGenerator("127.0.0.1", port, [Prepared("sms", raw)], concurrency=1)
        generator.go()
        outcome = generator.result()

    assert outcome.status == [200]
    assert seen == [raw]
    assert seen[0].endswith(b"\r\n\r\nFrom=%2B5493510000001&Body=ABRIO")
    assert b"Content-Length: 32\r\n" in seen[0]  # len("From=%2B5493510000001&Body=ABRIO")


def test_open_loop_counts_latency_from_the_time_due_and_keeps_the_backlog_when_the_server_stalls():
    # given a server that answers nothing until released, and at most 2 connections
    hold = threading.Event()
    with _server(hold=hold) as (port, _seen):
        host = f"127.0.0.1:{port}"
        prepared = [Prepared("plain", http_request("GET", "/plain", host=host)) for _ in range(20)]
        generator = LoadGenerator("127.0.0.1", port, prepared, concurrency=1, rate=1000, connections=2)
        # when the 20 requests fall due (in 20 ms) and only then the server answers
        generator.go()
        threading.Timer(2.0, hold.set).start()
        outcome = generator.result()

    # then the open loop did not wait for answers to keep its schedule: 2 requests in flight, the
    # other 18 due and waiting for a connection at the end of the schedule
    assert outcome.mode == "open"
    assert outcome.connections == 2
    assert outcome.backlog_at_end == 18
    assert outcome.max_backlog == 18
    assert outcome.unanswered_at_end == 20
    assert outcome.status == [200] * 20
    # held about 2 s from the schedule's start, 20 answers come at about 10 a second: far from the 1,000 asked
    assert outcome.achieved() < 20
    assert not outcome.kept_up()
    # each request is due on its schedule, 1 ms apart, and its latency counts from then: it
    # includes its wait for a connection (the backlog), which the closed loop would not see
    assert [round((t - outcome.due[0]) * 1000) for t in outcome.due] == list(range(20))
    for due, sent, done, latency in zip(outcome.due, outcome.sent, outcome.done, outcome.latencies(), strict=True):
        assert latency == done - due
        assert due <= sent <= done
    # the requests sent late are exactly those that waited: later than every one sent on time
    assert sorted(outcome.sent)[2:] == sorted(outcome.sent[2:])
