"""Every write of a volunteer's data: edits, SMS opt-out and opt-in, a guessed phone verified or
refused, presence on the web, imports.

The console, the API, the admin, SMS keywords, the sending worker (a carrier's "unsubscribed"
answer), the portal and the roster import all call these functions, so each change of a person's
data leaves one `VolunteerEvent` with the old and the new values, whoever made it.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import CharField, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.core.emails import email_clean
from backend.core.exceptions import ApplicationError
from backend.core.phones import PhoneIssue, normalize_phone
from backend.core.text import clean_text

from .models import Availability, Channel, PhoneRule, RolesAccepted, Volunteer, VolunteerEvent, volunteer_search_key


class VolunteerErrorCode(StrEnum):
    DNI_INVALID = "dni_invalid"
    DNI_TAKEN = "dni_taken"
    PHONE_INVALID = "phone_invalid"
    PHONE_TAKEN = "phone_taken"
    NAME_REQUIRED = "name_required"
    EMAIL_INVALID = "email_invalid"
    CHOICE_INVALID = "choice_invalid"
    FIELD_NOT_EDITABLE = "field_not_editable"
    EXCLUSION_REASON_REQUIRED = "exclusion_reason_required"


# What a person's data may be changed to through `volunteer_update` (a DNI only to fix a typo, audited).
EDITABLE_FIELDS = (
    "dni",
    "first_name",
    "last_name",
    "phone",
    "email",
    "address",
    "latitude",
    "longitude",
    "area",
    "votes_at",
    "availability",
    "roles_accepted",
    "trained",
    "tags",
    "notes",
    "excluded",
    "excluded_reason",
    "channel",
)


def _actor(actor) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _stored(value: Any) -> Any:
    """A value as the audit row keeps it: model instances by id, everything JSON-friendly."""
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


def _clean_phone(raw: Any) -> str | None:
    if raw is None or not str(raw).strip():
        return None
    result = normalize_phone(raw)
    if result.e164 is None:
        if result.error == PhoneIssue.NO_AREA_CODE:
            message = _("Falta la característica (código de área) en el celular «%(raw)s».")
        elif result.error == PhoneIssue.NOT_MOBILE:
            message = _("«%(raw)s» es un teléfono fijo; hace falta un celular para recibir SMS.")
        else:
            message = _("«%(raw)s» no es un celular argentino válido (p. ej. 0351 15 500-0039).")
        raise ApplicationError(message % {"raw": raw}, code=VolunteerErrorCode.PHONE_INVALID)
    return result.e164


def _text(name: str, value: Any) -> str:
    """Typed text (console, API, admin) gets the one cleaning step imported cells get: controls out, NFC."""
    text = "" if value is None else str(value)
    bound = getattr(Volunteer._meta.get_field(name), "max_length", None) or max(len(text), 1)
    return clean_text(text, max_length=bound, multiline=name == "notes")


def _clean(volunteer: Volunteer, changes: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in EDITABLE_FIELDS:
            raise ApplicationError(
                _("El dato «%(field)s» no se puede cambiar.") % {"field": name},
                code=VolunteerErrorCode.FIELD_NOT_EDITABLE,
            )
        if name == "phone":
            value = _clean_phone(value)
        elif name == "dni":
            value = re.sub(r"\D", "", str(value or ""))
            if not 7 <= len(value) <= 8:
                raise ApplicationError(
                    _("El DNI tiene 7 u 8 dígitos (con o sin puntos)."), code=VolunteerErrorCode.DNI_INVALID
                )
            if Volunteer.objects.filter(dni=value).exclude(pk=volunteer.pk).exists():
                raise ApplicationError(
                    _("Ya hay otro fiscal con el DNI %(dni)s.") % {"dni": value}, code=VolunteerErrorCode.DNI_TAKEN
                )
        elif name in {"first_name", "last_name"}:
            value = " ".join(_text(name, value).split())
            if not value:
                raise ApplicationError(
                    _("El nombre y el apellido no pueden quedar vacíos."), code=VolunteerErrorCode.NAME_REQUIRED
                )
        elif name == "email":
            value, valid = email_clean(str(value or ""))
            if not valid:
                raise ApplicationError(
                    _("«%(email)s» no es un email válido.") % {"email": changes[name]},
                    code=VolunteerErrorCode.EMAIL_INVALID,
                )
        elif name == "availability" and value not in Availability.values:
            raise ApplicationError(
                _("Disponibilidad desconocida: «%(value)s».") % {"value": value}, code=VolunteerErrorCode.CHOICE_INVALID
            )
        elif name == "roles_accepted" and value not in RolesAccepted.values:
            raise ApplicationError(
                _("Rol desconocido: «%(value)s».") % {"value": value}, code=VolunteerErrorCode.CHOICE_INVALID
            )
        elif name == "channel" and value not in Channel.values:
            raise ApplicationError(
                _("Canal desconocido: «%(value)s» (sms, whatsapp o auto).") % {"value": value},
                code=VolunteerErrorCode.CHOICE_INVALID,
            )
        elif name in {"trained", "excluded"}:
            value = bool(value)
        elif name in {"notes", "address", "excluded_reason"}:
            value = _text(name, value).strip()
        cleaned[name] = value
    excluded = cleaned.get("excluded", volunteer.excluded)
    reason = cleaned.get("excluded_reason", volunteer.excluded_reason)
    if excluded and not reason:
        raise ApplicationError(
            _("Indicá el motivo de la exclusión."), code=VolunteerErrorCode.EXCLUSION_REASON_REQUIRED
        )
    if not excluded and "excluded" in cleaned:
        cleaned["excluded_reason"] = ""
    if "phone" in cleaned and cleaned["phone"] != volunteer.phone:
        # A number typed in full replaces one an import may have completed with a guessed area code.
        cleaned["phone_verified"] = True
        cleaned["phone_rule"] = PhoneRule.WRITTEN
    return cleaned


def volunteer_update(*, volunteer: Volunteer, actor, source: str, reason: str = "", **changes: Any) -> Volunteer:
    """Change a volunteer's data (any of EDITABLE_FIELDS) and audit old and new values.

    Called by the console's edit form, the API, and the admin. Phones are accepted in any
    Argentine notation and stored in E.164. Nothing is written when nothing changes; a bad value
    raises ApplicationError and changes nothing. Nothing is sent to the volunteer.
    """
    with transaction.atomic():
        # The row lock keeps two editors from each auditing an "old" value the other already replaced.
        current = Volunteer.objects.select_for_update().get(pk=volunteer.pk)
        cleaned = _clean(current, changes)
        diff: dict[str, list[Any]] = {}
        for name, value in cleaned.items():
            field = Volunteer._meta.get_field(name)
            attname = field.attname  # type: ignore[union-attr]  # every editable field is concrete
            old = getattr(current, attname)
            new = value.pk if hasattr(value, "pk") else value
            if old != new:
                diff[name] = [_stored(old), _stored(new)]
                setattr(current, attname, new)
        if not diff:
            return current
        if "phone" in diff and current.phone:
            owner = Volunteer.objects.filter(phone=current.phone).exclude(pk=current.pk).first()
            if owner is not None:
                raise ApplicationError(
                    _("El celular %(phone)s ya pertenece a otro fiscal.") % {"phone": current.phone},
                    code=VolunteerErrorCode.PHONE_TAKEN,
                )
        try:
            with transaction.atomic():
                current.save(update_fields=[*diff, "updated_at"])
        except IntegrityError:
            # Another edit took the phone between our check and our write.
            raise ApplicationError(
                _("El celular %(phone)s ya pertenece a otro fiscal.") % {"phone": current.phone},
                code=VolunteerErrorCode.PHONE_TAKEN,
            ) from None
        VolunteerEvent.objects.create(
            volunteer=current,
            kind=VolunteerEvent.Kind.UPDATED,
            actor=_actor(actor),
            source=source,
            changes=diff,
            reason=str(reason)[:255],
        )
    volunteer.__dict__.update({k: v for k, v in current.__dict__.items() if not k.startswith("_")})
    return current


def volunteer_create(*, actor, source: str, dni: str, **fields: Any) -> Volunteer:
    """A volunteer typed in by hand (the admin's add form); imports create theirs in bulk.

    Leaves a CREATED audit row with the values given. Nothing is sent to the person.
    """
    with transaction.atomic():
        volunteer = Volunteer(dni=dni)
        cleaned = _clean(volunteer, {k: v for k, v in fields.items() if k in EDITABLE_FIELDS and k != "dni"})
        for name, value in cleaned.items():
            setattr(volunteer, name, value)
        for name, value in fields.items():
            if name not in EDITABLE_FIELDS:
                setattr(volunteer, name, value)  # opted_out, user: set by the lead who types the person in
        try:
            with transaction.atomic():
                volunteer.save()
        except IntegrityError:
            raise ApplicationError(
                _("Ya hay un fiscal con ese DNI o ese celular."), code=VolunteerErrorCode.PHONE_TAKEN
            ) from None
        VolunteerEvent.objects.create(
            volunteer=volunteer,
            kind=VolunteerEvent.Kind.CREATED,
            actor=_actor(actor),
            source=source,
            changes={name: [None, _stored(value)] for name, value in cleaned.items()},
        )
    return volunteer


def volunteers_create_many(*, volunteers: list[Volunteer]) -> list[Volunteer]:
    """Many generated volunteers at once (the demo loader); bulk_create skips save(), so the search
    key is filled here. No audit row per person: the loader is the record, as a batch is for imports."""
    for v in volunteers:
        v.search_key = volunteer_search_key(first_name=v.first_name, last_name=v.last_name, dni=v.dni, phone=v.phone)
    return Volunteer.objects.bulk_create(volunteers, batch_size=1000)


def volunteer_changes_clean(*, volunteer: Volunteer, changes: dict[str, Any]) -> dict[str, Any]:
    """The values `volunteer_update` would store, or the ApplicationError it would raise (for forms)."""
    return _clean(volunteer, changes)


def _set_opted_out(*, volunteer_id: int, opted_out: bool, actor, source: str, reason: str) -> bool:
    with transaction.atomic():
        # Conditional UPDATE: of two STOPs at once only one changes the row and writes the audit row.
        changed = Volunteer.objects.filter(pk=volunteer_id, opted_out=not opted_out).update(
            opted_out=opted_out, updated_at=timezone.now()
        )
        if changed:
            VolunteerEvent.objects.create(
                volunteer_id=volunteer_id,
                kind=VolunteerEvent.Kind.OPTED_OUT if opted_out else VolunteerEvent.Kind.OPTED_IN,
                actor=_actor(actor),
                source=source,
                changes={"opted_out": [not opted_out, opted_out]},
                reason=str(reason)[:255],
            )
    return bool(changed)


def volunteer_opt_out(*, volunteer_id: int, actor=None, source: str, reason: str = "") -> bool:
    """No more SMS to this person until they opt in again. Called by the BAJA/STOP keyword and by the
    sending worker when the carrier says the number unsubscribed. True when it changed something."""
    return _set_opted_out(volunteer_id=volunteer_id, opted_out=True, actor=actor, source=source, reason=reason)


def volunteer_opt_in(*, volunteer_id: int, actor=None, source: str, reason: str = "") -> bool:
    """SMS may reach this person again (ALTA/START). True when it changed something."""
    return _set_opted_out(volunteer_id=volunteer_id, opted_out=False, actor=actor, source=source, reason=reason)


def volunteer_seen_on_web(*, user=None, volunteer_id: int | None = None, now: datetime.datetime | None = None) -> None:
    """The person is on the web right now (portal page, thread socket, announcement on screen).

    Presence, not data: no audit row. Announcements posted before this moment no longer go by SMS.
    """
    if volunteer_id is not None:
        Volunteer.objects.filter(pk=volunteer_id).update(last_seen_web_at=now or timezone.now())
    elif user is not None and getattr(user, "is_authenticated", False):
        Volunteer.objects.filter(user=user).update(last_seen_web_at=now or timezone.now())


def volunteer_whatsapp_seen(*, volunteer_id: int, now: datetime.datetime | None = None) -> None:
    """The volunteer wrote from WhatsApp: free text may reach them there for 24 hours.

    Presence, not data: no audit row (a change of channel is audited, through `volunteer_update`).
    """
    Volunteer.objects.filter(pk=volunteer_id).update(whatsapp_inbound_at=now or timezone.now())


def volunteer_user_link(*, volunteer: Volunteer, user) -> None:
    """Join a volunteer to their login account (created for magic links). Called by the portal."""
    volunteer.user = user
    volunteer.save(update_fields=["user", "updated_at"])


def volunteers_user_link_by_username(*, volunteer_ids: list[int], prefix: str) -> None:
    """Join each of these volunteers without an account to the user named `prefix` + their id.

    Called by the portal when a broadcast mints links for many people at once; one UPDATE, because
    bulk_update is quadratic here.
    """
    Volunteer.objects.filter(pk__in=volunteer_ids, user__isnull=True).update(
        user_id=Subquery(
            get_user_model()
            .objects.filter(username=Concat(Value(prefix), Cast(OuterRef("pk"), output_field=CharField())))
            .values("pk")[:1]
        )
    )


def volunteers_import_update(
    *, changes_by_pk: dict[int, tuple[dict, dict]], fields: set[str], actor, batch_id: int, now: datetime.datetime
) -> None:
    """Apply a roster's changes to existing volunteers, with one audit row each (old and new values).

    Called by the roster import inside its transaction. `changes_by_pk` maps a volunteer's id to
    (current values, changed values) by attribute name.
    """
    if not changes_by_pk:
        return
    to_update = []
    events = []
    for pk, (current, new) in changes_by_pk.items():
        values = {f: new.get(f, current[f]) for f in fields}
        merged = {**current, **values}
        key = volunteer_search_key(
            first_name=merged["first_name"], last_name=merged["last_name"], dni=current["dni"], phone=merged["phone"]
        )
        to_update.append(Volunteer(pk=pk, updated_at=now, search_key=key, **values))
        diff = {name.removesuffix("_id"): [_stored(current[name]), _stored(value)] for name, value in new.items()}
        events.append(
            VolunteerEvent(
                volunteer_id=pk,
                kind=VolunteerEvent.Kind.UPDATED,
                actor=_actor(actor),
                source="import",
                changes=diff,
                reason=_("planilla importada (lote %(id)s)") % {"id": batch_id},
            )
        )
    Volunteer.objects.bulk_update(to_update, [*sorted(fields), "search_key", "updated_at"], batch_size=500)
    VolunteerEvent.objects.bulk_create(events, batch_size=2000)


# A load into an empty volunteers table from which building its indexes once afterwards beats
# maintaining them row by row (measured 2026-12-03 at 200,000 rows: see `volunteers_indexes_deferred`).
BULK_LOAD_MIN_ROWS = 20_000
BULK_LOAD_LOCK_TIMEOUT = "1s"
# PostgreSQL: the foreign keys checked by one join when re-added instead of one trigger query a row
# (200,000 rows: 1.6 s of server CPU row by row, about 0.1 s re-added). Not the user's: an imported
# volunteer has none (its check returns at once), and dropping a foreign key locks the table it points
# to until the commit, which for accounts_user would stall every signed-in request.
BULK_LOAD_FOREIGN_KEYS = ("area_id", "votes_at_id", "source_batch_id")


class _NotEmpty(Exception):
    pass


@contextmanager
def volunteers_indexes_deferred(*, rows: int) -> Iterator[None]:
    """Around a bulk load of `rows` new volunteers, inside the caller's transaction (the roster import).

    When the volunteers table is empty and the load large, what the load would maintain row by row is
    dropped before it and built once after it, in the same transaction: on PostgreSQL every index but
    the primary key (the unique ones as their constraints, re-added by name) and the foreign keys of
    `BULK_LOAD_FOREIGN_KEYS`; on SQLite its plain indexes (the unique ones belong to the table). DROP
    and CREATE are part of the caller's transaction, so no one else ever sees the table without them,
    nor after an error or a crash: readers wait for the commit instead (of an empty table; on
    PostgreSQL also readers of the areas, places and batches, as dropping a foreign key locks the
    table it points to: seconds, on a deployment's first roster). When
    someone holds the table for longer than `BULK_LOAD_LOCK_TIMEOUT`, or it is not empty, the load
    keeps everything and maintains it row by row, as a small one does.
    """
    rebuild = _bulk_load_drop() if rows >= BULK_LOAD_MIN_ROWS else []
    yield
    if not rebuild:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # An index cannot be built on a table with trigger events pending (the user's foreign key):
            # they are checked now rather than at the commit (the same work, earlier).
            connection.check_constraints()
            # Sorting 200,000 keys in memory rather than in temporary files. No parallel workers: the
            # b-trees take under a second, and their CPU would not show as this import's.
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            cursor.execute("SET LOCAL max_parallel_maintenance_workers = 0")
        for sql in rebuild:
            cursor.execute(sql)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL maintenance_work_mem TO DEFAULT")
            cursor.execute("SET LOCAL max_parallel_maintenance_workers TO DEFAULT")


def _bulk_load_drop() -> list[str]:
    """Drop what `volunteers_indexes_deferred` rebuilds; returns the statements that rebuild it, in
    order (unique constraints first), or [] when the table keeps everything."""
    table = Volunteer._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
        if cursor.fetchone()[0]:
            return []
    drop_of = _postgresql_bulk_load_ddl if connection.vendor == "postgresql" else _sqlite_bulk_load_ddl
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            drops, rebuild = drop_of(cursor, table)
            if connection.vendor == "postgresql":
                # A table with trigger events pending (deferred foreign-key checks of rows written earlier in
                # the transaction) cannot be altered: they are checked now rather than at the commit.
                connection.check_constraints()
                # DROP waits for every reader of the table, and every new reader waits behind it: when
                # someone holds the table longer, the load keeps its indexes and maintains them instead.
                cursor.execute(f"SET LOCAL lock_timeout = '{BULK_LOAD_LOCK_TIMEOUT}'")
            for sql in drops:
                cursor.execute(sql)
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL lock_timeout TO DEFAULT")
            # Now that the table is locked: another process may have written a volunteer since.
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
            if cursor.fetchone()[0]:
                raise _NotEmpty  # the savepoint's rollback brings everything back and lets go of the locks
    except (_NotEmpty, OperationalError):
        return []
    return rebuild


def _postgresql_bulk_load_ddl(cursor, table: str) -> tuple[list[str], list[str]]:
    """(DROP statements, rebuild statements) from the catalog's own definitions, so that what is built
    again is what the migrations made, under the same names."""
    quote = connection.ops.quote_name
    cursor.execute(
        """
        SELECT i.relname, pg_get_indexdef(i.oid), c.conname, pg_get_constraintdef(c.oid)
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid AND c.contype = 'u'
        WHERE x.indrelid = %s::regclass AND NOT x.indisprimary
        ORDER BY c.conname IS NULL, i.relname
        """,
        [table],
    )
    indexes = cursor.fetchall()
    cursor.execute(
        """
        SELECT c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        WHERE c.conrelid = %s::regclass AND c.contype = 'f' AND a.attname = ANY(%s)
        ORDER BY c.conname
        """,
        [table, list(BULK_LOAD_FOREIGN_KEYS)],
    )
    foreign_keys = cursor.fetchall()
    drops, rebuild = [], []
    for index, index_sql, constraint, constraint_sql in indexes:
        if constraint is not None:
            drops.append(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(constraint)}")
            rebuild.append(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(constraint)} {constraint_sql}")
        else:
            drops.append(f"DROP INDEX {quote(index)}")
            rebuild.append(index_sql)
    for constraint, constraint_sql in foreign_keys:
        drops.append(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(constraint)}")
        rebuild.append(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(constraint)} {constraint_sql}")
    return drops, rebuild


def _sqlite_bulk_load_ddl(cursor, table: str) -> tuple[list[str], list[str]]:
    """The table's plain indexes (the unique ones, made by its CREATE TABLE, have no SQL of their own
    and cannot be dropped)."""
    quote = connection.ops.quote_name
    cursor.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL ORDER BY name",
        [table],
    )
    indexes = cursor.fetchall()
    return [f"DROP INDEX {quote(name)}" for name, _sql in indexes], [sql for _name, sql in indexes]


def volunteer_phone_verify(*, volunteer: Volunteer, source: str = "sms") -> Volunteer:
    """The person answered SI from a number completed with a guessed area code: it is theirs.

    Called by the inbound SMS handler; nothing else happens after commit (the reply carries the
    assignment). Leaves an audit row when it changed something.
    """
    with transaction.atomic():
        changed = Volunteer.objects.filter(pk=volunteer.pk, phone_verified=False).update(
            phone_verified=True, updated_at=timezone.now()
        )
        if changed:
            VolunteerEvent.objects.create(
                volunteer_id=volunteer.pk,
                kind=VolunteerEvent.Kind.UPDATED,
                actor_id=volunteer.user_id,
                source=source,
                changes={"phone_verified": [False, True]},
                reason=_("respondió SI desde el celular completado"),
            )
    volunteer.phone_verified = True
    return volunteer


def volunteer_phone_refuse(*, volunteer: Volunteer, source: str = "sms") -> Volunteer:
    """Whoever holds a guessed number said it is not a volunteer's: nothing more is sent to it.

    Called by the inbound SMS handler. The number stays unverified and the volunteer is opted out
    (through `volunteer_opt_out`, audited), so no text reaches that stranger; the console lists them
    for a coordinator to fix.
    """
    volunteer_opt_out(
        volunteer_id=volunteer.pk, source=source, reason=_("quien tiene el celular completado dice que no es el fiscal")
    )
    volunteer.opted_out = True
    return volunteer
