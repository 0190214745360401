"""Roster import: volunteers from a messy spreadsheet, merged by DNI, never a wrong phone, never a duplicate.

Two phases. Reading (pure, outside any transaction, progress saved on the batch) turns each row
into a `Candidate` or a rejection. Applying compares the candidates with the database (one query
per kind, not per row) and, unless it is a dry run, writes everything in one transaction with
bulk operations.
"""

from __future__ import annotations

import gc
import logging
import resource
import time
from collections.abc import Callable, Iterable
from operator import itemgetter

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import override

from backend.core.bulk import insert_rows
from backend.core.exceptions import ApplicationError
from backend.core.memory import release_freed_memory
from backend.core.spreadsheets import Sheet
from backend.core.text import fold
from backend.volunteers.models import Volunteer
from backend.volunteers.services import volunteers_import_update, volunteers_indexes_deferred

from . import readers
from .models import BatchStatus, ImportBatch, RowStatus
from .roster_rows import FIELDS, PHONE_AT, Candidate, Outcome, Texts, _, read_roster, reject_candidate

logger = logging.getLogger(__name__)
QUERY_CHUNK = 5000
# The columns a roster gives, after the DNI, in the order the INSERT writes them.
VARYING = FIELDS


def chunks(items: list, size: int = QUERY_CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def mask_dni(dni: str) -> str:
    return "***" + dni[-3:]


def plan_roster(*, batch: ImportBatch, candidates: list[Candidate], outcome: Outcome, texts: Texts):
    """Phase 2: compare with the database, one query per chunk of DNIs and of phones (never per row).

    Returns (candidates to create, {id: (current, changed values)} of volunteers to update, fields
    to update). Each volunteer of the file is compared as it is read from the database: only the
    current values of the ones that change are kept.
    """
    labels = texts.labels
    existing, compared, phone_owner = _compare_existing(candidates)

    to_create: list[Candidate] = []
    changes_by_pk: dict[int, tuple[dict, dict]] = {}
    changed_fields: set[str] = set()
    for candidate in candidates:
        phone = candidate.phone  # the values as a dict are built only for the ones compared
        owner = phone_owner.get(phone) if phone else None
        if owner is not None and owner != candidate.dni:
            reject_candidate(
                candidate,
                outcome,
                texts.phone_of_other % {"phone": phone, "dni": mask_dni(owner)},
                texts,
            )
            continue
        warned = bool(candidate.warnings)
        found = compared.get(candidate.dni)
        if found is not None:
            pk, changes, current = found
            changed_fields.update(changes)
            changes_by_pk[pk] = (current, changes)
            shown = [labels[c] for c in changes if c != "votes_at_score"] or [labels["votes_at_score"]]
            reason = texts.changed % {"fields": ", ".join(shown)}
            outcome.set(candidate.row, RowStatus.UPDATED, "; ".join([reason, *candidate.warnings]), warned)
        elif candidate.dni in existing:
            outcome.set(candidate.row, RowStatus.UNCHANGED, "; ".join(candidate.warnings), warned)
        else:
            to_create.append(candidate)
            outcome.set(candidate.row, RowStatus.NEW, "; ".join(candidate.warnings), warned)
        for merged_row in candidate.merged_rows:
            outcome.statuses[merged_row] = RowStatus.MERGED
    return to_create, changes_by_pk, changed_fields


def _compare(candidate: Candidate, row: tuple) -> tuple[int, dict, dict] | None:
    """(pk, changed values, current values with the DNI) of a volunteer `row` (pk, dni, FIELDS...)
    that the file changes; None when it changes nothing."""
    values = candidate.values
    current = dict(zip(FIELDS, row[2:], strict=True))
    if values.get("phone") == current["phone"] and current["phone_verified"]:
        # The same number, already answered from: a guessed area code does not unverify it.
        values = {**values, "phone_verified": True, "phone_rule": current["phone_rule"]}
    changes = {name: value for name, value in values.items() if current[name] != value}
    if not changes:
        return None
    return row[0], changes, {"dni": row[1], **current}


def _compare_existing(
    candidates: list[Candidate],
) -> tuple[set[str], dict[str, tuple[int, dict, dict]], dict[str, str]]:
    """The DNIs of the file already in the database; those volunteers the file changes, compared with
    it (by DNI); and the owners (DNI) of the file's phones that belong to someone else.

    Only what differs is kept: re-applying a roster of 200,000 unchanged people held a comparison
    and a phone owner for each (about 60 MB). A small file asks with IN lists; a large one reads
    the table once (one query): building 100,000 IN parameters costs more than streaming the
    whole table.
    """
    by_dni = {c.dni: c for c in candidates}
    phone_of = {phone: c.dni for c in candidates if (phone := c.phone)}
    existing: set[str] = set()
    compared: dict[str, tuple[int, dict, dict]] = {}
    phone_owner: dict[str, str] = {}

    def found(row: tuple) -> None:
        candidate = by_dni.get(row[1])
        if candidate is not None:
            existing.add(candidate.dni)  # the file's own string, not the row's copy
            changed = _compare(candidate, row)
            if changed is not None:
                compared[candidate.dni] = changed

    def owned(phone: str | None, dni: str) -> None:
        if phone is not None and phone_of.get(phone, dni) != dni:
            phone_owner[phone] = dni

    if len(candidates) > QUERY_CHUNK:
        for row in _scan_volunteers():
            found(row)
            owned(row[PHONE_AT], row[1])
        return existing, compared, phone_owner
    for chunk in chunks(sorted(by_dni)):
        for row in Volunteer.objects.filter(dni__in=chunk).values_list("pk", "dni", *FIELDS):
            found(row)
    for chunk in chunks(sorted(phone_of)):
        for phone, dni in Volunteer.objects.filter(phone__in=chunk).values_list("phone", "dni"):
            owned(phone, dni)
    return existing, compared, phone_owner


def _scan_volunteers():
    """(pk, dni, *FIELDS) of every volunteer with one plain SELECT: the ORM's per-row conversion
    costs more than the query. Values compare equal to the cleaned ones (SQLite's 0/1 == False/True).

    Streamed through a server-side cursor on PostgreSQL: a plain cursor receives the whole result
    at once, in the driver's memory (the re-apply of 200,000 people peaked some 100 MB higher than on SQLite)."""
    meta = Volunteer._meta
    column_of = {f.attname: f.column for f in meta.concrete_fields}
    quote = connection.ops.quote_name
    names = ["id", "dni", *FIELDS]
    sql = "SELECT {} FROM {}".format(", ".join(quote(column_of[n]) for n in names), quote(meta.db_table))
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql)
        while rows := cursor.fetchmany(10_000):
            yield from rows


