"""Station threads under load: K uvicorn processes sharing the Redis channel layer, N WebSocket
clients across the station threads, a message a second into every thread, then a reconnect storm.

    nice python bench/threads.py --clients 10000            # REDIS_URL defaults to redis://127.0.0.1:6379/5
    python bench/threads.py --clients 20000 --servers 2 --threads 400 --seconds 20

Prints, per run: sockets connected, connect time and server CPU per socket (from /proc/<pid>/stat
of the server processes), messages delivered (count vs expected), fan-out latency p50/p95/p99 (from
just before the publisher stores a message to its arrival at each client) against the target (p99
<= 250 ms at 10,000 sockets, <= 500 ms at 20,000), the reconnect storm (every client drops, one
message lands in every thread, every client reconnects with its last id: each gets exactly the
missed message once, target <= 30 s) and the servers' errors (tracebacks in their stderr: must be 0).

The floor, measured first in the same run: the same fan-out through the channel layer alone (one
process per server, one channel per socket joined to its thread's group, the same publishing
rate, no Django, no WebSocket). Client processes are plain `websockets` asyncio clients (on uvloop)
and report their own CPU, so a starved client side shows.

Each server gets its own port and the clients of every thread are spread over all servers, so
most deliveries cross processes through Redis. The database is a fresh SQLite file under
var/bench/ (BENCH_DATABASE_URL to use another one).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import os
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/5"
STORM_LIMIT_S = 30
CONNECT_CPU_TARGET_MS = 2.0
# The uvicorn options of the production commands (README, docker-compose.yml): small JSON frames
# compressed once per socket cost more CPU than they save; a storm of reconnects needs the backlog.
PRODUCTION_OPTIONS = ["--ws-per-message-deflate", "false", "--backlog", "4096"]
# A line of a server's stderr that counts as a server error.
SERVER_ERROR = re.compile(r"Traceback|Error|Exception|exception")


def p99_target(clients: int) -> float:
    return 250.0 if clients <= 10_000 else 500.0


def use_uvloop() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def raise_open_files() -> int:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- client processes (no Django here: plain websockets clients, like browsers) -----------------


class Client:
    def __init__(self, url: str, cookie: str):
        self.url, self.cookie = url, cookie
        # The page's own origin: the server the socket goes to.
        self.origin = "http://" + url.split("/")[2]
        self.ws = None
        self.seen: set[int] = set()
        self.duplicates = 0
        self.last_id = 0
        self.latencies: list[float] = []
        self.caught_up = asyncio.Event()
        self.gap = 0
        self.reader = None
        self.failed = ""

    async def open(self, semaphore: asyncio.Semaphore) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidHandshake

        async with semaphore:
            self.caught_up = asyncio.Event()
            self.ws = None
            for attempt in range(5):
                try:
                    self.ws = await connect(
                        f"{self.url}?last_id={self.last_id}",
                        origin=self.origin,
                        additional_headers={"Cookie": self.cookie},
                        open_timeout=120,
                        ping_interval=None,
                        max_queue=None,
                        compression=None,
                    )
                    break
                except (OSError, TimeoutError, InvalidHandshake) as exc:  # an overloaded server may drop a handshake
                    self.failed = repr(exc)
                    if attempt == 4:
                        return
                    await asyncio.sleep(0.5 * (attempt + 1))
            self.reader = asyncio.create_task(self.read())
            try:
                await asyncio.wait_for(self.caught_up.wait(), 120)
            except TimeoutError:
                self.failed = "no caught_up"

    async def read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self.ws:
                now = time.time()
                frame = json.loads(raw)
                if frame["type"] == "message":
                    message = frame["message"]
                    if message["id"] in self.seen:
                        self.duplicates += 1
                        continue
                    self.seen.add(message["id"])
                    self.last_id = max(self.last_id, message["id"])
                    if not self.caught_up.is_set():
                        self.gap += 1
                    elif message["body"].startswith("t="):
                        self.latencies.append(now - float(message["body"][2:].split(" ", 1)[0]))
                elif frame["type"] == "caught_up":
                    self.caught_up.set()
                elif frame["type"] == "ready" and "resumes_from" not in frame:
                    # A server that does not catch up from the URL's last id (before it did) waits for hello.
                    await self.ws.send(json.dumps({"type": "hello", "last_id": self.last_id}))
        except ConnectionClosed:
            pass

    async def close(self) -> None:
        if self.ws is None:
            return
        await self.ws.close()
        await self.reader


def client_process(conn, specs: list[tuple[str, str]]) -> None:
    raise_open_files()
    use_uvloop()

    async def main():
        clients = [Client(url, cookie) for url, cookie in specs]
        loop = asyncio.get_running_loop()
        while True:
            command = await loop.run_in_executor(None, conn.recv)
            if command == "connect":
                started = time.monotonic()
                semaphore = asyncio.Semaphore(200)
                await asyncio.gather(*(c.open(semaphore) for c in clients))
                conn.send(
                    {
                        "connected": sum(1 for c in clients if c.caught_up.is_set()),
                        "s": time.monotonic() - started,
                        "failures": sorted({c.failed for c in clients if not c.caught_up.is_set()})[:3],
                    }
                )
            elif command == "drop":
                await asyncio.gather(*(c.close() for c in clients))
                conn.send({"dropped": len(clients)})
            elif command == "reconnect":
                for c in clients:
                    c.gap = 0
                started = time.monotonic()
                await asyncio.gather(*(c.open(asyncio.Semaphore(1000)) for c in clients))
                conn.send(
                    {
                        "s": time.monotonic() - started,
                        "gaps": [c.gap for c in clients],
                        "caught_up": sum(1 for c in clients if c.caught_up.is_set()),
                        "duplicates": sum(c.duplicates for c in clients),
                    }
                )
            elif command == "stats":
                conn.send(
                    {
                        "cpu": own_cpu(),
                        "latencies": [x for c in clients for x in c.latencies],
                        "received": sum(len(c.seen) for c in clients),
                        "duplicates": sum(c.duplicates for c in clients),
                    }
                )
            elif command == "quit":
                await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
                conn.send("bye")
                return

    asyncio.run(main())


# --- the floor: the channel layer alone ----------------------------------------------------------


def layer_process(conn, groups: list[str], prefix: str) -> None:
    """One "server" of the floor: a channel per socket joined to its group, each read by its own task."""
    use_uvloop()
    from channels_redis.pubsub import RedisPubSubChannelLayer

    async def main():
        layer = RedisPubSubChannelLayer(hosts=[REDIS_URL], prefix=prefix)
        latencies: list[float] = []
        received = 0

        async def reader(name: str) -> None:
            nonlocal received
            while True:
                event = await layer.receive(name)
                latencies.append(time.time() - event["t"])
                received += 1

        names = []
        for group in groups:
            name = await layer.new_channel()
            await layer.group_add(group, name)
            names.append(name)
        tasks = [asyncio.create_task(reader(n)) for n in names]
        await asyncio.sleep(0.5)  # let the subscriptions settle
        loop = asyncio.get_running_loop()
        conn.send("ready")
        await loop.run_in_executor(None, conn.recv)
        conn.send({"latencies": latencies, "received": received, "cpu": own_cpu()})
        for task in tasks:
            task.cancel()
        await layer.flush()

    asyncio.run(main())


async def layer_publish(groups: list[str], seconds: int, prefix: str) -> int:
    from channels_redis.pubsub import RedisPubSubChannelLayer

    layer = RedisPubSubChannelLayer(hosts=[REDIS_URL], prefix=prefix)
    sent = 0
    interval = 1.0 / len(groups)
    start = time.monotonic()
    for second in range(seconds):
        for i, group in enumerate(groups):
            delay = start + second + i * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await layer.group_send(group, {"type": "message.created", "t": time.time()})
            sent += 1
    await layer.flush()
    return sent


def floor(args, per_thread: int) -> dict:
    prefix = f"benchfloor{uuid.uuid4().hex[:8]}"
    groups = [f"thread.{t}" for t in range(args.threads)]
    members = [g for g in groups for _ in range(per_thread)]
    ctx = mp.get_context("spawn")
    pipes, workers = [], []
    for n in range(args.servers):
        parent, child = ctx.Pipe()
        worker = ctx.Process(target=layer_process, args=(child, members[n :: args.servers], prefix), daemon=True)
        worker.start()
        pipes.append(parent)
        workers.append(worker)
    for p in pipes:
        p.recv()
    sent = asyncio.run(layer_publish(groups, args.seconds, prefix))
    time.sleep(3)
    for p in pipes:
        p.send("stats")
    stats = [p.recv() for p in pipes]
    for worker in workers:
        worker.join(timeout=10)
        if worker.is_alive():
            worker.terminate()
    latencies = [x * 1000 for s in stats for x in s["latencies"]]
    return {
        "sent": sent,
        "received": sum(s["received"] for s in stats),
        "expected": sent * per_thread,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "cpu": sum(s["cpu"] for s in stats),
    }


# --- the orchestrator: database, servers, publisher ----------------------------------------------


def setup_django(database_url: str, prefix: str) -> None:
    os.environ.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": REDIS_URL,
            "CHANNEL_LAYER_PREFIX": prefix,
            "DJANGO_SETTINGS_MODULE": "backend.settings",
            "LOG_LEVEL": "WARNING",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def seed(clients: int, threads: int) -> tuple[list[int], list[tuple[int, str]]]:
    """`threads` places with a thread each, `clients` volunteers with a login session and an assignment."""
    import datetime

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.core.management import call_command
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from backend.accounts.models import Role, User
    from backend.assignments.models import Assignment
    from backend.elections.models import Area, Election, PollingPlace, Table
    from backend.threads.models import Thread
    from backend.volunteers.models import Volunteer

    call_command("migrate", "--noinput", verbosity=0)
    election = Election.objects.create(slug="bench", name="Bench", date=datetime.date(2027, 10, 24))
    area = Area.objects.create(election=election, kind="distrito", code="bench", name="Bench")
    places = PollingPlace.objects.bulk_create(
        PollingPlace(election=election, area=area, code=f"B-{i}", name=f"Escuela {i}") for i in range(threads)
    )
    Thread.objects.bulk_create(Thread(election=election, place=p) for p in places)
    per_place = clients // threads
    tables = Table.objects.bulk_create(
        (
            Table(election=election, place=p, district=area, number=i * per_place + n + 1)
            for i, p in enumerate(places)
            for n in range(per_place)
        ),
        batch_size=2000,
    )
    users = User.objects.bulk_create(
        (User(username=f"bench-{i}", role=Role.VOLUNTEER, password="!") for i in range(len(tables))), batch_size=2000
    )
    volunteers = Volunteer.objects.bulk_create(
        (
            Volunteer(dni=str(10_000_000 + i), first_name="Fiscal", last_name=str(i), phone=f"+5491150{i:06d}", user=u)
            for i, u in enumerate(users)
        ),
        batch_size=2000,
    )
    Assignment.objects.bulk_create(
        (
            Assignment(election=election, volunteer=v, place=t.place, table=t, role="table")
            for v, t in zip(volunteers, tables, strict=True)
        ),
        batch_size=2000,
    )
    store = SessionStore()
    expire = timezone.now() + datetime.timedelta(days=1)
    sessions = []
    for user in users:
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        sessions.append(Session(session_key=get_random_string(32), session_data=store.encode(data), expire_date=expire))
    Session.objects.bulk_create(sessions, batch_size=2000)
    specs = [(t.place_id, f"sessionid={s.session_key}") for t, s in zip(tables, sessions, strict=True)]
    return [p.pk for p in places], specs


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def publish(place_ids: list[int], seconds: int, tag: str = "") -> int:
    """A message a second into every thread, spread evenly over each second."""
    from channels.db import database_sync_to_async

    from backend.threads.models import Thread
    from backend.threads.services import message_post

    threads = await database_sync_to_async(lambda: list(Thread.objects.filter(place_id__in=place_ids)))()
    post = database_sync_to_async(message_post)
    interval = 1.0 / len(threads)
    sent = 0
    start = time.monotonic()
    for second in range(seconds):
        for i, thread in enumerate(threads):
            due = start + second + i * interval
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await post(thread=thread, body=f"t={time.time():.6f} {tag}", source="web")
            sent += 1
    return sent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_servers(
    count: int,
    log_dir: Path,
    uvicorn_args: list[str],
    profile: bool = False,
    app: str = "backend.asgi:application",
    first_port: int = 0,
) -> list[tuple[subprocess.Popen, int, Path]]:
    # As in production: DEBUG off (no query log, no per-query formatting).
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CELERY_TASK_ALWAYS_EAGER": "true", "DJANGO_DEBUG": "false"}
    servers = []
    for n in range(count):
        port = first_port + n if first_port else free_port()
        log = log_dir / f"threads-{'bare' if app.startswith('bare_ws') else 'server'}-{n}.log"
        # py-spy launches the first server itself (sampling a child needs no ptrace rights).
        spy = [str(Path(sys.executable).parent / "py-spy"), "record", "--format", "raw", "--rate", "100"]
        spy += ["-o", str(log_dir / "threads-server-0.profile"), "--"]
        with open(log, "w") as out:
            process = subprocess.Popen(
                [
                    *(spy if profile and n == 0 else []),
                    sys.executable,
                    "-m",
                    "uvicorn",
                    *(["--app-dir", str(ROOT / "bench")] if app.startswith("bare_ws") else []),
                    app,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                    "--timeout-graceful-shutdown",
                    "2",
                    *PRODUCTION_OPTIONS,
                    *uvicorn_args,
                ],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        servers.append((process, port, log))
    for process, port, log in servers:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(f"uvicorn did not start:\n{log.read_text()}") from None
                time.sleep(0.1)
    return servers


def stop_servers(servers: list[tuple[subprocess.Popen, int, Path]], pids: list[int]) -> None:
    for pid in pids:
        os.kill(pid, signal.SIGTERM)
    for process, _port, _log in servers:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def start_clients(urls: list[tuple[str, str]], processes: int) -> tuple[list, list]:
    ctx = mp.get_context("spawn")
    pipes, workers = [], []
    for n in range(processes):
        parent, child = ctx.Pipe()
        worker = ctx.Process(target=client_process, args=(child, urls[n::processes]), daemon=True)
        worker.start()
        pipes.append(parent)
        workers.append(worker)
    return pipes, workers


def stop_clients(workers: list) -> None:
    for worker in workers:
        worker.join(timeout=10)
        if worker.is_alive():
            worker.terminate()


def handshake_floor(args, bench_dir: Path) -> dict:
    """Server CPU per socket of a bare ASGI app under the same uvicorn options and clients."""
    servers = start_servers(args.servers, bench_dir, args.uvicorn_args.split(), app="bare_ws:app", first_port=args.port)
    pids = [process.pid for process, _port, _log in servers]
    urls = [(f"ws://127.0.0.1:{servers[i % args.servers][1]}/ws/bare/", "") for i in range(args.clients)]
    pipes, workers = start_clients(urls, args.client_processes)
    try:

        def ask(command: str) -> list:
            for p in pipes:
                p.send(command)
            return [p.recv() for p in pipes]

        ask("stats")  # the client processes are up
        before = sum(cpu_seconds(pid) for pid in pids)
        replies = ask("connect")
        cpu = sum(cpu_seconds(pid) for pid in pids) - before
        held = sum(r["connected"] for r in replies)
        ask("quit")
    finally:
        stop_clients(workers)
        stop_servers(servers, pids)
    return {"held": held, "ms": cpu / max(held, 1) * 1000, "s": max(r["s"] for r in replies)}


def server_pid(process: subprocess.Popen) -> int:
    """The uvicorn process: the Popen itself, or the child of py-spy when profiling."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    spied = "py-spy" in Path(f"/proc/{process.pid}/cmdline").read_text()
    return int(children[0]) if children and spied else process.pid


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=2000, help="WebSocket clients (sockets); default 2000")
    parser.add_argument("--servers", type=int, default=2, help="uvicorn processes sharing Redis; default 2")
    parser.add_argument("--threads", type=int, default=200, help="station threads (a message a second each)")
    parser.add_argument("--seconds", type=int, default=20, help="seconds of publishing; default 20")
    parser.add_argument(
        "--client-processes", type=int, default=0, help="client processes; default one per 2,500 clients, at least 2"
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port of the first server, the next ones follow; default any free ports"
    )
    parser.add_argument("--no-floor", action="store_true", help="skip the channel-layer-alone floor")
    parser.add_argument("--no-storm", action="store_true", help="skip the reconnect storm")
    parser.add_argument(
        "--no-handshake-floor", action="store_true", help="skip the bare ASGI app's connect cost per socket"
    )
    parser.add_argument(
        "--profile", action="store_true", help="sample server 0 with py-spy (var/bench/threads-server-0.profile)"
    )
    parser.add_argument(
        "--uvicorn-args",
        default="",
        help="extra uvicorn options for every server, e.g. '--ws wsproto' (the project's production options are"
        " always passed)",
    )
    args = parser.parse_args()
    if args.clients % args.threads:
        parser.error("--clients must be a multiple of --threads (the same number of members in every thread)")
    args.client_processes = args.client_processes or max(2, math.ceil(args.clients / 2500))
    return args


