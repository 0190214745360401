"""SMS benchmark: render and queue a 100,000-recipient broadcast, drain a sample at 100 msg/s against a
fake Twilio, time 1,000 signed inbound requests through the ASGI app (uvicorn), and drain 100,000
two-segment messages through a pool of 5 long codes (time-scaled).

    python bench/sms.py [--recipients 100000] [--drain 2000] [--rate 100] [--inbound 1000]
    python bench/sms.py --only pool [--pool-messages 100000] [--pool-senders 5] [--time-scale 667]

Uses its own SQLite file (var/bench_sms.sqlite3, recreated each run) and prints figures and ratios
against the targets: queue <= 20 s, drain rate within 5 % of the configured rate, inbound p95 <= 50 ms;
pool drain at the pool's 5 segments/s within 5 %, and the preview's prediction within 5 % of it.

The pool drain is time-scaled: SMS_PACE_TIME_SCALE multiplies every sender's segments per second
(5 long codes at 1 segment/s each become 5 x 667 segments/s), so 100,000 two-segment messages
(200,000 segments: 11.1 hours at 5 segments/s) drain in about a minute; simulated seconds are the
measured wall seconds times the scale. One drain thread per sender, as the drain tasks are started
(sms.services.outbound_drain(sender=...)), each reserving its segments in its sender's bucket of
sms.ratelimit (Redis with --redis and REDIS_URL, in-process otherwise) before a stand-in send; the
recipients are spread over the senders by the pool's sticky hash. `--full-path N` also drains N
real queued rows through outbound_drain and the twilio library against the fake Twilio (slower:
the per-message database and HTTP work limits how far the clock can be scaled).
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB_PATH = ROOT / "var" / "bench_sms.sqlite3"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--drain", type=int, default=2_000, help="messages drained (a sample of the broadcast)")
    parser.add_argument("--rate", type=float, default=100.0, help="SMS_RATE_PER_SECOND for the drain")
    parser.add_argument("--drain-workers", type=int, default=4, help="drainer threads sharing the rate limit")
    parser.add_argument("--inbound", type=int, default=1_000)
    parser.add_argument("--only", choices=["all", "pool"], default="all", help="pool: only the sender-pool drain")
    parser.add_argument("--pool-messages", type=int, default=100_000, help="two-segment messages for the pool drain")
    parser.add_argument("--pool-senders", type=int, default=5, help="long codes (1 segment/s each) in the pool")
    parser.add_argument(
        "--time-scale", type=float, default=667.0, help="simulated seconds per wall second (SMS_PACE_TIME_SCALE)"
    )
    parser.add_argument("--burst", type=float, default=20.0, help="SMS_RATE_BURST (segments) of each sender's bucket")
    parser.add_argument("--redis", action="store_true", help="the buckets in Redis at REDIS_URL (shared limiter)")
    parser.add_argument(
        "--full-path", type=int, default=0, help="also drain N queued rows through outbound_drain and the fake Twilio"
    )
    parser.add_argument("--full-path-scale", type=float, default=10.0, help="time scale of the --full-path drain")
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL", "") if args.redis else ""

    (ROOT / "var").mkdir(exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DB_PATH}{suffix}").unlink(missing_ok=True)
    port = _free_port()
    # The fake Twilio runs in its own process, like the real one: it does not compete for our GIL.
    fake = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "sms" / "fake_twilio.py")], stdout=subprocess.PIPE, text=True
    )
    fake_url = fake.stdout.readline().strip()
    env = {
        "DATABASE_URL": f"sqlite:///{DB_PATH}",
        "DJANGO_DEBUG": "false",
        "SMS_BACKEND": "twilio",
        "TWILIO_API_BASE_URL": fake_url,
        "TWILIO_FROM": "+15005550006",
        # One short code paced at --rate (its segments per second): the drain sample below measures it.
        "SMS_SENDERS": f"55500:short_code:{args.rate:g}",
        "SMS_RATE_BURST": "1",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    os.environ.update(env)
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if args.only == "pool":
        _pool_drain(args, redis_url=redis_url, fake_url=fake_url)
        fake.terminate()
        fake.wait()
        return
    lead, election, volunteers = _build(args.recipients)

    # 1. create (the audience is stored), send (marks it; the queueing task runs after commit), queue
    import backend.messaging.broadcasts
    from backend.messaging.broadcasts import broadcast_approve, broadcast_create, broadcast_queue, broadcast_send

    # The task and the drain are timed on their own below, not inside the send.
    backend.messaging.broadcasts._queue_later = lambda broadcast_id: None
    backend.messaging.broadcasts._start_drains = lambda broadcast_id: None
    body = "Fiscaliza: {nombre}, capacitacion el sabado en {escuela} ({direccion}), mesa {mesa}. Info: {link}"
    started = time.perf_counter()
    broadcast = broadcast_create(actor=lead, election=election, body=body, segment={})
    preview_s = time.perf_counter() - started
    broadcast = broadcast_approve(actor=lead, broadcast=broadcast)
    started = time.perf_counter()
    broadcast_send(actor=lead, broadcast=broadcast)
    send_s = time.perf_counter() - started
    started = time.perf_counter()
    broadcast_queue(broadcast_id=broadcast.pk)
    queue_s = time.perf_counter() - started
    from backend.messaging.models import OutboundMessage

    queued = OutboundMessage.objects.filter(broadcast=broadcast).count()
    sample = OutboundMessage.objects.filter(broadcast=broadcast).order_by("id").first()
    print(f"recipients: {queued:,} (volunteers {volunteers:,})")
    print(f"sample: [{sample.segments} seg, {sample.encoding}, {len(sample.body)} chars] {sample.body}")
    stored = broadcast.recipient_count
    print(f"preview + create (counts, missing values, stores the {stored:,} recipients): {preview_s:.2f} s")
    print(f"send (the request: audience check, status; the queueing is a task): {send_s * 1000:.0f} ms")
    print(
        f"queueing task: render and queue {queued:,}, first broadcast (also creates the {queued:,} volunteer users "
        f"behind the links): {queue_s:.2f} s (target <= 20 s, ratio {queue_s / 20:.2f}); "
        f"{queued / queue_s:,.0f} messages/s"
    )
    # The usual case: volunteers already have their user (every assignment text carries a link).
    second = broadcast_approve(
        actor=lead, broadcast=broadcast_create(actor=lead, election=election, body=body, segment={})
    )
    broadcast_send(actor=lead, broadcast=second)
    started = time.perf_counter()
    broadcast_queue(broadcast_id=second.pk)
    warm_s = time.perf_counter() - started
    print(
        f"queueing task, next broadcast (users exist): {warm_s:.2f} s "
        f"(target <= 20 s, ratio {warm_s / 20:.2f}); {queued / warm_s:,.0f} messages/s"
    )

    # 2. drain a sample at the configured rate
    import threading

    from django.db import connection

    from sms.services import outbound_drain

    counts = [0] * args.drain_workers

    def drainer(k: int) -> None:
        counts[k] = outbound_drain(
            broadcast_id=broadcast.pk, limit=args.drain // args.drain_workers, shard=(k, args.drain_workers)
        )
        connection.close()

    threads = [threading.Thread(target=drainer, args=(k,)) for k in range(args.drain_workers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    drain_s = time.perf_counter() - started
    sent = sum(counts)
    rate = sent / drain_s
    import json
    import urllib.request

    with urllib.request.urlopen(f"{fake_url}/_stats") as response:
        stats = json.load(response)
    print(
        f"drain: {sent:,} messages in {drain_s:.2f} s = {rate:.1f} msg/s at a configured {args.rate:g} msg/s "
        f"(deviation {100 * (rate - args.rate) / args.rate:+.1f} %, target within 5 %); "
        f"requests at the fake Twilio: {stats['posts']:,}, at most {stats['max_per_to']} per recipient; "
        f"{args.drain_workers} drainer threads sharing one bucket"
    )

    # 3. signed inbound through uvicorn
    p50, p95, p99, codes = _inbound(port=port, count=args.inbound, env=env)
    print(
        f"inbound: {args.inbound:,} signed requests through uvicorn: p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
        f"p99 {p99:.1f} ms (target p95 <= 50 ms, ratio {p95 / 50:.2f}); statuses {codes}"
    )
    _pool_drain(args, redis_url=redis_url, fake_url=fake_url)
    fake.terminate()
    fake.wait()


def _pool_numbers(count: int) -> str:
    return ",".join(f"+54935100000{i + 1:02d}:long_code" for i in range(count))


def _pool_drain(args, *, redis_url: str, fake_url: str) -> None:
    """100k two-segment messages through a pool of long codes: measured rate and the preview's prediction."""
    import subprocess as _subprocess
    import threading

    from django.conf import settings

    from backend.messaging.broadcasts import broadcast_queue_time
    from backend.messaging.models import OutboundMessage
    from backend.messaging.senders import sender_pool
    from sms import ratelimit

    # The earlier sections leave rows queued; the preview would count them ahead of this drain.
    OutboundMessage.objects.filter(status__in=["queued", "sending"]).update(status="cancelled")

    settings.SMS_SENDERS = _pool_numbers(args.pool_senders)
    settings.SMS_PACE_TIME_SCALE = args.time_scale
    settings.SMS_RATE_BURST = args.burst
    settings.SMS_PACING = True
    settings.REDIS_URL = redis_url
    # Fresh buckets for this run (Redis keys live a minute after use).
    settings.SMS_RATE_LIMIT_KEY = f"bench:sms:{uuid.uuid4().hex[:8]}"
    pool = sender_pool()
    segments = 2
    phones = [f"+54935{20_000_000 + i:08d}" for i in range(args.pool_messages)]
    by_lane: dict[str, int] = {lane.key: 0 for lane in pool.lanes}
    for phone in phones:
        by_lane[pool.lane_for(phone).key] += 1
    total_segments = segments * args.pool_messages
    predicted = broadcast_queue_time(segments=total_segments, recipients=args.pool_messages)
    load = _subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(
        f"pool drain: {args.pool_messages:,} messages x {segments} segments over {pool.describe()}; "
        f"per sender {min(by_lane.values()):,}-{max(by_lane.values()):,} messages (sticky hash); "
        f"time scale {args.time_scale:g} (SMS_PACE_TIME_SCALE), buckets {'Redis' if redis_url else 'in-process'}, "
        f"burst {args.burst:g} segments; load: {load.split('load average:')[-1].strip()}"
    )
    done = dict.fromkeys(by_lane, 0.0)

    def drain_lane(lane) -> None:
        # One drain per sender, as _start_drains starts them; the send is a stand-in (no database, no HTTP).
        for _ in range(by_lane[lane.key]):
            ratelimit.acquire(lane=lane, segments=segments)
        done[lane.key] = time.perf_counter()

    threads = [threading.Thread(target=drain_lane, args=(lane,)) for lane in pool.lanes]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = max(done.values()) - started
    simulated = wall * args.time_scale
    target_rate = pool.capacity
    rate = total_segments / simulated
    print(
        f"pool drain measured: {wall:.1f} s wall = {simulated / 3600:.2f} h simulated; "
        f"{rate:.3f} segments/s vs the pool's {target_rate:g} segments/s "
        f"(deviation {100 * (rate - target_rate) / target_rate:+.2f} %, target within 5 %)"
    )
    verdict = "fits" if predicted.fits else f"refused, {predicted.waves} waves of {predicted.wave_recipients:,}"
    print(
        f"pool drain prediction (the preview's broadcast_queue_time): {predicted.seconds / 3600:.2f} h vs measured "
        f"{simulated / 3600:.2f} h (error {100 * (predicted.seconds - simulated) / simulated:+.2f} %, "
        f"target within 5 %); past Twilio's {predicted.limit_seconds / 3600:g} h queue: {verdict}"
    )
    if args.full_path:
        _pool_full_path(args, fake_url=fake_url)