def insert_volunteers(rows: Iterable[dict], *, batch_id: int | None) -> None:
    """INSERT new volunteers, each a dict of field values with its "dni" (see `insert_candidates`)."""
    insert_candidates(((row["dni"], tuple(row), tuple(row.values())) for row in rows), batch_id=batch_id)


def insert_candidates(people: Iterable[tuple[str, tuple[str, ...], tuple]], *, batch_id: int | None) -> None:
    """INSERT the new volunteers, (dni, field names, their values) each, streamed in chunks: model
    instances cost ~50 µs each to build, which is most of a 100,000-row import, and these rows were
    validated field by field already. Each database row is built as it is written, never all at once."""
    meta = Volunteer._meta
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
        if name in VARYING or name in ("dni", "search_key"):
            defaults[name] = prepared
        else:
            constants[name] = prepared
    # A concrete field is one with a column, so the filter only narrows the type.
    column_of = {f.attname: f.column for f in meta.concrete_fields if f.column is not None}
    columns = [column_of[name] for name in ["dni", *VARYING, "search_key", *constants]]
    tail = tuple(constants.values())
    field_defaults = tuple(defaults[name] for name in VARYING)
    first_at, last_at, phone_at = VARYING.index("first_name"), VARYING.index("last_name"), VARYING.index("phone")
    # Per distinct order of a person's field names (a handful in a roster): one C-level lookup that
    # takes each field from the person's values, or its default after them.
    varying_of: dict[tuple[str, ...], Callable[[tuple], tuple]] = {}

    def getter(names: tuple[str, ...]) -> Callable[[tuple], tuple]:
        at = {name: index for index, name in enumerate(names)}
        width = len(names)
        return itemgetter(*(at.get(name, width + index) for index, name in enumerate(VARYING)))

    # Names repeat across a roster: each distinct (last name, first name) is folded once.
    folded_names: dict[tuple[str, str], str] = {}

    def database_rows():
        for dni, names, values in people:
            of = varying_of.get(names)
            if of is None:
                of = varying_of[names] = getter(names)
            row = of(values + field_defaults)
            first, last = row[first_at], row[last_at]
            name = folded_names.get((last, first))
            if name is None:
                name = folded_names[(last, first)] = fold(f"{last} {first}")
            phone = row[phone_at]
            search_key = " ".join(part for part in (name, dni, (phone or "").lstrip("+")) if part)[:400]
            yield (dni, *row, search_key, *tail)

    insert_rows(meta.db_table, columns, database_rows())


