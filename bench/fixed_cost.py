"""The fixed cost of one request on the hot doors: server CPU and SQL statements per request, each beside the floor.

    DATABASE_URL=postgres://... REDIS_URL=redis://... python bench/fixed_cost.py [--requests 1000]
        [--concurrency 8] [--workers 2] [--pool 8] [--database-name bench_fixed_cost] [--port 0]

Builds a small election in its own database (bench/election_day.py's builder: one watcher with a
phone and an API token per table), starts uvicorn as production does (`--workers`, the connection
pool), and sends `--requests` requests of each kind from `--concurrency` clients:
- healthz: `GET /healthz` (one `SELECT 1`);
- refused: the signed SMS webhook refused at the signature (403, no database): the floor;
- no-op SMS: a signed `AYUDA` from a known watcher (stored, answered with the help text);
- ABRIO SMS: a signed `ABRIO` from each table's watcher (a first report per table);
- API report: `POST /api/tables/<id>/reports/` {"state": "open"} with the watcher's token;
- API read: `GET /api/me/` with the watcher's token (authentication, DRF, one trivial read);
- bare ASGI: the refused webhook's requests sent to a bare ASGI app (bench/bare_ws.py) under the same
  uvicorn options and workers: what uvicorn costs, the true floor no change to the project can cut.
For each it prints the server's CPU per request (uvicorn processes plus the bench database's
PostgreSQL backends, from /proc: on a shared machine the CPU, not the wall clock, is the figure)
and its ratio to the floor's, and the SQL statements of one such request counted in-process
(BEGIN, SAVEPOINT, RELEASE and COMMIT included) through the same middleware and views. The
requests are built and signed before each kind is measured and sent over keep-alive connections
from a process of their own (bench/loadgen.py, closed loop); their CPU a request is printed apart.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from election_day import Backends, Meter, _build, _free_port, _parent, _prepare_database  # noqa: E402
from loadgen import LoadGenerator, Prepared, form_post, http_request, json_post  # noqa: E402
from serving import check_port_free, wait_until_healthy  # noqa: E402

KINDS = ("healthz", "refused", "no-op SMS", "ABRIO SMS", "API report", "API read")
BARE = "bare ASGI"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests of each kind")
    parser.add_argument("--concurrency", type=int, default=8, help="clients sending at once")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn processes (production: 2)")
    parser.add_argument("--pool", type=int, default=8, help="DATABASE_POOL_MAX_SIZE per server process")
    parser.add_argument("--database-name", default="bench_fixed_cost", help="the run's database (or var/ file)")
    parser.add_argument("--port", type=int, default=0, help="the server's port (default: a free one)")
    parser.add_argument("--only", help=f"comma-separated kinds to send, of: {', '.join(KINDS)} (refused always)")
    parser.add_argument("--bare-port", type=int, default=0, help="the bare ASGI app's port (default: a free one)")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare ASGI app's floor")
    args = parser.parse_args()
    kinds = [k for k in KINDS if k == "refused" or not args.only or k in args.only.split(",")]
    if args.workers > 1 and not os.environ.get("REDIS_URL"):
        raise SystemExit("--workers > 1 needs REDIS_URL: the in-memory channel layer does not cross processes")
    sample = 5
    args.tables, args.places, args.keep = 2 * (args.requests + sample), max(10, args.requests // 20), False
    args.keep_built = None

    tmp = Path(tempfile.mkdtemp(prefix="bench_fixed_"))
    database_url, database_name, _build_needed, drop = _prepare_database(args)
    port = args.port or _free_port()
    os.environ.update(
        {
            "DATABASE_URL": database_url,
            "DJANGO_DEBUG": "false",
            "SMS_BACKEND": "local",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "LOG_LEVEL": "ERROR",  # not a line per refused request of the floor
            "API_THROTTLE_USER": "100000/min",
            "MEDIA_ROOT": str(tmp / "media"),
        }
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections

    call_command("migrate", verbosity=0)
    _build(args.tables, args.places)
    from backend.assignments.models import Assignment

    watchers = list(
        Assignment.objects.filter(role="table")
        .order_by("table_id")
        .values_list("table_id", "volunteer__phone", "volunteer__user__auth_token__key")
    )
    statements = _statements(watchers[:sample], watchers[sample : 2 * sample])
    watchers = watchers[2 * sample :]

    postmaster = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            postmaster = _parent(cursor.fetchone()[0])
    connections.close_all()
    check_port_free(port)
    server = subprocess.Popen(
        _uvicorn("backend.asgi:application", port, args.workers),
        cwd=ROOT,
        env={**os.environ, "DATABASE_POOL_MAX_SIZE": str(args.pool)},
    )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", server=server)
        cpu = _run(args, kinds, watchers, port, server.pid, Backends(postmaster, database_name))
    finally:
        server.terminate()
        server.wait(timeout=20)
        connections.close_all()
        drop()
    if not args.no_bare:
        kinds.append(BARE)
        cpu[BARE] = _bare(args, watchers)
    load = os.getloadavg()
    profile = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
    print(
        f"{profile}, {args.workers} uvicorn worker(s), pool {args.pool}, {args.requests:,} requests of each kind, "
        f"{args.concurrency} clients; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    floor = cpu["refused"][0] + cpu["refused"][1]
    print(
        f"{'request':<12} {'CPU ms':>8} {'uvicorn':>8} {'postgres':>9} {'x floor':>8} {'statements':>11} "
        f"{'client ms':>10}"
    )
    for kind in kinds:
        server_ms, postgres_ms, client_ms = cpu[kind]
        total = server_ms + postgres_ms
        print(
            f"{kind:<12} {total:8.2f} {server_ms:8.2f} {postgres_ms:9.2f} {total / floor:8.1f}x "
            f"{statements.get(kind, 0):>11} {client_ms:10.2f}"
        )
    print("floor: the refused webhook (signature check, whole middleware chain, no database)")
    if BARE in cpu:
        print("bare ASGI: the refused webhook's requests answered by a bare ASGI app under the same uvicorn")
    print("client ms: the load generator's own CPU a request (bench/loadgen.py, its own process), not in CPU ms")


def _uvicorn(app: str, port: int, workers: int, *options: str) -> list[str]:
    """The server's command line: the project's and the bare app's alike (production's options, no access log)."""
    return [
        *[sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), *options],
        *["--log-level", "warning", "--no-access-log", "--workers", str(workers)],
    ]


def _bare(args, watchers: list) -> tuple[float, float, float]:
    """CPU per request of the refused webhook's requests answered by a bare ASGI app (bench/bare_ws.py)."""
    from django.conf import settings
    from twilio.request_validator import RequestValidator

    port = args.bare_port or _free_port()
    check_port_free(port)
    host = f"127.0.0.1:{port}"
    wrong = RequestValidator(settings.TWILIO_AUTH_TOKEN + "-not")
    url = f"{settings.PUBLIC_BASE_URL}/sms/inbound/"

    def refused(phone: str) -> Prepared:
        params = _params(phone, "ABRIO")
        headers = {"X-Twilio-Signature": wrong.compute_signature(url, params)}
        return Prepared(BARE, form_post("/sms/inbound/", params, host=host, headers=headers))

    server = subprocess.Popen(
        _uvicorn("bare_ws:app", port, args.workers, "--app-dir", str(ROOT / "bench")), cwd=ROOT, env=os.environ
    )
    try:
        wait_until_healthy(f"http://{host}", server=server)
        batch = [refused(w[1]) for w in watchers[: args.requests]]
        # The bare app answers in ~0.07 ms: 500 requests are a few of /proc's 10 ms CPU ticks, read as
        # 0.00; ten times as many (the same signed requests again: the bare app keeps nothing) are not.
        batch *= 10
        warm = LoadGenerator("127.0.0.1", port, batch[:100], concurrency=args.concurrency)
        warm.go()
        warm.result()
        generator = LoadGenerator("127.0.0.1", port, batch, concurrency=args.concurrency)
        with Meter(server.pid, Backends(None, "")) as cpu:
            generator.go()
            outcome = generator.result()
    finally:
        server.terminate()
        server.wait(timeout=20)
    if outcome.errors:
        print(f"bare ASGI: {outcome.failed:,} answers not of the status expected; first: {outcome.errors[0]}")
    return cpu.uvicorn * 1000 / len(batch), 0.0, outcome.client_cpu * 1000 / len(batch)


