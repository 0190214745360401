"""Writes of the count: the ballot, result sheets from every door, resolutions, transcriptions.

The watcher's page and the transcription desk call `sheet_submit`, the API and SMS
`sheet_submit_to_table` (the same, the table read with its lock); it owns the checks, the
comparison with earlier sheets, the audit row, the live event and the notice that asks the watcher
back, all in one transaction.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache, partial
from typing import cast

from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backend.assignments.models import ACTIVE_STATUSES, Assignment, AssignmentRole
from backend.core.exceptions import ApplicationError
from backend.core.live import board_group, live_send
from backend.core.prepared import PreparedQuery
from backend.elections.models import Table
from backend.notices.models import NoticeKind
from backend.notices.services import notice_create

from .errors import CountErrorCode, SheetFlag
from .live import count_event, count_event_after_commit
from .models import BallotList, Category, ResultSheet, SheetEvent, SheetSource, SheetStatus, sheet_figures
from .selectors import ballot_list_for_table, category_list_for_table
from .tallies import tally_apply, tally_statement

TOTAL_FIELDS = ("blank", "null", "contested", "challenged", "voters")
PHOTO_MAX_BYTES = 8 * 1024 * 1024
PHOTO_TYPES = {b"\xff\xd8\xff": "jpg", b"\x89PNG": "png", b"RIFF": "webp"}


@dataclass
class SheetFigures:
    """What a door read from the sheet; None where the sheet did not say."""

    votes: dict[int, int | None] = field(default_factory=dict)  # ballot list id -> votes
    blank: int | None = None
    null: int | None = None
    contested: int | None = None
    challenged: int | None = None
    voters: int | None = None


@dataclass
class Flag:
    code: str
    message: str


@dataclass
class SheetResult:
    sheet: ResultSheet
    flags: list[Flag]
    missing: list[str]  # names of what the sheet did not say (lists by name, totals by label)

    @property
    def accepted(self) -> bool:
        return self.sheet.status in {SheetStatus.ACCEPTED, SheetStatus.CONFIRMS, SheetStatus.TRANSCRIBED}


FIELD_LABELS = {
    "blank": gettext_lazy("en blanco"),
    "null": gettext_lazy("nulos"),
    "contested": gettext_lazy("recurridos"),
    "challenged": gettext_lazy("impugnados"),
    "voters": gettext_lazy("votantes"),
}


def _label(name: str) -> str:
    return str(FIELD_LABELS[name])


def _check(
    *, electors: int | None, figures: SheetFigures, lists: list[BallotList], other_voters: dict[str, int]
) -> tuple[list[Flag], list[str]]:
    """The checks of one sheet: what is missing, what exceeds the electors, what does not add up."""
    flags: list[Flag] = []
    missing = [bl.name for bl in lists if figures.votes.get(bl.pk) is None]
    missing += [_label(name) for name in TOTAL_FIELDS if getattr(figures, name) is None]
    if missing:
        flags.append(Flag(SheetFlag.MISSING, _("Faltan datos: %(fields)s.") % {"fields": ", ".join(missing)}))
    list_sum = sum(v or 0 for v in figures.votes.values())
    others = sum(getattr(figures, name) or 0 for name in ("blank", "null", "contested", "challenged"))
    voters = figures.voters
    if electors is not None:
        biggest = max([voters or 0, list_sum + others])
        if biggest > electors:
            flags.append(
                Flag(
                    SheetFlag.OVER_ELECTORS,
                    _("Hay %(votes)s votos y la mesa tiene %(electors)s electores.")
                    % {"votes": biggest, "electors": electors},
                )
            )
    if voters is not None and not missing and list_sum + others != voters:
        flags.append(
            Flag(
                SheetFlag.SUM_MISMATCH,
                _("Listas + blancos + nulos + recurridos + impugnados suman %(sum)s, pero votantes dice %(voters)s.")
                % {"sum": list_sum + others, "voters": voters},
            )
        )
    if voters is not None:
        differing = {code: v for code, v in other_voters.items() if v != voters}
        if differing:
            flags.append(
                Flag(
                    SheetFlag.VOTERS_DIFFER,
                    _("Votantes %(voters)s no coincide con otras categorías de la mesa (%(others)s).")
                    % {"voters": voters, "others": ", ".join(f"{c} {v}" for c, v in sorted(differing.items()))},
                )
            )
    return flags, missing


def _validate(*, table: Table, category: Category, figures: SheetFigures) -> list[BallotList]:
    if category.election_id != table.election_id or category not in category_list_for_table(table=table):
        raise ApplicationError(
            _("La categoría %(code)s no se vota en la mesa %(number)s.")
            % {"code": category.code, "number": table.number},
            code=CountErrorCode.UNKNOWN_CATEGORY,
        )
    lists = ballot_list_for_table(table=table, category=category)
    if not lists:
        raise ApplicationError(
            _("La categoría %(code)s no tiene listas cargadas para esta mesa.") % {"code": category.code},
            code=CountErrorCode.NO_LISTS,
        )
    known = {bl.pk for bl in lists}
    unknown = [k for k in figures.votes if k not in known]
    if unknown:
        raise ApplicationError(
            _("Listas que no están en el acta de esta mesa: %(ids)s.") % {"ids": ", ".join(map(str, unknown))},
            code=CountErrorCode.UNKNOWN_LIST,
        )
    values = [*figures.votes.values(), *(getattr(figures, n) for n in TOTAL_FIELDS)]
    if any(v is not None and v < 0 for v in values):
        raise ApplicationError(_("Ningún número del acta puede ser negativo."), code=CountErrorCode.NEGATIVE)
    return lists


def photo_read(upload) -> tuple[ContentFile, str]:
    """Check an uploaded photo (JPEG, PNG or WebP, at most 8 MB) and return it with its SHA-256."""
    data = upload.read()
    if not data or len(data) > PHOTO_MAX_BYTES:
        raise ApplicationError(_("La foto está vacía o pesa más de 8 MB."), code=CountErrorCode.BAD_PHOTO)
    kind = next((ext for magic, ext in PHOTO_TYPES.items() if data.startswith(magic)), None)
    if kind is None:
        raise ApplicationError(_("La foto tiene que ser JPG, PNG o WebP."), code=CountErrorCode.BAD_PHOTO)
    digest = hashlib.sha256(data).hexdigest()
    return ContentFile(data, name=f"{digest[:16]}.{kind}"), digest


def _watchers_of(table: Table) -> list:
    return [
        a.volunteer
        for a in Assignment.objects.filter(
            table=table, role=AssignmentRole.TABLE, status__in=ACTIVE_STATUSES
        ).select_related("volunteer")
    ]


_SHEET_FIELDS = ("id", "category_id", "votes", *TOTAL_FIELDS)


@dataclass(frozen=True)
class _CurrentSheet:
    """A table's current party sheet as the comparison reads it (every sheet reads them: no model instance)."""

    id: int
    category_id: int
    votes: dict
    blank: int | None
    null: int | None
    contested: int | None
    challenged: int | None
    voters: int | None

    @property
    def pk(self) -> int:
        return self.id

    def figures(self) -> dict:
        return sheet_figures(self)