def _pool_full_path(args, *, fake_url: str) -> None:
    """N queued rows through outbound_drain, the limiter and the twilio library against the fake Twilio."""
    import threading

    from django.conf import settings
    from django.db import connection

    from backend.messaging.broadcasts import broadcast_queue_time
    from backend.messaging.models import OutboundMessage
    from backend.messaging.senders import sender_pool
    from sms.services import outbound_drain

    settings.SMS_PACE_TIME_SCALE = args.full_path_scale
    settings.SMS_RATE_LIMIT_KEY = f"bench:sms:{uuid.uuid4().hex[:8]}"
    pool = sender_pool()
    body = "Fiscaliza: " + "texto de dos segmentos " * 8
    rows = [
        OutboundMessage(
            to=f"+54935{30_000_000 + i:08d}",
            body=body,
            kind="instruction",
            segments=2,
            sender=pool.lane_for(f"+54935{30_000_000 + i:08d}").key,
        )
        for i in range(args.full_path)
    ]
    OutboundMessage.objects.filter(status="queued").update(status="cancelled")
    OutboundMessage.objects.bulk_create(rows, batch_size=2000)
    # What the preview counts as already queued: these rows, nothing else.
    predicted = broadcast_queue_time(segments=0, recipients=0)
    sent = dict.fromkeys((lane.key for lane in pool.lanes), 0)

    def drain(lane_key: str) -> None:
        sent[lane_key] = outbound_drain(limit=10**9, sender=lane_key)
        connection.close()

    threads = [threading.Thread(target=drain, args=(key,)) for key in sent]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    simulated = (time.perf_counter() - started) * args.full_path_scale
    rate = 2 * sum(sent.values()) / simulated
    print(
        f"pool drain, full path ({sum(sent.values()):,} rows, outbound_drain + twilio library -> fake Twilio, "
        f"scale {args.full_path_scale:g}): {rate:.3f} segments/s vs {pool.capacity:g} "
        f"(deviation {100 * (rate - pool.capacity) / pool.capacity:+.2f} %); prediction {predicted.seconds:,} s "
        f"vs measured {simulated:,.0f} s simulated (error {100 * (predicted.seconds - simulated) / simulated:+.2f} %)"
    )


