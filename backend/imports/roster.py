"""Roster import: volunteers from a messy spreadsheet, merged by DNI, never a wrong phone, never a duplicate.

Two phases. Reading (pure, outside any transaction, progress saved on the batch) turns each row
into a `Candidate` or a rejection. Applying compares the candidates with the database (one query
per kind, not per row) and, unless it is a dry run, writes everything in one transaction with
bulk operations.
"""

from __future__ import annotations

import gc
import logging
import time

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import override

from backend.core.bulk import insert_rows
from backend.core.exceptions import ApplicationError
from backend.core.spreadsheets import Sheet
from backend.volunteers.models import Volunteer, volunteer_search_key
from backend.volunteers.services import volunteers_import_update

from .models import BatchStatus, ImportBatch, RowStatus
from .roster_rows import (
    FIELDS,
    PHONE_AT,
    Candidate,
    Outcome,
    _,
    field_labels,
    read_roster,
    reject_candidate,
)

logger = logging.getLogger(__name__)
QUERY_CHUNK = 5000


def chunks(items: list, size: int = QUERY_CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def mask_dni(dni: str) -> str:
    return "***" + dni[-3:]


def plan_roster(*, batch: ImportBatch, candidates: list[Candidate], outcome: Outcome):
    """Phase 2: compare with the database, one query per chunk of DNIs and of phones (never per row).

    Returns (values of volunteers to create, {id: (current, changed values)} of volunteers to
    update, fields to update).
    """
    labels = field_labels()
    existing, phone_owner = _existing(candidates)

    to_create: list[dict] = []
    changes_by_pk: dict[int, tuple[dict, dict]] = {}
    changed_fields: set[str] = set()
    for candidate in candidates:
        values = candidate.values
        owner = phone_owner.get(values.get("phone", ""))
        if owner is not None and owner != candidate.dni:
            reject_candidate(
                candidate,
                outcome,
                _("conflicto: el celular %(phone)s ya pertenece a otro fiscal (DNI %(dni)s); no se sobrescribe")
                % {"phone": values["phone"], "dni": mask_dni(owner)},
            )
            continue
        warned = bool(candidate.warnings)
        row = existing.get(candidate.dni)
        if row is None:
            to_create.append({"dni": candidate.dni, **values})
            outcome.set(candidate.row, RowStatus.NEW, "; ".join(candidate.warnings), warned)
        else:
            current = dict(zip(FIELDS, row[2:], strict=True))
            if values.get("phone") == current["phone"] and current["phone_verified"]:
                # The same number, already answered from: a guessed area code does not unverify it.
                values = {**values, "phone_verified": True, "phone_rule": current["phone_rule"]}
            changes = [name for name, value in values.items() if current[name] != value]
            if changes:
                changed_fields.update(changes)
                changes_by_pk[row[0]] = ({"dni": row[1], **current}, {name: values[name] for name in changes})
                shown = [labels[c] for c in changes if c != "votes_at_score"] or [labels["votes_at_score"]]
                reason = _("cambió: %(fields)s") % {"fields": ", ".join(shown)}
                outcome.set(candidate.row, RowStatus.UPDATED, "; ".join([reason, *candidate.warnings]), warned)
            else:
                outcome.set(candidate.row, RowStatus.UNCHANGED, "; ".join(candidate.warnings), warned)
        for merged_row in candidate.merged_rows:
            outcome.statuses[merged_row] = RowStatus.MERGED
    return to_create, changes_by_pk, changed_fields


def _existing(candidates: list[Candidate]) -> tuple[dict[str, tuple], dict[str, str]]:
    """Volunteers of the file's DNIs (pk, dni, FIELDS...) and the owners (dni) of its phones.

    A small file asks with IN lists; a large one reads the table once (one query): building
    100,000 IN parameters costs more than streaming the whole table.
    """
    dnis = {c.dni for c in candidates}
    phones = {c.values["phone"] for c in candidates if "phone" in c.values}
    existing: dict[str, tuple] = {}
    phone_owner: dict[str, str] = {}
    if len(candidates) > QUERY_CHUNK:
        for row in _scan_volunteers():
            if row[1] in dnis:
                existing[row[1]] = row
            if row[PHONE_AT] in phones:
                phone_owner[row[PHONE_AT]] = row[1]
        return existing, phone_owner
    for chunk in chunks(sorted(dnis)):
        found = Volunteer.objects.filter(dni__in=chunk).values_list("pk", "dni", *FIELDS)
        existing.update((row[1], row) for row in found)
    for chunk in chunks(sorted(phones)):
        found_phones = Volunteer.objects.filter(phone__in=chunk).values_list("phone", "dni")
        phone_owner.update((phone, dni) for phone, dni in found_phones if phone is not None)  # never None: phone__in
    return existing, phone_owner


def _scan_volunteers():
    """(pk, dni, *FIELDS) of every volunteer with one plain SELECT: the ORM's per-row conversion
    costs more than the query. Values compare equal to the cleaned ones (SQLite's 0/1 == False/True)."""
    meta = Volunteer._meta
    column_of = {f.attname: f.column for f in meta.concrete_fields}
    quote = connection.ops.quote_name
    names = ["id", "dni", *FIELDS]
    sql = "SELECT {} FROM {}".format(", ".join(quote(column_of[n]) for n in names), quote(meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql)
        while rows := cursor.fetchmany(10_000):
            yield from rows


def insert_volunteers(rows: list[dict], *, batch_id: int) -> None:
    """INSERT the new volunteers with executemany in chunks: model instances cost ~50 µs each to build,
    which is most of a 100,000-row import, and these rows were validated field by field already."""
    if not rows:
        return
    meta = Volunteer._meta
    varying = ["dni", *FIELDS, "search_key"]
    for row in rows:
        row["search_key"] = volunteer_search_key(
            first_name=row.get("first_name", ""),
            last_name=row.get("last_name", ""),
            dni=row["dni"],
            phone=row.get("phone"),
        )
    now = timezone.now()
    defaults: dict[str, object] = {}
    constants: dict[str, object] = {}
    for model_field in meta.concrete_fields:
        if model_field.primary_key:
            continue
        name = model_field.attname
        value: object
        if name in ("created_at", "updated_at"):
            value = now
        elif name == "source_batch_id":
            value = batch_id
        else:
            value = model_field.get_default()
        prepared = model_field.get_db_prep_save(value, connection)
        if name in varying:
            defaults[name] = prepared
        else:
            constants[name] = prepared
    # A concrete field is one with a column, so the filter only narrows the type.
    column_of = {f.attname: f.column for f in meta.concrete_fields if f.column is not None}
    columns = [column_of[name] for name in [*varying, *constants]]
    tail = tuple(constants.values())
    insert_rows(meta.db_table, columns, [tuple(row.get(n, defaults[n]) for n in varying) + tail for row in rows])


def roster_import(*, batch: ImportBatch, dry_run: bool, sheet: Sheet, finish_batch) -> ImportBatch:
    """Import the roster `sheet` of `batch` (called by `services.batch_run`, inline or from the Celery task).

    A dry run writes only the batch and its rows. Applying writes volunteers, the batch and its rows
    in one transaction: all accepted rows land or none. `finish_batch` is the service that records
    the outcome on the batch (the services own the batch; this module only reads and writes rows).
    """
    # A large roster allocates hundreds of thousands of small objects and no reference cycles:
    # the cyclic collector would walk them again and again (a third of the time at 100,000 rows).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _roster_import(batch=batch, sheet=sheet, dry_run=dry_run, finish_batch=finish_batch)
    finally:
        if gc_was_enabled:
            gc.enable()


class _Clock:
    """Seconds per phase, for the log line of each import."""

    def __init__(self):
        self.start = self.last = time.perf_counter()
        self.laps: list[tuple[str, float]] = []

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps.append((name, now - self.last))
        self.last = now

    def __str__(self) -> str:
        return ", ".join(f"{name} {seconds:.2f} s" for name, seconds in self.laps)


def _roster_import(*, batch: ImportBatch, sheet: Sheet, dry_run: bool, finish_batch) -> ImportBatch:
    clock = _Clock()
    with override(batch.language):
        candidates, outcome, header_row = read_roster(batch=batch, sheet=sheet)
        clock.lap("read")
        if dry_run:
            plan_roster(batch=batch, candidates=candidates, outcome=outcome)
            clock.lap("plan")
            batch = finish_batch(batch=batch, outcome=outcome, header_row=header_row, dry_run=True)
            clock.lap("record")
            logger.info("roster batch %s dry run: %s", batch.pk, clock)
            return batch
        try:
            with transaction.atomic():
                locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
                if locked.status == BatchStatus.APPLIED:
                    raise ApplicationError(_("Este lote ya fue aplicado."), code="already_applied")
                to_create, to_update, fields = plan_roster(batch=batch, candidates=candidates, outcome=outcome)
                clock.lap("plan")
                insert_volunteers(to_create, batch_id=batch.pk)
                volunteers_import_update(
                    changes_by_pk=to_update,
                    fields=fields,
                    actor=batch.created_by,
                    batch_id=batch.pk,
                    now=timezone.now(),
                )
                clock.lap("write")
                batch = finish_batch(batch=batch, outcome=outcome, header_row=header_row, dry_run=False)
            clock.lap("record+commit")
            logger.info("roster batch %s applied: %s", batch.pk, clock)
            return batch
        except IntegrityError as exc:
            # Another import wrote the same DNI or phone between our read and our write.
            raise ApplicationError(
                _("Otro proceso modificó los mismos fiscales al mismo tiempo. Volvé a aplicar el lote."),
                code="concurrent_change",
            ) from exc
