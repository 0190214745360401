"""Station threads under load: one uvicorn process with the Redis channel layer, 2,000 WebSocket
clients across 200 threads, a message a second into every thread, then a reconnect storm.

    nice python bench/threads.py            # REDIS_URL defaults to redis://127.0.0.1:6379/5

Prints connections held, the server's memory (RSS), fan-out latency p50/p95/p99 (from just before
the publisher stores a message to its arrival at each client; target p99 <= 250 ms on a 2-core
machine) and the reconnect storm (every client drops, messages arrive meanwhile, every client
reconnects with its last id: all caught up, nothing twice, within 30 s).

The database is a fresh SQLite file under var/bench/ (BENCH_DATABASE_URL to use another one).
Knobs: BENCH_CLIENTS, BENCH_THREADS, BENCH_SECONDS, BENCH_CLIENT_PROCESSES.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = int(os.environ.get("BENCH_CLIENTS", 2000))
THREADS = int(os.environ.get("BENCH_THREADS", 200))
SECONDS = int(os.environ.get("BENCH_SECONDS", 20))
CLIENT_PROCESSES = int(os.environ.get("BENCH_CLIENT_PROCESSES", 2))
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/5"
STORM_LIMIT_S = 30


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


# --- client processes (no Django here: plain websockets clients, like browsers) -----------------


class Client:
    def __init__(self, url: str, cookie: str, origin: str):
        self.url, self.cookie, self.origin = url, cookie, origin
        self.ws = None
        self.seen: set[int] = set()
        self.duplicates = 0
        self.last_id = 0
        self.latencies: list[float] = []
        self.caught_up = asyncio.Event()
        self.gap = 0
        self.reader = None

    async def open(self, semaphore: asyncio.Semaphore) -> None:
        from websockets.asyncio.client import connect

        async with semaphore:
            self.caught_up = asyncio.Event()
            for attempt in range(5):
                try:
                    self.ws = await connect(
                        self.url,
                        origin=self.origin,
                        additional_headers={"Cookie": self.cookie},
                        open_timeout=60,
                        ping_interval=None,
                        max_queue=None,
                    )
                    break
                except (OSError, TimeoutError):
                    if attempt == 4:
                        raise
                    await asyncio.sleep(0.5 * (attempt + 1))
            await self.ws.send(json.dumps({"type": "hello", "last_id": self.last_id}))
            self.reader = asyncio.create_task(self.read())
            await self.caught_up.wait()

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
        except ConnectionClosed:
            pass

    async def close(self) -> None:
        await self.ws.close()
        await self.reader


def client_process(conn, specs: list[tuple[str, str]], origin: str) -> None:
    raise_open_files()

    async def main():
        clients = [Client(url, cookie, origin) for url, cookie in specs]
        semaphore = asyncio.Semaphore(100)
        loop = asyncio.get_running_loop()
        while True:
            command = await loop.run_in_executor(None, conn.recv)
            if command == "connect":
                started = time.monotonic()
                await asyncio.gather(*(c.open(semaphore) for c in clients))
                conn.send({"connected": sum(1 for c in clients if c.ws is not None), "s": time.monotonic() - started})
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
                        "duplicates": sum(c.duplicates for c in clients),
                    }
                )
            elif command == "stats":
                usage = resource.getrusage(resource.RUSAGE_SELF)
                conn.send(
                    {
                        "cpu": usage.ru_utime + usage.ru_stime,
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


# --- the orchestrator: database, server, publisher -----------------------------------------------


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


def seed() -> tuple[list[int], list[tuple[int, str]]]:
    """200 places with a thread each, 2,000 volunteers with a login session and an assignment."""
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
        PollingPlace(election=election, area=area, code=f"B-{i}", name=f"Escuela {i}") for i in range(THREADS)
    )
    Thread.objects.bulk_create(Thread(election=election, place=p) for p in places)
    per_place = CLIENTS // THREADS
    tables = Table.objects.bulk_create(
        Table(election=election, place=p, district=area, number=i * per_place + n + 1)
        for i, p in enumerate(places)
        for n in range(per_place)
    )
    users = User.objects.bulk_create(
        User(username=f"bench-{i}", role=Role.VOLUNTEER, password="!") for i in range(len(tables))
    )
    volunteers = Volunteer.objects.bulk_create(
        Volunteer(dni=str(10_000_000 + i), first_name="Fiscal", last_name=str(i), phone=f"+5491150{i:06d}", user=u)
        for i, u in enumerate(users)
    )
    Assignment.objects.bulk_create(
        Assignment(election=election, volunteer=v, place=t.place, table=t, role="table")
        for v, t in zip(volunteers, tables, strict=True)
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
    Session.objects.bulk_create(sessions)
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


def main() -> None:
    limit = raise_open_files()
    bench_dir = ROOT / "var" / "bench"
    bench_dir.mkdir(parents=True, exist_ok=True)
    database_url = os.environ.get("BENCH_DATABASE_URL", "")
    if not database_url:
        db_file = bench_dir / "threads.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_file}{suffix}").unlink(missing_ok=True)
        # Persistent connections, as PostgreSQL gets from DATABASE_CONN_MAX_AGE in production.
        database_url = f"sqlite:///{db_file}?conn_max_age=600"
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    setup_django(database_url, prefix)
    print(f"threads bench: {CLIENTS} clients, {THREADS} threads, {SECONDS} s, Redis {REDIS_URL}, open files {limit}")
    t0 = time.monotonic()
    place_ids, specs = seed()
    print(f"seeded in {time.monotonic() - t0:.1f} s")

    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CELERY_TASK_ALWAYS_EAGER": "true"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "backend.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--backlog",
            "4096",
            # Frames are small JSON; compressing each one for each socket costs more CPU than it saves.
            "--ws-per-message-deflate",
            "false",
            "--timeout-graceful-shutdown",
            "2",
        ],
        env=env,
        cwd=ROOT,
    )
    pipes, workers = [], []
    try:
        import urllib.request

        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        rss_idle = rss_mb(server.pid)
        ctx = mp.get_context("spawn")
        origin = f"http://127.0.0.1:{port}"
        urls = [(f"ws://127.0.0.1:{port}/ws/threads/{place}/", cookie) for place, cookie in specs]
        for n in range(CLIENT_PROCESSES):
            parent, child = ctx.Pipe()
            worker = ctx.Process(target=client_process, args=(child, urls[n::CLIENT_PROCESSES], origin), daemon=True)
            worker.start()
            pipes.append(parent)
            workers.append(worker)

        def ask(command: str) -> list:
            for p in pipes:
                p.send(command)
            return [p.recv() for p in pipes]

        cpu_start = cpu_seconds(server.pid)
        replies = ask("connect")
        held = sum(r["connected"] for r in replies)
        connect_cpu = cpu_seconds(server.pid) - cpu_start
        print(
            f"connections held: {held} of {CLIENTS} (connected in {max(r['s'] for r in replies):.1f} s;"
            f" server CPU {connect_cpu:.1f} s, {connect_cpu / max(held, 1) * 1000:.1f} ms per connection)"
        )
        print(f"server RSS: {rss_idle:.0f} MB idle, {rss_mb(server.pid):.0f} MB with {held} sockets")

        cpu_before, wall_before = cpu_seconds(server.pid), time.monotonic()
        sent = asyncio.run(publish(place_ids, SECONDS))
        publish_s = time.monotonic() - wall_before
        time.sleep(3)
        server_cpu = (cpu_seconds(server.pid) - cpu_before) / (time.monotonic() - wall_before)
        rss_busy = rss_mb(server.pid)
        stats = ask("stats")
        latencies = [x * 1000 for r in stats for x in r["latencies"]]
        received = sum(r["received"] for r in stats)
        expected = sent * (CLIENTS // THREADS)
        print(
            f"fan-out: {sent} messages in {SECONDS} s ({sent / SECONDS:.0f}/s), {received} of {expected} deliveries"
            f" ({received / max(expected, 1):.2%}), duplicates {sum(r['duplicates'] for r in stats)}"
        )
        print(
            f"fan-out latency ms: p50 {percentile(latencies, 50):.1f}  p95 {percentile(latencies, 95):.1f}"
            f"  p99 {percentile(latencies, 99):.1f}  max {max(latencies, default=float('nan')):.1f}"
            f"  mean {statistics.fmean(latencies) if latencies else float('nan'):.1f}"
            f"  (target p99 <= 250 ms: {'met' if percentile(latencies, 99) <= 250 else 'NOT met'})"
        )
        print(
            f"server RSS under load: {rss_busy:.0f} MB; server CPU during fan-out {server_cpu:.0%} of one core;"
            f" publishing took {publish_s:.1f} s (the publisher is starved when it takes longer than {SECONDS} s);"
            f" load average {os.getloadavg()[0]:.1f} (all work on the machine)"
        )

        # Reconnect storm: everyone drops, one message lands in every thread, everyone comes back.
        ask("drop")
        gap_sent = asyncio.run(publish(place_ids, 1, tag="gap"))
        cpu_start = cpu_seconds(server.pid)
        storm = ask("reconnect")
        storm_cpu = cpu_seconds(server.pid) - cpu_start
        storm_s = max(r["s"] for r in storm)
        gaps = [g for r in storm for g in r["gaps"]]
        ok = storm_s <= STORM_LIMIT_S and all(g >= 1 for g in gaps)
        print(
            f"reconnect storm: {len(gaps)} clients reconnected with their last id and caught up in {storm_s:.1f} s"
            f" ({gap_sent} missed messages, {min(gaps, default=0)}-{max(gaps, default=0)} each,"
            f" duplicates {sum(r['duplicates'] for r in storm)};"
            f" target <= {STORM_LIMIT_S} s: {'met' if ok else 'NOT met'});"
            f" server CPU {storm_cpu:.1f} s for the storm"
        )
        ask("quit")
    finally:
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.terminate()
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