def _params(phone: str, body: str) -> dict:
    return {
        "MessageSid": f"SM{uuid.uuid4().hex}",
        "AccountSid": "AC00000000000000000000000000000000",
        "From": phone,
        "To": "+15005550006",
        "Body": body,
        "NumMedia": "0",
    }


def _statements(first: list, second: list) -> dict[str, int]:
    """SQL statements of one request of each kind, through Django's test client (same middleware and views)."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from twilio.request_validator import RequestValidator

    url = settings.PUBLIC_BASE_URL + "/sms/inbound/"
    client = Client()

    def sms(phone: str, body: str, *, token: str = settings.TWILIO_AUTH_TOKEN):
        params = _params(phone, body)
        signature = RequestValidator(token).compute_signature(url, params)
        # Form-encoded, as Twilio posts (the test client's default is multipart).
        return client.post(
            "/sms/inbound/", urlencode(params), "application/x-www-form-urlencoded", HTTP_X_TWILIO_SIGNATURE=signature
        )

    requests = {
        "healthz": lambda i: client.get("/healthz"),
        "refused": lambda i: sms(first[i][1], "ABRIO", token=settings.TWILIO_AUTH_TOKEN + "-not"),
        "no-op SMS": lambda i: sms(first[i][1], "AYUDA"),
        "ABRIO SMS": lambda i: sms(first[i][1], "ABRIO"),
        "API report": lambda i: client.post(
            f"/api/tables/{second[i][0]}/reports/",
            {"state": "open"},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Token {second[i][2]}",
        ),
        "API read": lambda i: client.get("/api/me/", HTTP_AUTHORIZATION=f"Token {second[i][2]}"),
    }
    counts = {}
    for kind, send in requests.items():
        send(0)  # warm: first-use caches (templates, compiled queries) are not the per-request cost
        with CaptureQueriesContext(connection) as queries:
            response = send(1)
        if response.status_code not in (200, 403):
            raise SystemExit(f"{kind}: {response.status_code} {response.content[:200]!r}")
        counts[kind] = len(queries)
    return counts


def _run(
    args, kinds: list[str], watchers: list, port: int, server_pid: int, backends: Backends
) -> dict[str, tuple[float, float, float]]:
    from django.conf import settings
    from twilio.request_validator import RequestValidator

    base = f"http://127.0.0.1:{port}"
    host = f"127.0.0.1:{port}"
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    wrong = RequestValidator(settings.TWILIO_AUTH_TOKEN + "-not")
    sms_path = "/sms/inbound/"

    def sms(kind: str, phone: str, body: str, signer, expected: int) -> Prepared:
        params = _params(phone, body)
        signature = signer.compute_signature(base + sms_path, params)
        return Prepared(
            kind, form_post(sms_path, params, host=host, headers={"X-Twilio-Signature": signature}), expected
        )

    def api(kind: str, method: str, path: str, token: str) -> Prepared:
        headers = {"Authorization": f"Token {token}"}
        if method == "GET":
            return Prepared(kind, http_request("GET", path, host=host, headers=headers))
        return Prepared(kind, json_post(path, {"state": "open"}, host=host, headers=headers))

    n = args.requests
    sms_side, api_side = watchers[:n], watchers[n : 2 * n]
    # Every request built and signed before it is measured: the clients (their own process) only write bytes.
    builders = {
        "healthz": lambda w: Prepared("healthz", http_request("GET", "/healthz", host=host)),
        "refused": lambda w: sms("refused", w[1], "ABRIO", wrong, 403),
        "no-op SMS": lambda w: sms("no-op SMS", w[1], "AYUDA", validator, 200),
        "ABRIO SMS": lambda w: sms("ABRIO SMS", w[1], "ABRIO", validator, 200),
        "API report": lambda w: api("API report", "POST", f"/api/tables/{w[0]}/reports/", w[2]),
        "API read": lambda w: api("API read", "GET", "/api/me/", w[2]),
    }

    def send(prepared: list[Prepared]):
        generator = LoadGenerator("127.0.0.1", port, prepared, concurrency=args.concurrency)
        with Meter(server_pid, backends) as cpu:
            generator.go()
            outcome = generator.result()
        return outcome, cpu

    # Warm both workers (imports, compiled queries, the pool's connections) before measuring.
    send([builders["no-op SMS"](w) for w in sms_side[:50]] + [builders["API read"](w) for w in api_side[:50]])
    figures = {}
    errors: list[str] = []
    failed = 0
    for kind in kinds:
        batch = api_side if kind.startswith("API") else sms_side
        outcome, cpu = send([builders[kind](w) for w in batch])
        errors += outcome.errors
        failed += outcome.failed
        figures[kind] = tuple(x * 1000 / len(batch) for x in (cpu.uvicorn, cpu.postgres, outcome.client_cpu))
    if errors:
        print(f"errors (answers not of the status expected): {failed:,}; first: {errors[0]}")
    return figures


if __name__ == "__main__":
    main()
