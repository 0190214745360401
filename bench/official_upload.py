"""Official results uploaded from the console: a national long CSV stored by the upload request, checked
(the preview) and applied by the worker, read as a stream.

    python bench/official_upload.py [--tables 20000] [--categories 4] [--lists 10]

113,000 tables x 4 categories x (10 lists + 4 vote types) is the national file: ~6.3 million rows,
~240 MB. Prints, beside the floor (a bare `csv.reader` pass over the same file that adds up the
votes, measured in the same run): the upload request's time (it only stores and checks the first
bytes, so a 243 MB file cannot time out a request), the check's and the apply's CPU time and
their ratio to the floor, and each phase's peak resident memory above where it started (sampled
every 20 ms from /proc), which must stay flat whatever the file's size. CPU is this process's
(`resource.getrusage`); with DATABASE_URL (PostgreSQL, a fresh `bench_countui_official`
database) the server's own CPU is not in it. Targets: the request <= 5 s; memory growth
<= 300 MB; the apply within the task's time limit (COUNT_OFFICIAL_TIME_LIMIT, 3,600 s).
"""

import argparse
import csv
import datetime
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from databases import fresh_database  # noqa: E402

TARGET_REQUEST_S, TARGET_GROWTH_MB, TARGET_APPLY_S = 5.0, 300.0, 3600.0


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class Phase:
    """CPU, wall and peak RSS growth of one block (a sampling thread reads /proc every 20 ms)."""

    def __enter__(self):
        self.start_rss = self.peak = _rss_mb()
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        self.cpu, self.wall = _cpu(), time.perf_counter()
        return self

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, _rss_mb())
            time.sleep(0.02)

    def __exit__(self, *exc):
        self.cpu, self.wall = _cpu() - self.cpu, time.perf_counter() - self.wall
        self.running = False
        self.thread.join()
        self.growth = self.peak - self.start_rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=20_000)
    parser.add_argument("--categories", type=int, default=4)
    parser.add_argument("--lists", type=int, default=10)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_countui_official_"))
    database_url, drop = fresh_database(tmp, name="bench_countui_official")
    os.environ.update(
        DATABASE_URL=database_url,
        DJANGO_DEBUG="false",
        LOG_LEVEL="WARNING",
        MEDIA_ROOT=str(tmp / "media"),
        DJANGO_SETTINGS_MODULE="backend.settings",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    try:
        _run(args, tmp)
    finally:
        drop()


def _build(args):
    from backend.accounts.models import Role, User
    from backend.count.models import BallotList, Category
    from backend.elections.models import Area, Election, PollingPlace, Table

    election = Election.objects.create(slug="bench-official", name="Bench", date=datetime.date(2027, 10, 24))
    districts = [
        Area.objects.create(election=election, kind="distrito", code=f"{d + 1:02d}", name=f"Distrito {d + 1}")
        for d in range(24)
    ]
    places = PollingPlace.objects.bulk_create(
        [
            PollingPlace(election=election, area=districts[i % 24], code=f"P{i}", name=f"Escuela {i}")
            for i in range(-(-args.tables // 7))
        ],
        batch_size=5000,
    )
    Table.objects.bulk_create(
        [
            Table(election=election, place=places[i // 7], district=places[i // 7].area, number=i + 1, electors=350)
            for i in range(args.tables)
        ],
        batch_size=5000,
    )
    categories = [
        Category.objects.create(election=election, code=f"C{c}", name=f"CARGO {c}", position=c)
        for c in range(args.categories)
    ]
    for category in categories:
        BallotList.objects.bulk_create(
            [BallotList(category=category, name=f"AGRUPACION {n}", position=n, ours=n == 0) for n in range(args.lists)]
        )
    lead = User.objects.create_user("bench-lead", role=Role.LEAD)
    return election, categories, lead


def _write_file(path: Path, args, categories) -> int:
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["distrito_id", "mesa_id", "cargo_nombre", "agrupacion_nombre", "votos_tipo", "votos_cantidad"])
        for number in range(1, args.tables + 1):
            district = f"{(number - 1) // 7 % 24 + 1:02d}"
            for category in categories:
                for n in range(args.lists):
                    out.writerow([district, number, category.name, f"AGRUPACION {n}", "POSITIVO", (number + n) % 60])
                for kind in ("EN BLANCO", "NULO", "RECURRIDO", "IMPUGNADO"):
                    out.writerow([district, number, category.name, "", kind, number % 5])
                rows += args.lists + 4
    return rows


def _run(args, tmp: Path) -> None:
    from django.core.files import File

    from backend.count import results_import
    from backend.count.models import OfficialImport, ResultSheet

    started = time.perf_counter()
    election, categories, lead = _build(args)
    path = tmp / "oficial.csv"
    rows = _write_file(path, args, categories)
    size_mb = path.stat().st_size / 2**20
    setup_s = time.perf_counter() - started
    print(f"setup: {args.tables:,} tables, file {size_mb:.0f} MB, {rows:,} rows in {setup_s:.1f} s")
    print(f"load: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} on {os.cpu_count()} CPUs")

    with Phase() as floor:
        total = 0
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            for row in reader:
                total += int(row[5])
    queued: list[tuple] = []
    real_queue = results_import.task_queue
    results_import.task_queue = lambda *a, **k: queued.append(a)  # the worker's part is timed on its own
    try:
        with Phase() as request, path.open("rb") as handle:
            job = results_import.official_import_upload(
                election=election, layout="national", upload=File(handle, name="oficial.csv"), actor=lead
            )
        with Phase() as check:
            job = results_import.official_import_run(job_id=job.pk, dry_run=True)
        assert job is not None and job.state == "previewed", job and job.error_message
        results_import.official_import_apply(job=job, actor=lead)
        with Phase() as apply:
            job = results_import.official_import_run(job_id=job.pk, dry_run=False)
    finally:
        results_import.task_queue = real_queue
    assert job is not None and job.state == "applied", job and job.error_message
    sheets = ResultSheet.objects.filter(official=True, current=True).count()
    assert sheets == args.tables * args.categories == job.result["sheets"], (sheets, job.result["sheets"])
    assert OfficialImport.objects.count() == 1
    print(f"load: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f}")
    print(f"floor (bare csv.reader pass): {floor.cpu:.1f} s cpu, {floor.wall:.1f} s wall, +{floor.growth:.0f} MB")
    print(
        f"upload request (store + first bytes): {request.wall:.2f} s wall, {request.cpu:.2f} s cpu, "
        f"+{request.growth:.0f} MB  target <= {TARGET_REQUEST_S:.0f} s: "
        f"{'met' if request.wall <= TARGET_REQUEST_S else 'NOT met'}"
    )
    for name, phase in (("check (preview)", check), ("apply", apply)):
        print(
            f"{name}: {phase.cpu:.1f} s cpu ({phase.cpu / floor.cpu:.1f}x the floor), {phase.wall:.1f} s wall, "
            f"{rows / phase.wall:,.0f} rows/s, peak +{phase.growth:.0f} MB  "
            f"memory target <= {TARGET_GROWTH_MB:.0f} MB: {'met' if phase.growth <= TARGET_GROWTH_MB else 'NOT met'}"
        )
    print(
        f"apply within the task limit ({TARGET_APPLY_S:.0f} s): {'met' if apply.wall <= TARGET_APPLY_S else 'NOT met'}"
        f"; {sheets:,} official sheets written"
    )


if __name__ == "__main__":
    main()