def _build(count: int):
    """An election with count volunteers, each a table watcher (bulk inserts: setup, not measured)."""
    import datetime

    from django.contrib.auth.hashers import make_password

    from backend.accounts.models import Role, User
    from backend.assignments.models import Assignment
    from backend.elections.models import Area, Election, PollingPlace, Table
    from backend.volunteers.models import Volunteer

    started = time.perf_counter()
    election = Election.objects.create(slug="bench", name="Bench", date=datetime.date(2027, 10, 24))
    district = Area.objects.create(election=election, kind="distrito", code="bench", name="Bench")
    sections = [
        Area.objects.create(election=election, parent=district, kind="seccion", code=f"s{i}", name=f"Sección {i}")
        for i in range(10)
    ]
    per_place = 100
    places = PollingPlace.objects.bulk_create(
        [
            PollingPlace(
                election=election,
                area=sections[i % 10],
                code=f"P{i}",
                name=f"Escuela N° {i} Gral. San Martín",
                address=f"Av. Colón {1000 + i}",
            )
            for i in range(-(-count // per_place))
        ]
    )
    tables = Table.objects.bulk_create(
        [
            Table(election=election, place=places[i // per_place], district=district, number=i + 1, electors=350)
            for i in range(count)
        ],
        batch_size=5000,
    )
    first = ["María", "José", "Lucía", "Juan", "Sofía", "Martín", "Valentina", "Lucas"]
    last = ["González", "Rodríguez", "Gómez", "Fernández", "López", "Díaz"]
    volunteers = Volunteer.objects.bulk_create(
        [
            Volunteer(
                dni=str(20_000_000 + i),
                first_name=first[i % len(first)],
                last_name=last[i % len(last)],
                phone=f"+54935{10_000_000 + i:08d}",
                area=sections[i % 10],
            )
            for i in range(count)
        ],
        batch_size=5000,
    )
    Assignment.objects.bulk_create(
        [
            Assignment(election=election, volunteer=v, place=t.place, table=t, role="table")
            for v, t in zip(volunteers, tables, strict=True)
        ],
        batch_size=5000,
    )
    lead = User.objects.create(username="bench-lead", role=Role.LEAD, password=make_password(None))
    print(f"setup: {count:,} volunteers, tables and assignments in {time.perf_counter() - started:.1f} s")
    return lead, election, len(volunteers)


def _inbound(*, port: int, count: int, env: dict):
    import requests
    from django.conf import settings
    from twilio.request_validator import RequestValidator

    from backend.volunteers.models import Volunteer

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
        ],
        cwd=ROOT,
        env={**os.environ, **env},
    )
    try:
        session = requests.Session()
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                session.get(f"{base}/healthz", timeout=5)
                break
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.2)
        phones = list(Volunteer.objects.order_by("id").values_list("phone", flat=True)[:250])
        bodies = ["MESA", "Si", "ayuda", "Falta la urna en mi mesa", "donde"]
        validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
        url = f"{base}/sms/inbound/"
        timings, codes = [], {}
        for i in range(count):
            phone = phones[i % len(phones)] if i % 10 else "+5491100000000"  # one in ten from an unknown number
            params = {
                "MessageSid": f"SM{uuid.uuid4().hex}",
                "AccountSid": settings.TWILIO_ACCOUNT_SID,
                "From": phone,
                "To": "+15005550006",
                "Body": bodies[i % len(bodies)],
                "NumMedia": "0",
            }
            headers = {"X-Twilio-Signature": validator.compute_signature(url, params)}
            started = time.perf_counter()
            response = session.post(url, data=params, headers=headers, timeout=10)
            timings.append((time.perf_counter() - started) * 1000)
            codes[response.status_code] = codes.get(response.status_code, 0) + 1
        cuts = statistics.quantiles(timings, n=100)
        return statistics.median(timings), cuts[94], cuts[98], codes
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