def main() -> None:
    args = parse_args()
    limit = raise_open_files()
    per_thread = args.clients // args.threads
    target = p99_target(args.clients)
    bench_dir = ROOT / "var" / "bench"
    bench_dir.mkdir(parents=True, exist_ok=True)
    print(
        f"threads bench: {args.clients} clients in {args.threads} threads ({per_thread} each), {args.servers} server"
        f" processes, {args.client_processes} client processes, {args.seconds} s, Redis {REDIS_URL},"
        f" open files {limit}, load average {os.getloadavg()[0]:.1f}"
    )
    if not args.no_floor:
        f = floor(args, per_thread)
        print(
            f"floor (channel layer alone, {args.servers} processes, same groups and rate): {f['received']} of"
            f" {f['expected']} deliveries; p50 {f['p50']:.1f} ms, p95 {f['p95']:.1f} ms, p99 {f['p99']:.1f} ms;"
            f" CPU {f['cpu']:.1f} s; load average {os.getloadavg()[0]:.1f}"
        )

    handshake = None
    if not args.no_handshake_floor:
        handshake = handshake_floor(args, bench_dir)
        print(
            f"handshake floor (bare ASGI app, same uvicorn options and clients): {handshake['held']} sockets in"
            f" {handshake['s']:.1f} s, {handshake['ms']:.2f} ms CPU/socket; load average {os.getloadavg()[0]:.1f}"
        )

    database_url = os.environ.get("BENCH_DATABASE_URL", "")
    if not database_url:
        db_file = bench_dir / "threads.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_file}{suffix}").unlink(missing_ok=True)
        # Persistent connections, as PostgreSQL gets from DATABASE_CONN_MAX_AGE in production.
        database_url = f"sqlite:///{db_file}?conn_max_age=600"
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    setup_django(database_url, prefix)
    t0 = time.monotonic()
    place_ids, specs = seed(args.clients, args.threads)
    print(f"seeded in {time.monotonic() - t0:.1f} s")

    servers = start_servers(
        args.servers, bench_dir, args.uvicorn_args.split(), profile=args.profile, first_port=args.port
    )
    pids = [server_pid(process) for process, _port, _log in servers]

    def servers_cpu() -> float:
        return sum(cpu_seconds(pid) for pid in pids)

    workers: list = []
    try:
        rss_idle = sum(rss_mb(pid) for pid in pids)
        # Member i of every thread goes to server i % K: each thread has sockets on every server.
        urls = [
            (f"ws://127.0.0.1:{servers[i % args.servers][1]}/ws/threads/{place}/", cookie)
            for i, (place, cookie) in enumerate(specs)
        ]
        pipes, workers = start_clients(urls, args.client_processes)

        def ask(command: str) -> list:
            for p in pipes:
                p.send(command)
            return [p.recv() for p in pipes]

        clients_cpu = sum(r["cpu"] for r in ask("stats"))
        cpu_start = servers_cpu()
        replies = ask("connect")
        held = sum(r["connected"] for r in replies)
        connect_cpu = servers_cpu() - cpu_start
        connect_ms = connect_cpu / max(held, 1) * 1000
        failures = sorted({f for r in replies for f in r["failures"]})
        print(
            f"sockets connected: {held} of {args.clients} in {max(r['s'] for r in replies):.1f} s;"
            f" server CPU {connect_cpu:.1f} s, {connect_ms:.2f} ms per socket (target <= {CONNECT_CPU_TARGET_MS} ms:"
            f" {'met' if connect_ms <= CONNECT_CPU_TARGET_MS else 'NOT met'}"
            + (f"; handshake floor {handshake['ms']:.2f} ms, {connect_ms / handshake['ms']:.1f}x" if handshake else "")
            + ")"
            + (f"; failures: {failures}" if failures else "")
        )
        print(f"server RSS: {rss_idle:.0f} MB idle, {sum(rss_mb(pid) for pid in pids):.0f} MB with {held} sockets")

        stats = ask("stats")
        clients_cpu = sum(r["cpu"] for r in stats)
        cpu_before, wall_before = servers_cpu(), time.monotonic()
        sent = asyncio.run(publish(place_ids, args.seconds))
        publish_s = time.monotonic() - wall_before
        time.sleep(3)
        wall = time.monotonic() - wall_before
        server_cpu = servers_cpu() - cpu_before
        stats = ask("stats")
        client_share = (sum(r["cpu"] for r in stats) - clients_cpu) / wall
        latencies = [x * 1000 for r in stats for x in r["latencies"]]
        received = sum(r["received"] for r in stats)
        expected = sent * per_thread
        p99 = percentile(latencies, 99)
        print(
            f"delivered: {received} of {expected} ({received / max(expected, 1):.2%}) 3 s after {sent} messages"
            f" ({sent / args.seconds:.0f}/s), duplicates {sum(r['duplicates'] for r in stats)}"
        )
        print(
            f"fan-out latency ms: p50 {percentile(latencies, 50):.1f}  p95 {percentile(latencies, 95):.1f}"
            f"  p99 {p99:.1f}  max {max(latencies, default=float('nan')):.1f}"
            f"  mean {statistics.fmean(latencies) if latencies else float('nan'):.1f}"
            f"  (target p99 <= {target:.0f} ms: {'met' if p99 <= target and received == expected else 'NOT met'})"
        )
        print(
            f"server CPU during fan-out {server_cpu / wall:.0%} of one core for {args.servers} processes"
            f" ({server_cpu / max(received, 1) * 1e6:.0f} µs per delivery); clients {client_share:.0%} of one core"
            f" in {args.client_processes} processes; publishing took {publish_s:.1f} s (of {args.seconds});"
            f" RSS {sum(rss_mb(pid) for pid in pids):.0f} MB; load average {os.getloadavg()[0]:.1f}"
        )

        if not args.no_storm:
            # Everyone drops, one message lands in every thread, everyone comes back at once.
            ask("drop")
            gap_sent = asyncio.run(publish(place_ids, 1, tag="gap"))
            cpu_start = servers_cpu()
            storm = ask("reconnect")
            storm_cpu = servers_cpu() - cpu_start
            storm_s = max(r["s"] for r in storm)
            gaps = [g for r in storm for g in r["gaps"]]
            caught_up = sum(r["caught_up"] for r in storm)
            duplicates = sum(r["duplicates"] for r in storm)
            exactly_once = sum(1 for g in gaps if g == gap_sent // args.threads)
            ok = storm_s <= STORM_LIMIT_S and exactly_once == args.clients and duplicates == 0
            print(
                f"reconnect storm: {caught_up} of {args.clients} caught up in {storm_s:.1f} s, {exactly_once} with"
                f" exactly the missed message, duplicates {duplicates} (target all, once, <= {STORM_LIMIT_S} s:"
                f" {'met' if ok else 'NOT met'}); server CPU {storm_cpu:.1f} s,"
                f" {storm_cpu / max(len(gaps), 1) * 1000:.2f} ms per reconnect; load average {os.getloadavg()[0]:.1f}"
            )
        ask("quit")
    finally:
        stop_clients(workers)
        stop_servers(servers, pids)
    errors = [
        f"{log.name}: {line}"
        for _p, _port, log in servers
        for line in log.read_text(errors="replace").splitlines()
        if SERVER_ERROR.search(line) and not line.startswith("py-spy>")
    ]
    print(f"server errors: {len(errors)} (target 0: {'met' if not errors else 'NOT met'})")
    for line in errors[:10]:
        print(f"  {line}")


if __name__ == "__main__":
    main()