@cache
def _lock_sql(vendor: str) -> tuple[str, str]:
    """The two statements of `_table_lock`, written once per engine (hand-written: no ORM compile)."""
    q = connection.ops.quote_name
    lock = " FOR UPDATE OF t" if connection.features.has_select_for_update_of else ""
    return (
        "SELECT t.electors, a.path FROM elections_table t JOIN elections_pollingplace p ON p.id = t.place_id "
        f"JOIN elections_area a ON a.id = p.area_id WHERE t.id = %s{lock}",
        f"SELECT {', '.join(q(f) for f in _SHEET_FIELDS)} FROM count_resultsheet "
        "WHERE table_id = %s AND official = %s AND current = %s",
    )


def _table_lock(*, table_id: int) -> tuple[int | None, str, list[_CurrentSheet]]:
    """Lock the table's row for this transaction; return its electors, its place's area path and its
    current party sheets.

    Two statements on purpose: in READ COMMITTED a statement that waited for the lock still sees the
    sheets of its own snapshot, so the sheets are read by a second statement, after the lock, where
    the sheet of the transaction that held it is visible."""
    lock_sql, _sheets_sql = _lock_sql(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(lock_sql, [table_id])
        electors, area_path = cursor.fetchone()
    return electors, area_path, _current_sheets(table_id=table_id)


def _current_sheets(*, table_id: int) -> list[_CurrentSheet]:
    """The table's current party sheets, every category; to be read once the table's row is locked."""
    sheets_sql = _lock_sql(connection.vendor)[1]
    with connection.cursor() as cursor:
        cursor.execute(sheets_sql, [table_id, False, True])
        rows = cursor.fetchall()
    currents = []
    for row in rows:
        current = _CurrentSheet(*row)
        if isinstance(current.votes, str):  # JSON text (Django's drivers hand jsonb back undecoded)
            current = replace(current, votes=json.loads(current.votes))
        currents.append(current)
    return currents


# The API and SMS doors read their table with the lock (the permission and the ballot need the place
# and its area's path): one statement instead of a read and then the lock. Compiled once.
_TABLE_LOCKED = PreparedQuery(
    lambda pk: Table.objects.select_related("place__area").select_for_update(of=("self",)).filter(pk=pk)[:1], "pk"
)


_SHEET_INSERT_FIELDS = [f for f in ResultSheet._meta.concrete_fields if not f.primary_key]


def _sheet_write(*, sheet: ResultSheet, electors: int | None, note: str) -> None:
    """Write a new party sheet, the tallies when it becomes current and its audit row (a RECEIVED
    SheetEvent). On PostgreSQL one statement (data-modifying WITH clauses, hand-written: no ORM
    compile); elsewhere one statement each. The lists' figures live in the sheet's `votes` JSON only:
    a row per list (two foreign-key checks and four index entries each) cost PostgreSQL more than
    the rest of the sheet's write, for a copy nothing read but `tally_rebuild`."""
    if connection.vendor != "postgresql":
        sheet.save()
        if sheet.current:
            tally_apply(sheet=sheet, electors=electors, sign=1)
        SheetEvent.objects.create(sheet=sheet, kind=SheetEvent.Kind.RECEIVED, actor_id=sheet.actor_id, note=note)
        return
    # As the ORM's INSERT: each field's pre_save (created_at's auto_now_add) and database value.
    values = [f.get_db_prep_save(f.pre_save(sheet, True), connection) for f in _SHEET_INSERT_FIELDS]
    columns = ", ".join(connection.ops.quote_name(cast(str, f.column)) for f in _SHEET_INSERT_FIELDS)
    sql = (
        f"WITH sheet AS (INSERT INTO {ResultSheet._meta.db_table} ({columns}) "
        f"VALUES ({', '.join(['%s'] * len(values))}) RETURNING id), "
        f"audit AS (INSERT INTO {SheetEvent._meta.db_table} (sheet_id, kind, actor_id, note, created_at) "
        "SELECT id, %s, %s, %s, %s FROM sheet)"
    )
    params = [
        *values,
        SheetEvent.Kind.RECEIVED.value,
        sheet.actor_id,
        note,
        sheet.created_at,
    ]
    if sheet.current:
        tally_sql, tally_params = tally_statement(sheet=sheet, electors=electors, sign=1)
        sql += f", tallies AS ({tally_sql})"
        params += tally_params
    with connection.cursor() as cursor:
        cursor.execute(sql + " SELECT id FROM sheet", params)
        sheet.pk = cursor.fetchone()[0]
    sheet._state.adding = False


def sheet_submit(
    *,
    table: Table,
    category: Category,
    figures: SheetFigures,
    source: str,
    actor=None,
    photo=None,
    photo_sheet: ResultSheet | None = None,
) -> SheetResult:
    """Store one party sheet for `table` x `category`, checked and compared. Called by the watcher's page
    and the transcription desk (the adapter authorises through permissions); the API and the SMS command
    call `sheet_submit_to_table`.

    Nothing is lost: a sheet that fails a check is stored as flagged with its reasons and asked back
    to the table's watcher (a notice, after commit; an SMS sender gets the reasons in the reply). The
    first sheet that passes becomes the table's current figure; a later sheet that differs from it
    is stored as a conflict for a coordinator to resolve, never over it. After commit the quick
    count's board gets a `count.changed` event.
    """
    lists = _validate(table=table, category=category, figures=figures)
    photo_file, digest = photo_read(photo) if photo is not None else (None, "")
    # No savepoint inside a caller's transaction (the SMS webhook's): every error a door answers
    # (ApplicationError) is raised above, so nothing here is caught and the caller's work kept apart.
    with transaction.atomic(savepoint=False):
        # One table's sheets are compared one after the other: the watcher's SMS and the fiscal
        # general's web form must each see the other's row. Only the table's row is locked (not its
        # place's nor its area's, which every other table of the area shares).
        electors, area_path, currents = _table_lock(table_id=table.pk)
        return _sheet_store(
            table=table,
            category=category,
            lists=lists,
            figures=figures,
            electors=electors,
            area_path=area_path,
            currents=currents,
            source=source,
            actor=actor,
            photo_file=photo_file,
            digest=digest,
            photo_sheet=photo_sheet,
        )


def sheet_submit_to_table(
    *, table_id: int, admit: Callable[[Table], tuple[Category, SheetFigures]], source: str, actor, photo=None
) -> SheetResult:
    """`sheet_submit` for a door that has only the table's id (the API, the SMS command): the table is
    read with its lock, in one statement, and handed to `admit`, the adapter's part: it authorises
    (raising PermissionDenied or another ApplicationError) and returns the sheet's category and
    figures (an SMS's lists come in the table's sheet order). Raises Table.DoesNotExist.

    No savepoint inside a caller's transaction (the SMS webhook's): a refusal leaves the block
    before it is raised, so the caller's transaction goes on (nothing was written)."""
    refusal: ApplicationError | Table.DoesNotExist
    with transaction.atomic(savepoint=False):
        table = next(iter(_TABLE_LOCKED.objects(pk=table_id)), None)
        if table is None:
            refusal = Table.DoesNotExist()
        else:
            try:
                category, figures = admit(table)
                lists = _validate(table=table, category=category, figures=figures)
                photo_file, digest = photo_read(photo) if photo is not None else (None, "")
            except ApplicationError as exc:
                refusal = exc
            else:
                return _sheet_store(
                    table=table,
                    category=category,
                    lists=lists,
                    figures=figures,
                    electors=table.electors,
                    area_path=table.place.area.path,
                    currents=_current_sheets(table_id=table.pk),
                    source=source,
                    actor=actor,
                    photo_file=photo_file,
                    digest=digest,
                    photo_sheet=None,
                )
    raise refusal


def _sheet_store(
    *,
    table: Table,
    category: Category,
    lists: list[BallotList],
    figures: SheetFigures,
    electors: int | None,
    area_path: str,
    currents: list[_CurrentSheet],
    source: str,
    actor,
    photo_file: ContentFile | None,
    digest: str,
    photo_sheet: ResultSheet | None,
) -> SheetResult:
    """The sheet checked, compared with the table's current sheets and written; the table's row is locked."""
    codes = {c.pk: c.code for c in category_list_for_table(table=table)}
    # The table's current party sheets, every category at once: this category's is compared,
    # the others' voters must match.
    current = None
    other_voters = {}
    for other in currents:
        if other.category_id == category.pk:
            current = other
        elif other.voters is not None:
            other_voters[codes.get(other.category_id, str(other.category_id))] = other.voters
    flags, missing = _check(electors=electors, figures=figures, lists=lists, other_voters=other_voters)
    sheet = ResultSheet(
        election_id=table.election_id,
        table=table,
        category=category,
        source=source,
        area_path=area_path,
        votes={str(k): v for k, v in figures.votes.items() if v is not None},
        actor=actor,
        photo_sheet=photo_sheet,
        photo_sha256=digest,
        **{name: getattr(figures, name) for name in TOTAL_FIELDS},
    )
    if flags:
        sheet.status = SheetStatus.FLAGGED
    elif current is None:
        sheet.status = SheetStatus.TRANSCRIBED if source == SheetSource.TRANSCRIPTION else SheetStatus.ACCEPTED
        sheet.current = True
    elif current.figures() == sheet.figures():
        sheet.status = SheetStatus.CONFIRMS
    else:
        sheet.status = SheetStatus.CONFLICT
        flags.append(
            Flag(
                SheetFlag.DIFFERS_FROM_EARLIER,
                _("Difiere del acta recibida antes (#%(id)s); la revisa coordinación.") % {"id": current.pk},
            )
        )
    sheet.flags = [{"code": f.code, "message": f.message} for f in flags]
    if photo_file is not None:
        sheet.photo.save(str(photo_file.name), photo_file, save=False)
    _sheet_write(sheet=sheet, electors=electors, note="; ".join(f.code for f in flags)[:300])
    if flags and source != SheetSource.SMS:
        _ask_back(table=table, category=category, flags=flags)
    # Built now from the row just written: no re-read after commit.
    live_send(board_group(table.election_id), count_event(sheet, table_number=table.number))
    return SheetResult(sheet=sheet, flags=flags, missing=missing)


def _ask_back(*, table: Table, category: Category, flags: list[Flag]) -> None:
    """Ask the table's watcher to check the sheet again (through the notices outbox)."""
    text = _("revisá el acta de la mesa %(number)s (%(code)s): %(reasons)s") % {
        "number": table.number,
        "code": category.code,
        "reasons": " ".join(f.message for f in flags),
    }
    for volunteer in _watchers_of(table):
        notice_create(volunteer=volunteer, kind=NoticeKind.SHEET_ASKED_BACK, payload={"text": text[:300]})


def sheet_photo_submit(*, table: Table, category: Category, photo, source: str, actor=None) -> ResultSheet:
    """A photo without figures (an MMS, an upload): stored and queued for double-entry transcription."""
    if category.election_id != table.election_id:
        raise ApplicationError(_("La categoría no es de esta elección."), code=CountErrorCode.UNKNOWN_CATEGORY)
    photo_file, digest = photo_read(photo)
    with transaction.atomic():
        sheet = ResultSheet(
            election_id=table.election_id,
            table=table,
            category=category,
            source=source,
            status=SheetStatus.PHOTO_ONLY,
            area_path=table.place.area.path,
            actor=actor,
            photo_sha256=digest,
        )
        sheet.photo.save(str(photo_file.name), photo_file, save=False)
        sheet.save()
        SheetEvent.objects.create(sheet=sheet, kind=SheetEvent.Kind.RECEIVED, actor=actor, note="photo_only")
        live_send(board_group(table.election_id), partial(count_event_after_commit, sheet.pk))
    return sheet


def sheet_resolve(*, sheet: ResultSheet, actor, note: str, ask_back: bool = False) -> ResultSheet:
    """A coordinator chooses which sheet stands for a table and category, seen against the photos
    (the API and the console's conflicts page; the adapter authorises through permissions).

    `sheet` is a conflict or flagged sheet (it becomes the table's figure), or the current sheet
    itself while conflicts wait (it stays). Either way the other differing sheets of that table and
    category are set aside, never deleted; every one gets an audit row with the reason. `ask_back`
    sends the table's watcher the reason (a notice, after commit). After commit, `count.changed`.
    """
    if not note.strip():
        raise ApplicationError(_("Resolver un acta necesita un motivo."), code=CountErrorCode.NOTHING_TO_RESOLVE)
    if sheet.official or sheet.status in {SheetStatus.PHOTO_ONLY, SheetStatus.ENTRY, SheetStatus.SET_ASIDE}:
        raise ApplicationError(_("No hay nada que resolver en esta acta."), code=CountErrorCode.NOTHING_TO_RESOLVE)
    note = note.strip()[:300]
    with transaction.atomic():
        table = Table.objects.select_for_update().select_related("place__area").get(pk=sheet.table_id)
        sheet = ResultSheet.objects.select_related("category").get(pk=sheet.pk)
        waiting = ResultSheet.objects.filter(
            table_id=sheet.table_id,
            category_id=sheet.category_id,
            official=False,
            current=False,
            status=SheetStatus.CONFLICT,
        ).exclude(pk=sheet.pk)
        set_aside = list(waiting.values_list("pk", flat=True))
        if sheet.current and not set_aside:
            raise ApplicationError(_("No hay nada que resolver en esta acta."), code=CountErrorCode.NOTHING_TO_RESOLVE)
        if not sheet.current:
            for previous in ResultSheet.objects.filter(
                table_id=sheet.table_id, category_id=sheet.category_id, official=False, current=True
            ):
                previous.current = False
                previous.save(update_fields=["current"])
                tally_apply(sheet=previous, electors=table.electors, sign=-1)
            sheet.current = True
            sheet.save(update_fields=["current"])
            tally_apply(sheet=sheet, electors=table.electors, sign=1)
        ResultSheet.objects.filter(pk__in=set_aside).update(status=SheetStatus.SET_ASIDE)
        SheetEvent.objects.bulk_create(
            [SheetEvent(sheet=sheet, kind=SheetEvent.Kind.RESOLVED, actor=actor, note=note)]
            + [
                SheetEvent(sheet_id=pk, kind=SheetEvent.Kind.RESOLVED, actor=actor, note=f"set_aside: {note}"[:300])
                for pk in set_aside
            ]
        )
        if ask_back:
            _ask_back(table=table, category=sheet.category, flags=[Flag("resolved", note)])
        live_send(board_group(sheet.election_id), partial(count_event_after_commit, sheet.pk))
    return sheet


def _entry_figures(sheet: ResultSheet) -> dict:
    return sheet.figures()


def transcription_enter(*, photo_sheet: ResultSheet, figures: SheetFigures, actor) -> str:
    """One person's typing of a photo-only sheet (the transcription desk; the adapter authorises).

    Double entry: two entries from different people that match make the table's sheet (through
    `sheet_submit`, so it is checked and compared like any other); the watcher's own typed sheet
    of that table and category counts as one entry. A mismatch leaves the photo in the queue for a
    third person. Returns what to tell the person.
    """
    table = Table.objects.select_related("place__area").get(pk=photo_sheet.table_id)
    _validate(table=table, category=photo_sheet.category, figures=figures)
    with transaction.atomic():
        photo_sheet = ResultSheet.objects.select_for_update().get(pk=photo_sheet.pk)
        if photo_sheet.status != SheetStatus.PHOTO_ONLY:
            raise ApplicationError(_("Esta foto ya fue transcripta."), code=CountErrorCode.NOT_PENDING)
        entries = list(ResultSheet.objects.filter(photo_sheet=photo_sheet, status=SheetStatus.ENTRY).order_by("id"))
        if any(e.actor_id == getattr(actor, "pk", None) for e in entries):
            raise ApplicationError(
                _("Ya cargaste esta acta: la tiene que cargar otra persona."), code=CountErrorCode.SAME_PERSON
            )
        entry = ResultSheet.objects.create(
            election_id=table.election_id,
            table=table,
            category=photo_sheet.category,
            source=SheetSource.TRANSCRIPTION,
            status=SheetStatus.ENTRY,
            area_path=table.place.area.path,
            votes={str(k): v for k, v in figures.votes.items() if v is not None},
            actor=actor,
            photo_sheet=photo_sheet,
            **{name: getattr(figures, name) for name in TOTAL_FIELDS},
        )
        SheetEvent.objects.create(sheet=entry, kind=SheetEvent.Kind.RECEIVED, actor=actor, note="entry")
        watcher_sheet = (
            ResultSheet.objects.filter(
                table=table,
                category=photo_sheet.category,
                official=False,
                source__in=[SheetSource.WEB, SheetSource.SMS],
            )
            .exclude(status=SheetStatus.PHOTO_ONLY)
            .order_by("-id")
            .first()
        )
        others = [e for e in entries if e.actor_id != entry.actor_id]
        if watcher_sheet is not None and watcher_sheet.actor_id != entry.actor_id:
            others.append(watcher_sheet)
        match = next((o for o in others if _entry_figures(o) == _entry_figures(entry)), None)
        if match is None:
            if entries:
                return str(_("No coincide con la otra carga: la va a cargar una tercera persona."))
            return str(_("Carga guardada: falta una segunda carga de otra persona."))
        agreed = sheet_submit(
            table=table,
            category=photo_sheet.category,
            figures=figures,
            source=SheetSource.TRANSCRIPTION,
            actor=actor,
            photo_sheet=photo_sheet,
        )
        ResultSheet.objects.filter(pk=agreed.sheet.pk).update(
            photo=photo_sheet.photo.name, photo_sha256=photo_sheet.photo_sha256
        )
        photo_sheet.status = SheetStatus.TRANSCRIBED
        photo_sheet.save(update_fields=["status"])
        disagreed = [e.pk for e in entries if _entry_figures(e) != _entry_figures(entry)]
        ResultSheet.objects.filter(pk__in=disagreed).update(
            flags=[{"code": "disagreed", "message": str(_("No coincidió con la carga acordada."))}]
        )
        SheetEvent.objects.create(
            sheet=agreed.sheet, kind=SheetEvent.Kind.AGREED, actor=actor, note=f"entries {match.pk} {entry.pk}"
        )
    if agreed.accepted:
        return str(_("Coincide con otra carga: el acta quedó aceptada."))
    return str(
        _("Coincide con otra carga, pero el acta tiene observaciones: %(r)s")
        % {"r": " ".join(f.message for f in agreed.flags)}
    )