def roster_import(*, batch: ImportBatch, dry_run: bool, open_sheet: Callable[[], Sheet], finish_batch) -> ImportBatch:
    """Import the roster sheet of `batch`, opened by `open_sheet` (called by `services.batch_run`, inline
    or from the Celery task).

    A dry run writes only the batch and its rows. Applying writes volunteers, the batch and its rows
    in one transaction: all accepted rows land or none. `finish_batch` is the service that records
    the outcome on the batch (the services own the batch; this module only reads and writes rows).
    The sheet is read once and let go before the database work: only the candidates are kept.
    """
    # A large roster allocates hundreds of thousands of small objects and no reference cycles:
    # the cyclic collector would walk them again and again (a third of the time at 100,000 rows).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        clock = _Clock()
        with override(batch.language):
            texts = Texts()
            sheet = open_sheet()
            candidates, outcome, header_row = read_roster(batch=batch, sheet=sheet, texts=texts)
            del sheet  # every cell of the workbook: freed before the database work starts
            release_freed_memory()
            clock.lap("read")
            return _roster_write(
                batch=batch,
                candidates=candidates,
                outcome=outcome,
                header_row=header_row,
                texts=texts,
                dry_run=dry_run,
                finish_batch=finish_batch,
                clock=clock,
            )
    finally:
        if gc_was_enabled:
            gc.enable()
        # What the import cached stays no longer than it: the worker gives the memory back.
        readers.forget_cached_values()
        release_freed_memory()


class _Clock:
    """Seconds (wall and CPU) per phase, for the log line of each import."""

    def __init__(self):
        self.last = time.perf_counter()
        self.last_cpu = time.process_time()
        self.laps: list[tuple[str, float, float]] = []

    def lap(self, name: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        self.laps.append((name, now - self.last, cpu - self.last_cpu))
        self.last, self.last_cpu = now, cpu

    def __str__(self) -> str:
        laps = ", ".join(f"{name} {seconds:.2f} s (cpu {cpu:.2f} s)" for name, seconds, cpu in self.laps)
        return f"{laps}; peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB"


def _roster_write(
    *,
    batch: ImportBatch,
    candidates: list[Candidate],
    outcome: Outcome,
    header_row: int,
    texts: Texts,
    dry_run: bool,
    finish_batch,
    clock: _Clock,
) -> ImportBatch:
    if dry_run:
        plan_roster(batch=batch, candidates=candidates, outcome=outcome, texts=texts)
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
            to_create, to_update, fields = plan_roster(batch=batch, candidates=candidates, outcome=outcome, texts=texts)
            clock.lap("plan")
            with volunteers_indexes_deferred(rows=len(to_create)):
                insert_candidates((c.as_row() for c in to_create), batch_id=batch.pk)
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
