"""Benchmark: import the national 2019 station list as published into an empty election, then again.

    python bench/import_stations.py                 # the whole country: 14,888 rows, 101,461 tables
    python bench/import_stations.py --districts 2   # Buenos Aires only
    python bench/import_stations.py --copies 3      # the country three times over (district codes shifted)

The files are the authority's (places with table ranges, and the district, section and circuit
name files) from `fixtures/national-2019.zip`, the same bytes as `../shared/data/national/`. They go
through the same path as the command and the page (`batch_create` + `batch_run`). Fresh database:
a temporary SQLite file by default; with DATABASE_URL set (PostgreSQL), a database
`bench_import_stations` is created next to the one named there and dropped at the end.

Prints seconds, tables per second and peak memory (ru_maxrss) for the first import and the
re-import, beside the floor: the bare read of the same files with the fastest reader we have (the
standard csv module, as the importer uses). Targets on a 2-core machine: first import <= 10 s,
re-import <= 5 s, peak <= 1 GB.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.databases import fresh_database, peak_mb  # noqa: E402

FIXTURE = ROOT / "fixtures" / "national-2019.zip"


def national_files(districts: set[str] | None, copies: int) -> list[tuple[str, bytes]]:
    """The published files, cut to some districts or repeated with shifted district codes."""
    if not FIXTURE.exists():
        sys.exit(f"missing {FIXTURE}: it holds the national 2019 files (see fixtures/README.md)")
    files = []
    with zipfile.ZipFile(FIXTURE) as archive:
        for name in sorted(archive.namelist()):
            text = archive.read(name).decode("utf-8")
            rows = list(csv.reader(io.StringIO(text)))
            header, body = rows[0], rows[1:]
            district = header.index("distrito_nro")
            if districts:
                body = [r for r in body if r[district] in districts]
            out = []
            for copy in range(copies):
                for row in body:
                    row = list(row)
                    row[district] = str(int(row[district]) + 100 * copy)
                    out.append(row)
            buffer = io.StringIO()
            csv.writer(buffer).writerows([header, *out])
            files.append((name, buffer.getvalue().encode("utf-8")))
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description="National station list import benchmark")
    parser.add_argument("--districts", default="", help="district numbers to keep, comma separated (default all)")
    parser.add_argument("--copies", type=int, default=1, help="repeat the list N times (district codes shifted)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="fz-bench-"))
    url, drop = fresh_database(tmp, name="bench_import_stations")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    os.environ["MEDIA_ROOT"] = str(tmp / "media")
    os.environ["IMPORT_MAX_ROWS"] = str(200_000 * max(1, args.copies))

    import django

    django.setup()
    from django.core.management import call_command

    from backend.elections.models import Election, Table
    from backend.imports.bundle import bundle_files, open_bundle
    from backend.imports.models import ImportKind
    from backend.imports.services import batch_create, batch_run

    districts = {d.strip() for d in args.districts.split(",") if d.strip()} or None
    files = national_files(districts, args.copies)
    try:
        call_command("migrate", verbosity=0)
        election = Election.objects.create(slug="bench", name="Bench", date="2027-08-08")
        engine = "PostgreSQL" if url.startswith("postgres") else "SQLite"
        size = sum(len(data) for _n, data in files)
        print(f"{engine}, {len(files)} files, {size / 1e6:.1f} MB of csv")

        name, data = bundle_files(files)
        started, cpu = time.perf_counter(), time.process_time()
        rows_read = sum(1 for _n, sheet in open_bundle(data, filename=name) for _row in sheet.rows())
        bare, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(f"bare read (csv)      {bare:6.2f} s (cpu {cpu:5.2f} s)  {rows_read / bare:9,.0f} rows/s")

        def phase(label: str):
            batch = batch_create(actor=None, election=election, kind=ImportKind.STATIONS, files=files, dry_run=False)
            started, cpu = time.perf_counter(), time.process_time()
            batch = batch_run(batch=batch, dry_run=False)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            tables = Table.objects.filter(election=election).count()
            details = batch.details
            print(
                f"{label:<20} {seconds:6.2f} s (cpu {cpu:5.2f} s)  {tables / seconds:9,.0f} tables/s  "
                f"{batch.total_rows / seconds:7,.0f} rows/s  tables new {details['tables_created']:,} "
                f"unchanged {details['tables_unchanged']:,}; rejected rows {batch.rejected:,}, "
                f"warned {batch.warnings:,}; peak {peak_mb():.0f} MB"
            )
            return seconds

        first = phase("first import")
        again = phase("re-import")
        print(f"tables in the election: {Table.objects.filter(election=election).count():,}")
        load = os.getloadavg()[0]
        print(f"peak memory (ru_maxrss) {peak_mb():.0f} MB; load average {load:.1f} on {os.cpu_count()} cores")
        print(f"ratio first import / bare read {first / bare:.1f}x; re-import / bare read {again / bare:.1f}x")
        verdict = first <= 10 and again <= 5 and peak_mb() <= 1024
        print(f"targets (first <= 10 s, re-import <= 5 s, peak <= 1 GB): {'met' if verdict else 'NOT met'}")
    finally:
        drop()


if __name__ == "__main__":
    main()
