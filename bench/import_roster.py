"""Benchmark: import a messy 100,000-row roster into a fresh database (dry run, apply, re-apply).

    python bench/import_roster.py --rows 100000

Fresh database: a temporary SQLite file by default; with DATABASE_URL set (PostgreSQL), a new
database `bench_import_roster` is created next to the one named there and dropped at the end.
Prints seconds and rows/s per phase, peak memory (ru_maxrss) and the ratio of the apply time to
the bare calamine read of the same file in the same run. Targets on a 2-core machine: apply
<= 15 s, re-apply <= 10 s, peak <= 600 MB.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.databases import fresh_database, peak_mb  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description="Roster import benchmark")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2027)
    args = parser.parse_args()

    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    roster = out / f"roster-{args.rows}-{args.seed}.xlsx"
    tmp = Path(tempfile.mkdtemp(prefix="fz-bench-"))
    url, drop = fresh_database(tmp, name="bench_import_roster")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    os.environ["MEDIA_ROOT"] = str(tmp / "media")
    os.environ["IMPORT_MAX_ROWS"] = str(max(200_000, args.rows * 2))

    import django

    django.setup()
    from django.core.management import call_command

    from backend.core.spreadsheets import open_sheet, read_rows
    from backend.elections.models import Election
    from backend.elections.stations import stations_import
    from backend.imports.models import ImportKind
    from backend.imports.services import batch_create, batch_run
    from backend.volunteers.models import Volunteer
    from bench.roster_data import STATIONS, write_xlsx

    try:
        if not roster.exists():
            started = time.perf_counter()
            write_xlsx(roster, args.rows, seed=args.seed)
            print(f"generated {roster.name} in {time.perf_counter() - started:.1f} s (not measured)")
        call_command("migrate", verbosity=0)
        election = Election.objects.create(slug="bench", name="Bench", date="2027-10-24")
        stations_import(election=election, rows=read_rows(STATIONS))
        data = roster.read_bytes()
        engine = "PostgreSQL" if url.startswith("postgres") else "SQLite"
        print(f"{engine}, {args.rows:,} people in {len(data) / 1e6:.1f} MB of xlsx")

        started, cpu = time.perf_counter(), time.process_time()
        rows_read = sum(1 for _ in open_sheet(data, filename=roster.name).rows())
        bare, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(f"bare calamine read   {bare:6.2f} s (cpu {cpu:5.2f} s)  {rows_read / bare:9,.0f} rows/s")

        def phase(label: str, batch, dry_run: bool):
            started, cpu = time.perf_counter(), time.process_time()
            batch = batch_run(batch=batch, dry_run=dry_run)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            print(
                f"{label:<20} {seconds:6.2f} s (cpu {cpu:5.2f} s)  {batch.total_rows / seconds:9,.0f} rows/s  "
                f"new {batch.created:,} updated {batch.updated:,} unchanged {batch.unchanged:,} "
                f"merged {batch.merged:,} warnings {batch.warnings:,} rejected {batch.rejected:,}"
            )
            return batch, seconds

        def upload():
            return batch_create(
                actor=None,
                election=election,
                kind=ImportKind.ROSTER,
                file_name=roster.name,
                data=data,
                dry_run=True,
                default_area_code="351",
            )

        batch, _dry = phase("dry run", upload(), True)
        batch, apply = phase("apply", batch, False)
        _again, reapply = phase("re-apply", upload(), False)
        print(f"volunteers in the database: {Volunteer.objects.count():,}")
        load = os.getloadavg()[0]
        print(f"peak memory (ru_maxrss) {peak_mb():.0f} MB; load average {load:.1f} on {os.cpu_count()} cores")
        print(f"ratio apply / bare read {apply / bare:.1f}x; re-apply / bare read {reapply / bare:.1f}x")
        verdict = apply <= 15 and reapply <= 10 and peak_mb() <= 600
        print(f"targets (apply <= 15 s, re-apply <= 10 s, peak <= 600 MB): {'met' if verdict else 'NOT met'}")
    finally:
        drop()


if __name__ == "__main__":
    main()
