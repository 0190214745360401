"""The HTTP benches' load generator: prebuilt requests sent from a process of its own, closed or open loop.

Every request is built (signed, its body encoded) into the bytes to write before the measured phase,
and sent over keep-alive connections by raw asyncio streams (uvloop when installed) in a forked
process, apart from the bench's own process (its /proc sampler) and the board reader: on 2 cores
every millisecond the client burns is taken from the server, and in production Twilio's machines and
the phones send these requests, not ours.

Two modes:
- closed loop (`rate=None`): `concurrency` connections, each sending its next request as soon as
  the last one is answered: the saturation run (the rate is the server's maximum; the latency is
  then concurrency / rate, Little's law, and says nothing of the latency at a given rate);
- open loop (`rate=R`): request i is due at t0 + i / R whatever happened before (Twilio and the
  phones do not wait for our previous answer). A due request takes an idle connection, or opens
  one (up to `connections`), or waits in the backlog; its latency counts from the time it was due,
  so a stalled server is charged the whole wait (no coordinated omission).

Times are time.perf_counter() (CLOCK_MONOTONIC): the same clock in every process of the bench.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import math
import multiprocessing
import os
import time
from array import array
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import urlencode

TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Prepared:
    """One request as the bytes to write, what kind it is (for the figures) and the status expected."""

    kind: str
    raw: bytes
    expect: int = 200


def http_request(
    method: str, path: str, *, host: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method != "GET":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def form_post(path: str, params: dict[str, str], *, host: str, headers: dict[str, str] | None = None) -> bytes:
    body = urlencode(params).encode()
    return http_request(
        "POST",
        path,
        host=host,
        headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
        body=body,
    )


def json_post(path: str, payload: object, *, host: str, headers: dict[str, str] | None = None) -> bytes:
    body = json.dumps(payload).encode()
    return http_request(
        "POST", path, host=host, headers={"Content-Type": "application/json", **(headers or {})}, body=body
    )


def process_cpu(pid: int) -> float | None:
    """User + system CPU seconds of one process (all its threads), None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14 and 15)


@dataclass
class Outcome:
    """What the load generator saw: per request when it was due, sent and answered, and its status."""

    mode: str
    rate: float | None
    concurrency: int
    kinds: list[str]
    due: list[float]  # closed loop: the time it was sent
    sent: list[float]
    done: list[float]
    status: list[int]
    started: float
    errors: list[str]  # the first 20 answers not of the status expected
    failed: int  # how many answers were not of the status expected
    client_cpu: float  # seconds, the client process's whole life (start-up, connections, sending)
    connections: int  # opened over the run
    max_backlog: int  # most requests due and waiting for a connection at once
    backlog_at_end: int  # due by the end of the schedule and not yet sent
    unanswered_at_end: int  # due by the end of the schedule and not yet answered (backlog + in flight)
    healthz: list[float] = field(default_factory=list)

    def latencies(self, kind: str | None = None) -> list[float]:
        """Seconds from when each request was due (open loop) or sent (closed loop) to its answer."""
        return [d - t for k, t, d in zip(self.kinds, self.due, self.done, strict=True) if kind is None or k == kind]

    def lateness(self) -> list[float]:
        """Seconds from when each request was due to when its first byte was written (the backlog's wait)."""
        return [s - t for t, s in zip(self.due, self.sent, strict=True)]

    @property
    def elapsed(self) -> float:
        return max(self.done) - self.started if self.done else float("nan")

    def achieved(self) -> float:
        """Answers per second: over the whole run in a closed loop; in an open loop from the first request
        due to the last answer (n / (n / rate + the last latency) when the server keeps up, so a little
        under the rate; far under it when answers fall behind)."""
        n = len(self.done)
        if self.rate is None:
            return n / self.elapsed
        return n / (max(self.done) - min(self.due))

    def kept_up(self) -> bool:
        """Open loop: whether the answers kept to the schedule, within 5 % (the last answer's latency)."""
        return self.rate is not None and self.achieved() >= 0.95 * self.rate

    def describe(self) -> str:
        if self.rate is None:
            return f"closed loop: {self.concurrency} connections, each sending on its last answer (saturation)"
        return (
            f"open loop: {len(self.kinds):,} requests due at {self.rate:g}/s ({len(self.kinds) / self.rate:.1f} s), "
            f"latency from the time due; up to {self.concurrency} connections kept open"
        )


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class LoadGenerator:
    """The client process: forks, opens its first connections, then waits for `go()`."""

    def __init__(
        self,
        host: str,
        port: int,
        prepared: list[Prepared],
        *,
        concurrency: int,
        rate: float | None = None,
        connections: int = 256,
        healthz_every: float | None = None,
    ):
        context = multiprocessing.get_context("fork")
        # The collector would write to every object of the bench's (Django's) heap in both processes,
        # and each page written after the fork is copied at the writer's expense: keep it off them.
        gc.freeze()
        self.ready, self._go = context.Event(), context.Event()
        self._results, child_end = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_client_main,
            args=(host, port, prepared, concurrency, rate, connections, healthz_every, self.ready, self._go, child_end),
            daemon=True,
        )
        self.process.start()
        child_end.close()
        if not self.ready.wait(120):
            raise SystemExit("the load generator could not connect to the server")

    def go(self) -> None:
        self._go.set()

    def result(self) -> Outcome:
        try:
            outcome = self._results.recv()
        except EOFError:
            outcome = f"exited ({self.process.exitcode}) without a result"
        self.process.join(10)
        if isinstance(outcome, str):
            raise SystemExit(f"the load generator failed: {outcome}")
        return outcome


