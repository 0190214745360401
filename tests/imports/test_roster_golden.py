"""The roster import gives exactly the results recorded before its speed-up (tests/imports/golden/).

A messy 800-row roster over the real Córdoba polling places (every cleaning rule, duplicates,
typos, guessed area codes, fuzzy places), previewed, applied, edited and applied again, in
Spanish and in English: every row's status and reason, the counts, the summary and every
volunteer's fields. Regenerate the file only when a change of behaviour is intended:
`GOLDEN_WRITE=1 pytest tests/imports/test_roster_golden.py`.
"""

import json
import os
from pathlib import Path

import pytest
from django.conf import settings
from openpyxl import Workbook

from backend.core.spreadsheets import read_rows
from backend.elections.stations import stations_import
from backend.imports.models import ImportKind
from backend.imports.roster_rows import FIELDS
from backend.imports.services import batch_create, batch_run
from backend.volunteers.models import Volunteer
from bench.roster_data import roster_rows
from tests.factories import ElectionFactory

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).parent / "golden" / "roster.json"
CORDOBA = Path(settings.BASE_DIR) / "fixtures" / "cordoba-2019-mesas.xlsx"


def _xlsx(path: Path, rows: list[list]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Fiscales")
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path.read_bytes()


def _run(election, data: bytes, *, dry_run: bool, language: str, name: str) -> dict:
    batch = batch_create(
        actor=None,
        election=election,
        kind=ImportKind.ROSTER,
        file_name=name,
        data=data,
        dry_run=dry_run,
        default_area_code="351",
        language=language,
    )
    batch = batch_run(batch=batch, dry_run=dry_run)
    return {
        "counts": [batch.created, batch.updated, batch.unchanged, batch.merged, batch.rejected, batch.warnings],
        "header_row": batch.header_row,
        "row_statuses": batch.row_statuses,
        "summary": batch.summary.split(" Es el mismo archivo")[0].split(" It is the same file")[0],
        "unused_columns": batch.details.get("unused_columns"),
        "rows": [[r.row_number, r.status, r.reason, r.has_warning] for r in batch.rows.order_by("row_number")],
    }


def _volunteers() -> list:
    fields = [f for f in FIELDS if f not in ("area_id", "votes_at_id")]
    return [
        [v["dni"], *(v[f] for f in fields), v["area__name"], v["votes_at__code"], v["search_key"]]
        for v in Volunteer.objects.order_by("dni").values("dni", *fields, "area__name", "votes_at__code", "search_key")
    ]


def _outcome(tmp_path: Path) -> dict:
    election = ElectionFactory(slug="golden", name="Golden")
    stations_import(election=election, rows=read_rows(CORDOBA))
    title, rows = roster_rows(800, seed=11, mess=8.0)
    first = _xlsx(tmp_path / "first.xlsx", title + rows)
    # The second file: other phones, places and roles for some people, a few new ones, some rows gone.
    edited = [list(r) for r in rows]
    for i, row in enumerate(edited[1:], start=1):
        if i % 7 == 0 and len(row) > 8:
            row[8] = "mesa"
        if i % 11 == 0 and len(row) > 6:
            row[6] = ""
        if i % 13 == 0 and len(row) > 3:
            row[3] = f"351 15 {5_100_000 + i}"
    _title, extra = roster_rows(60, seed=12, mess=8.0)
    edited = edited[:1] + edited[1::2] + extra[1:]
    second = _xlsx(tmp_path / "second.xlsx", title + edited)
    outcome = {
        "preview_es": _run(election, first, dry_run=True, language="es-ar", name="first.xlsx"),
        "preview_en": _run(election, first, dry_run=True, language="en", name="first.xlsx"),
        "apply": _run(election, first, dry_run=False, language="es-ar", name="first.xlsx"),
        "volunteers_after_apply": _volunteers(),
        "reapply": _run(election, first, dry_run=False, language="es-ar", name="first.xlsx"),
        "edited_en": _run(election, second, dry_run=False, language="en", name="second.xlsx"),
        "volunteers_after_edit": _volunteers(),
    }
    return json.loads(json.dumps(outcome, default=str))


def test_roster_import_results_are_the_recorded_ones(tmp_path):
    outcome = _outcome(tmp_path)

    if os.environ.get("GOLDEN_WRITE"):
        GOLDEN.write_text(json.dumps(outcome, ensure_ascii=False, indent=0, sort_keys=True) + "\n")
    expected = json.loads(GOLDEN.read_text())
    for key in expected:
        assert outcome[key] == expected[key], key


def test_roster_import_read_a_piece_at_a_time_gives_the_same_results(tmp_path, settings):
    """A large xlsx is read by calamine a piece of rows at a time (backend.core.spreadsheets): with
    pieces of a few rows, the whole golden run must give exactly the recorded results."""
    settings.IMPORT_XLSX_PIECE_BYTES = 20_000
    outcome = _outcome(tmp_path)

    expected = json.loads(GOLDEN.read_text())
    for key in expected:
        assert outcome[key] == expected[key], key
