"""What a roster import left in a database kept by `bench/import_roster.py --keep`, as one digest per table.

    DATABASE_URL=sqlite:////tmp/fz-bench-x/bench.sqlite3 python bench/roster_results.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/roster_bench python bench/roster_results.py

Two branches that import the same file must leave the same rows: every volunteer (by id, every
column but the two timestamps), every batch (its counts and status) and every batch row (status,
reason, warning flag). Prints the row counts and a sha256 of each, to compare with the other's.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Set by the import, not by the file: they differ from one run to the next.
CLOCK_FIELDS = {"created_at", "updated_at", "applied_at", "finished_at", "started_at"}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    os.environ["DJANGO_DEBUG"] = "false"
    import django

    django.setup()
    from backend.imports.models import ImportBatch, ImportRow
    from backend.volunteers.models import Volunteer

    batch_fields = [
        f.attname
        for f in ImportBatch._meta.concrete_fields
        # The file's hash differs between two generated copies of the same sheet: its zip entries carry
        # the time they were written.
        if f.attname not in CLOCK_FIELDS and f.attname not in ("file", "report", "file_hash")
    ]
    tables = [
        (
            "volunteers",
            Volunteer.objects.order_by("pk"),
            [f.attname for f in Volunteer._meta.concrete_fields if f.attname not in CLOCK_FIELDS],
        ),
        ("batches", ImportBatch.objects.order_by("pk"), batch_fields),
        (
            "batch rows",
            ImportRow.objects.order_by("batch_id", "row_number"),
            ["batch_id", "row_number", "status", "reason", "has_warning"],
        ),
    ]
    for label, queryset, fields in tables:
        digest = hashlib.sha256()
        count = 0
        for row in queryset.values_list(*fields).iterator(chunk_size=10_000):
            digest.update(repr(row).encode())
            digest.update(b"\n")
            count += 1
        print(f"{label:<12} {count:>9,} rows  sha256 {digest.hexdigest()}")


if __name__ == "__main__":
    main()