def _client_main(host, port, prepared, concurrency, rate, connections, healthz_every, ready, go, results) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    try:
        outcome = asyncio.run(_client(host, port, prepared, concurrency, rate, connections, healthz_every, ready, go))
    except BaseException as failure:  # the parent waits on the pipe: tell it rather than leave it waiting
        results.send(f"{type(failure).__name__}: {failure}")
        raise
    outcome.client_cpu = time.process_time()
    results.send(outcome)


class _Closed(Exception):
    """The server closed a keep-alive connection: send again on a new one."""


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> tuple[int, bytes, bool]:
    """Write one request, read its answer: (status, body, whether the server keeps the connection)."""
    writer.write(raw)
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as closed:
        raise _Closed from closed
    status = int(head[9:12])
    lower = head.lower()
    keep = b"\r\nconnection: close" not in lower
    at = lower.find(b"\r\ncontent-length:")
    if at >= 0:
        body = await reader.readexactly(int(lower[at + 17 : lower.index(b"\r\n", at + 2)]))
    elif b"\r\ntransfer-encoding: chunked" in lower:
        parts = []
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            parts.append((await reader.readexactly(size + 2))[:-2])
        while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, up to the empty line
            pass
        body = b"".join(parts)
    else:
        body, keep = await reader.read(), False
    return status, body, keep


async def _client(host, port, prepared, concurrency, rate, connections, healthz_every, ready, go) -> Outcome:
    loop = asyncio.get_running_loop()
    n = len(prepared)
    due, sent, done = array("d", [math.nan]) * n, array("d", [math.nan]) * n, array("d", [math.nan]) * n
    status = array("i", [0]) * n
    errors: list[str] = []
    failed = [0]
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    opened = 0

    async def connect():
        nonlocal opened
        opened += 1
        return await asyncio.open_connection(host, port)

    async def send(i: int, conn) -> tuple:
        """Send request i on `conn` (once more on a new connection if a kept-alive one was closed)."""
        job = prepared[i]
        sent[i] = time.perf_counter()
        try:
            code, body, keep = await _exchange(*conn, job.raw)
        except (_Closed, ConnectionError):
            conn[1].close()
            conn = await connect()
            try:
                code, body, keep = await _exchange(*conn, job.raw)
            except (_Closed, ConnectionError) as failure:  # twice: counted as failed (status 0), not resent
                code, body, keep = 0, repr(failure).encode(), False
        done[i] = time.perf_counter()
        status[i] = code
        if code != job.expect:
            failed[0] += 1
            if len(errors) < 20:  # the first ones, to read; `failed` counts them all
                errors.append(f"{job.kind} {code} {body[:120]!r}")
        if not keep:
            conn[1].close()
            conn = await connect()
        return conn

    for _ in range(concurrency):
        idle.append(await connect())
    health: list[float] = []
    stop = asyncio.Event()

    async def poll_healthz() -> None:
        raw = http_request("GET", "/healthz", host=f"{host}:{port}")
        conn = await connect()
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                _code, _body, keep = await _exchange(*conn, raw)
            except (_Closed, ConnectionError):
                keep = False
            else:
                health.append(time.perf_counter() - t0)
            if not keep:
                conn[1].close()
                conn = await connect()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), healthz_every)
        conn[1].close()

    ready.set()
    await loop.run_in_executor(None, go.wait)
    started = time.perf_counter()
    poller = asyncio.create_task(poll_healthz()) if healthz_every else None
    max_backlog = backlog_at_end = unanswered_at_end = 0

    if rate is None:
        cursor = iter(range(n))

        async def closed_worker(conn) -> None:
            for i in cursor:
                due[i] = time.perf_counter()
                conn = await send(i, conn)
            idle.append(conn)

        conns, idle[:] = list(idle), []
        await asyncio.gather(*(closed_worker(c) for c in conns))
    else:
        waiting: deque[int] = deque()  # due, no connection free
        tasks: set[asyncio.Task] = set()
        open_count = len(idle)

        async def run_on(i: int, conn) -> None:
            conn = await send(i, conn)
            while waiting:
                conn = await send(waiting.popleft(), conn)
            idle.append(conn)

        def dispatch(i: int) -> None:
            nonlocal open_count, max_backlog
            if idle:
                conn = idle.pop()
            elif open_count < connections:
                open_count += 1
                task = asyncio.create_task(_open_then_run(i))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                return
            else:
                waiting.append(i)
                max_backlog = max(max_backlog, len(waiting))
                return
            task = asyncio.create_task(run_on(i, conn))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        async def _open_then_run(i: int) -> None:
            await run_on(i, await connect())

        t0 = started + 0.01
        for i in range(n):
            due[i] = t0 + i / rate
        for i in range(n):
            # the loop's timers round to the millisecond and may wake early: never send before due
            while (delay := due[i] - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            dispatch(i)
        end = time.perf_counter()
        backlog_at_end = len(waiting)
        unanswered_at_end = sum(1 for i in range(n) if not done[i] <= end)
        while tasks:
            await asyncio.gather(*list(tasks))
    stop.set()
    if poller is not None:
        await poller
    for _reader, writer in idle:
        writer.close()
    return Outcome(
        mode="closed" if rate is None else "open",
        rate=rate,
        concurrency=concurrency if rate is None else connections,
        kinds=[p.kind for p in prepared],
        due=list(due),
        sent=list(sent),
        done=list(done),
        status=list(status),
        started=started,
        errors=errors,
        failed=failed[0],
        client_cpu=0.0,
        connections=opened,
        max_backlog=max_backlog,
        backlog_at_end=backlog_at_end,
        unanswered_at_end=unanswered_at_end,
        healthz=health,
    )
