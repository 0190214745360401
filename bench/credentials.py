"""Benchmark of credentials on paper: every watcher of the Córdoba demo, one PDF per school, zipped.

    python bench/credentials.py              # 1,220 schools, 8,653 tables: a watcher per table and per school
    python bench/credentials.py --places 200 # the first 200 schools only (a quick look)

What is timed is what the console's "zip of schools" runs in the Celery worker
(`credentials_batch_build`): issue every credential (9,873), render one A4 PDF per school, two
credentials per page in table order, and write the zip. The data (the demo's station list, the
volunteers and one proposed assignment per slot) are built first in a child process, so the peak
memory printed is the build's own process. The floor, measured in the same run: reportlab writing
the same number of pages with the same text and no QR, signature, database or zip, so the ratio
says what the credentials themselves cost on this machine at this moment (load printed too).
Targets (issue 18, on a 2-core machine): <= 60 s and <= 500 MB.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from databases import fresh_database, peak_mb  # noqa: E402

TARGET_SECONDS = 60.0
TARGET_MB = 500.0


def _setup(db_url: str, out_dir: str) -> None:
    os.environ["DATABASE_URL"] = db_url
    os.environ["CREDENTIALS_DIR"] = out_dir
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    import django

    django.setup()


def generate(db_url: str, out_dir: str, places_limit: int | None) -> None:
    """The demo's stations, volunteers, and every table's and school's slot filled with a proposal."""
    _setup(db_url, out_dir)
    from django.core.management import call_command
    from django.db import connection

    from backend.accounts.models import Role, User
    from backend.assignments.models import Assignment, AssignmentRole, AssignmentStatus
    from backend.core.bulk import bulk_insert
    from backend.credentials.services import credential_setup_save
    from backend.elections.demo import demo_load
    from backend.elections.models import PollingPlace, Table
    from backend.volunteers.models import Volunteer

    call_command("migrate", verbosity=0)
    result = demo_load(volunteers=10_000, assigned=0)
    election = result.election
    lead, _ = User.objects.get_or_create(username="bench-lead", defaults={"role": Role.LEAD})
    places = list(PollingPlace.objects.filter(election=election).order_by("code").values_list("pk", flat=True))
    if places_limit:
        places = places[:places_limit]
    tables = list(
        Table.objects.filter(place_id__in=places).order_by("place_id", "number").values_list("pk", "place_id")
    )
    volunteers = iter(Volunteer.objects.order_by("pk").values_list("pk", flat=True))
    rows = [
        {
            "election_id": election.pk,
            "volunteer_id": next(volunteers),
            "place_id": place_id,
            "table_id": table_id,
            "role": AssignmentRole.TABLE.value,
            "slot": 0,
            "status": AssignmentStatus.PROPOSED.value,
        }
        for table_id, place_id in tables
    ] + [
        {
            "election_id": election.pk,
            "volunteer_id": next(volunteers),
            "place_id": place_id,
            "table_id": None,
            "role": AssignmentRole.PLACE.value,
            "slot": 0,
            "status": AssignmentStatus.PROPOSED.value,
        }
        for place_id in places
    ]
    bulk_insert(Assignment, rows)
    credential_setup_save(
        election=election,
        actor=lead,
        party_name="Frente Cívico de Córdoba",
        list_number="501",
        signatory_name="Begoña Ibáñez",
        signatory_dni="20111222",
        table_wording=_default("table"),
        place_wording=_default("place"),
        signature=_signature(),
    )
    print(f"data: {len(places):,} schools, {len(tables):,} tables, {len(rows):,} watchers")
    connection.close()


def _default(kind: str) -> str:
    from backend.credentials.models import DEFAULT_PLACE_WORDING, DEFAULT_TABLE_WORDING

    return DEFAULT_TABLE_WORDING if kind == "table" else DEFAULT_PLACE_WORDING


def _signature() -> bytes:
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (420, 120), "white")
    ImageDraw.Draw(image).line([(10, 100), (140, 15), (260, 95), (410, 20)], fill="black", width=5)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def measure(db_url: str, out_dir: str, queue) -> None:
    _setup(db_url, out_dir)
    from backend.accounts.models import User
    from backend.credentials.models import CredentialBatch
    from backend.credentials.services import credentials_batch_build
    from backend.elections.models import Election

    election = Election.objects.get()
    lead = User.objects.get(username="bench-lead")
    batch = CredentialBatch.objects.create(election=election, requested_by=lead, total=0)
    rss_before = peak_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    done = credentials_batch_build(batch_id=batch.pk)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    size = (Path(out_dir) / done.file_name).stat().st_size
    queue.put(
        {
            "wall": wall,
            "cpu": cpu,
            "pages": done.pages,
            "schools": done.done,
            "peak": peak_mb(),
            "before": rss_before,
            "zip_mb": size / 1e6,
        }
    )


def floor(pages: int, queue) -> None:
    """reportlab alone: the same pages, the same fonts and text, nothing else."""
    import io

    from reportlab.pdfgen.canvas import Canvas

    from backend.credentials.documents import FONT, FONT_BOLD  # registers the fonts

    wall, cpu = time.perf_counter(), time.process_time()
    per_file = 8
    for start in range(0, pages, per_file):
        canvas = Canvas(io.BytesIO(), pageCompression=1)
        for _ in range(min(per_file, pages - start)):
            for half in (0, 421):
                canvas.setFont(FONT_BOLD, 13)
                canvas.drawString(40, 800 - half, "Frente Cívico de Córdoba — Lista 501")
                canvas.setFont(FONT, 9)
                for k in range(16):
                    canvas.drawString(40, 770 - half - 12 * k, "José María Núñez Peña, DNI 30.123.456, mesa 1234")
            canvas.showPage()
        canvas.save()
    queue.put({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--places", type=int, default=None, help="only the first N schools (default: all 1,220)")
    args = parser.parse_args()
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="bench-credentials-") as tmp:
        db_url, drop = fresh_database(Path(tmp), name="bench_credentials")
        out_dir = str(Path(tmp) / "zips")
        try:
            t = time.perf_counter()
            child = ctx.Process(target=generate, args=(db_url, out_dir, args.places))
            child.start()
            child.join()
            if child.exitcode:
                sys.exit("data generation failed")
            print(f"data built in {time.perf_counter() - t:.1f} s (not timed below)")
            queue = ctx.Queue()
            child = ctx.Process(target=measure, args=(db_url, out_dir, queue))
            child.start()
            result = queue.get()
            child.join()
            child = ctx.Process(target=_floor_entry, args=(db_url, out_dir, result["pages"], queue))
            child.start()
            base = queue.get()
            child.join()
        finally:
            drop()
    load = os.getloadavg()
    pages_s = result["pages"] / result["wall"]
    print(
        f"\n== credentials: {result['schools']:,} school PDFs, {result['pages']:,} A4 pages, "
        f"zip {result['zip_mb']:.1f} MB"
    )
    print(
        f"time          {result['wall']:7.1f} s wall, {result['cpu']:.1f} s CPU    target <= {TARGET_SECONDS:.0f} s   "
        f"{'OK' if result['wall'] <= TARGET_SECONDS else 'OVER'}"
    )
    print(f"pages/s       {pages_s:7.1f} (CPU: {result['pages'] / result['cpu']:.1f})")
    print(
        f"peak memory   {result['peak']:7.0f} MB (at start {result['before']:.0f} MB)   "
        f"target <= {TARGET_MB:.0f} MB   "
        f"{'OK' if result['peak'] <= TARGET_MB else 'OVER'}"
    )
    print(f"floor         {base['wall']:7.1f} s wall, {base['cpu']:.1f} s CPU (reportlab, same pages, text only)")
    print(
        f"ratio         {result['wall'] / base['wall']:7.1f}x wall, "
        f"{result['cpu'] / base['cpu']:.1f}x CPU over the floor"
    )
    print(f"load average  {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")


def _floor_entry(db_url: str, out_dir: str, pages: int, queue) -> None:
    _setup(db_url, out_dir)
    floor(pages, queue)


if __name__ == "__main__":
    main()
