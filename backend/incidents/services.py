"""Writes of incidents: report, take, resolve, note, recategorise, escalate. Shared by SMS, web and API.

Each service owns its transaction, writes an IncidentEvent (the audit) and, after commit, tells the
live board. The watcher who reported is told by SMS (a Notice in the same transaction) when someone
takes the incident and when it is resolved.
"""

import datetime
import hashlib
from functools import partial

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import CoordinatorScope, Role
from backend.core.exceptions import ApplicationError
from backend.core.live import board_group, live_send
from backend.core.text import clean_text
from backend.elections.models import Area, PollingPlace, Table
from backend.messaging.staff import staff_sms_queue
from backend.notices.models import NoticeKind
from backend.notices.services import notice_create
from backend.volunteers.models import Volunteer

from .categories import categories_for, category_guess
from .errors import IncidentErrorCode
from .live import incident_event, incident_event_after_commit
from .models import Incident, IncidentCategory, IncidentEvent, IncidentPhoto, IncidentStatus, Severity

# What a photo's first bytes must be for its type: a file is stored only when it is the image it claims.
IMAGE_SIGNATURES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}


def incident_photos_check(photos: list[tuple[str, bytes]]) -> None:
    """Refuse, with a clear reason, anything that is not a JPEG, PNG, GIF or WebP photo under the size limit."""
    if len(photos) > settings.SMS_MEDIA_MAX_PER_MESSAGE:
        raise ApplicationError(
            _("Hasta %(n)s fotos por incidente.") % {"n": settings.SMS_MEDIA_MAX_PER_MESSAGE},
            code=IncidentErrorCode.PHOTO_TOO_MANY,
        )
    for content_type, data in photos:
        if content_type not in IMAGE_SIGNATURES or not data.startswith(IMAGE_SIGNATURES[content_type]):
            raise ApplicationError(
                _("Solo se guardan fotos (JPG, PNG, GIF o WebP)."), code=IncidentErrorCode.PHOTO_TYPE
            )
        if len(data) > settings.SMS_MEDIA_MAX_BYTES:
            raise ApplicationError(
                _("La foto supera el tamaño máximo (%(mb)s MB).") % {"mb": settings.SMS_MEDIA_MAX_BYTES // 2**20},
                code=IncidentErrorCode.PHOTO_TOO_LARGE,
            )


def _photos_store(incident: Incident, photos: list[tuple[str, bytes]], *, actor, channel: str) -> None:
    for content_type, data in photos:
        digest = hashlib.sha256(data).hexdigest()
        extension = content_type.rsplit("/", 1)[-1].replace("jpeg", "jpg")
        photo = IncidentPhoto.objects.create(
            incident=incident,
            file=ContentFile(data, name=f"i{incident.pk}-{digest[:16]}.{extension}"),
            content_type=content_type,
            size=len(data),
            sha256=digest,
        )
        _event(incident, IncidentEvent.Kind.PHOTO, actor=actor, channel=channel, to_value=photo.pk, text=digest)


def _event(incident: Incident, kind: str, *, actor, channel: str, from_value="", to_value="", text="") -> IncidentEvent:
    return IncidentEvent.objects.create(
        incident=incident,
        kind=kind,
        actor=actor,
        channel=channel,
        from_value=str(from_value),
        to_value=str(to_value),
        text=text,
    )


def _after_commit(incident: Incident, change: str, event: dict | None = None) -> None:
    """The board event after commit: `event` when the caller built it from the rows it wrote, else
    read from the committed rows then."""
    if event is not None:
        live_send(board_group(incident.election_id), event)
        return
    live_send(board_group(incident.election_id), partial(incident_event_after_commit, incident.pk, change))


def _tell_reporter(incident: Incident, text: str) -> None:
    """A short SMS to the watcher who reported (if they are a volunteer), through the outbox."""
    volunteer = Volunteer.objects.filter(user_id=incident.reporter_id).first() if incident.reporter_id else None
    if volunteer is not None:
        notice_create(volunteer=volunteer, kind=NoticeKind.INSTRUCTION, payload={"text": text, "incident": incident.pk})


def incident_coordinators(incident: Incident, level: int) -> list:
    """Who handles a severe incident at escalation `level`: the active coordinators whose scope is the
    area `level` steps above the place's area; when nobody holds that area, the nearest area above
    that someone holds."""
    # The place's area and those above it by their materialised paths, and their coordinators, in
    # one statement: the scopes joined to their areas (it was the area, the chain, then the scopes).
    area = incident.place.area
    codes = [c for c in area.path.split("/") if c]
    paths = ["/" + "/".join(codes[: i + 1]) + "/" for i in range(len(codes))]
    by_step: dict[int, list] = {}
    for scope in CoordinatorScope.objects.filter(
        area__election_id=area.election_id,
        area__path__in=paths,
        user__is_active=True,
        user__role=Role.COORDINATOR,
    ).select_related("user", "area"):
        # How many steps above the place's area: 0 for the area itself (the chain's order, nearest first).
        step = len(codes) - len([c for c in scope.area.path.split("/") if c])
        by_step.setdefault(step, []).append(scope.user)
    for step in sorted(s for s in by_step if s >= level):
        return sorted(by_step[step], key=lambda u: u.pk)
    return []


def _alert_coordinators(incident: Incident, level: int) -> int:
    """An SMS to each coordinator who handles the severe incident at `level`, through the outbox."""
    link = settings.PUBLIC_BASE_URL + reverse("console:incident_board")
    head = _("ESCALADO nivel %(level)s, nadie lo tomó:") % {"level": level} if level else _("GRAVE:")
    text = _("%(head)s #%(id)s %(category)s en %(place)s, %(where)s: %(text)s. Tomalo en %(link)s") % {
        "head": head,
        "id": incident.pk,
        "category": incident.category.name,
        "place": incident.place.name,
        "where": _where(incident),
        "text": incident.text[:120],
        "link": link,
    }
    return sum(1 for user in incident_coordinators(incident, level) if staff_sms_queue(user=user, text=text))


def _where(incident: Incident) -> str:
    if incident.table is not None:
        return _("mesa %(number)s") % {"number": incident.table.number}
    return incident.place.name


def incident_report(
    *,
    place: PollingPlace,
    text: str,
    actor,
    channel: str,
    table: Table | None = None,
    category: IncidentCategory | None = None,
    severity: str | None = None,
    photos: list[tuple[str, bytes]] | None = None,
) -> Incident:
    """A problem at a place or table. Called by SMS PROBLEMA, the web form and the API.

    Without a category, it is guessed from the words; a weak guess is stored unconfirmed (the
    reporter is asked to confirm it). The severity defaults to the category's. `photos` are
    (content type, bytes): an MMS's or an upload's, stored with their SHA-256.
    """
    photos = photos or []
    incident_photos_check(photos)
    # Controls removed, NFC; an SMS that already arrived is kept, cut to the stored length.
    text = clean_text(text or "", max_length=2000, multiline=True, truncate=True).strip()
    if not text and photos:
        text = _("(foto)")
    if not text:
        raise ApplicationError(_("Contá qué pasó."), code=IncidentErrorCode.EMPTY_TEXT)
    if table is not None and table.place_id != place.pk:
        raise ApplicationError(
            _("La mesa %(number)s no es de %(place)s.") % {"number": table.number, "place": place.name},
            code=IncidentErrorCode.TABLE_NOT_AT_PLACE,
        )
    categories = categories_for(place.election_id)
    confirmed = True
    if category is None:
        guess = category_guess(text, categories)
        category, confirmed = guess.category, guess.confident
    elif category.election_id != place.election_id:
        raise ApplicationError(_("Esa categoría es de otra elección."), code=IncidentErrorCode.WRONG_CATEGORY)
    if severity is not None and severity not in Severity.values:
        raise ApplicationError(_("Gravedad desconocida: %(s)s.") % {"s": severity}, code="incident_wrong_severity")
    # No savepoint inside a caller's transaction (an SMS's): nothing inside raises but the database
    # or the file store, and then the caller's whole transaction rolls back anyway.
    with transaction.atomic(savepoint=False):
        incident = Incident.objects.create(
            election_id=place.election_id,
            place=place,
            table=table,
            category=category,
            category_confirmed=confirmed,
            severity=severity or category.severity,
            text=text,
            channel=channel,
            reporter=actor,
        )
        _event(incident, IncidentEvent.Kind.CREATED, actor=actor, channel=channel, to_value=category.code, text=text)
        _photos_store(incident, photos, actor=actor, channel=channel)
        if incident.severity == Severity.HIGH:
            _alert_coordinators(incident, 0)
        # Built now from what was just written (nobody owns a new incident): no read after commit.
        _after_commit(incident, "created", incident_event(incident, "created"))
    return incident


def _locked(incident: Incident) -> Incident:
    # One writer at a time per incident: two coordinators pressing "take" at once get one owner.
    return (
        Incident.objects.select_for_update(of=("self",))
        .select_related("place", "table", "category")
        .get(pk=incident.pk)
    )


def incident_take(*, incident: Incident, actor, channel: str) -> Incident:
    """A coordinator takes the incident: owner, in progress, the reporter told. Taking it again is a no-op."""
    with transaction.atomic():
        row = _locked(incident)
        if row.status == IncidentStatus.RESOLVED:
            raise ApplicationError(_("El incidente ya está resuelto."), code=IncidentErrorCode.RESOLVED)
        if row.owner_id == getattr(actor, "pk", None) and row.status == IncidentStatus.IN_PROGRESS:
            return row
        before = row.status
        row.owner = actor
        row.status = IncidentStatus.IN_PROGRESS
        row.taken_at = row.taken_at or timezone.now()
        row.save(update_fields=["owner", "status", "taken_at"])
        _event(row, IncidentEvent.Kind.TAKEN, actor=actor, channel=channel, from_value=before, to_value=row.status)
        name = (actor.get_full_name() or actor.get_username()) if actor is not None else ""
        _tell_reporter(
            row,
            _("%(name)s tomó tu problema #%(id)s (%(where)s). Te avisamos al resolverlo.")
            % {"name": name, "id": row.pk, "where": _where(row)},
        )
        _after_commit(row, "taken")
    return row


def incident_resolve(*, incident: Incident, actor, channel: str, note: str = "") -> Incident:
    """The incident is over; the reporter is told. Resolving it again is a no-op."""
    with transaction.atomic():
        row = _locked(incident)
        if row.status == IncidentStatus.RESOLVED:
            return row
        before = row.status
        row.status = IncidentStatus.RESOLVED
        row.resolved_at = timezone.now()
        row.owner = row.owner or actor
        row.save(update_fields=["status", "resolved_at", "owner"])
        _event(
            row,
            IncidentEvent.Kind.STATUS,
            actor=actor,
            channel=channel,
            from_value=before,
            to_value=row.status,
            text=(note or "").strip(),
        )
        _tell_reporter(
            row, _("Tu problema #%(id)s (%(where)s) está resuelto. Gracias.") % {"id": row.pk, "where": _where(row)}
        )
        _after_commit(row, "resolved")
    return row


def incident_note_add(*, incident: Incident, actor, channel: str, text: str) -> IncidentEvent:
    text = clean_text(text or "", max_length=2000, multiline=True).strip()
    if not text:
        raise ApplicationError(_("La nota está vacía."), code=IncidentErrorCode.EMPTY_NOTE)
    with transaction.atomic():
        row = _locked(incident)
        event = _event(row, IncidentEvent.Kind.NOTE, actor=actor, channel=channel, text=text)
        _after_commit(row, "note")
    return event


def incident_category_set(*, incident: Incident, category: IncidentCategory, actor, channel: str) -> Incident:
    """Confirm or change the category (the reporter answering the question, or a coordinator)."""
    if category.election_id != incident.election_id:
        raise ApplicationError(_("Esa categoría es de otra elección."), code=IncidentErrorCode.WRONG_CATEGORY)
    with transaction.atomic():
        row = _locked(incident)
        before = row.category.code
        row.category = category
        row.category_confirmed = True
        row.save(update_fields=["category", "category_confirmed"])
        _event(
            row, IncidentEvent.Kind.CATEGORY, actor=actor, channel=channel, from_value=before, to_value=category.code
        )
        _after_commit(row, "category")
    return row


def incidents_escalate_due(*, now: datetime.datetime | None = None) -> int:
    """Severe incidents nobody took within INCIDENT_ESCALATION_MINUTES go one area up; again after as long.

    Called by the beat task; idempotent within one period (a second run right after changes nothing).
    Returns how many incidents went up.
    """
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(minutes=settings.INCIDENT_ESCALATION_MINUTES)
    due = Incident.objects.filter(status=IncidentStatus.OPEN, severity=Severity.HIGH, created_at__lte=cutoff).exclude(
        escalated_at__gt=cutoff
    )
    moved = 0
    for incident_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            row = (
                Incident.objects.select_for_update(of=("self",))
                .select_related("place__area", "table", "category")
                .get(pk=incident_id)
            )
            if row.status != IncidentStatus.OPEN or (row.escalated_at and row.escalated_at > cutoff):
                continue  # taken or escalated meanwhile
            depth = row.place.area.depth
            if row.escalation_level >= depth:
                continue  # already at the top of the tree
            row.escalation_level += 1
            row.escalated_at = now
            row.save(update_fields=["escalation_level", "escalated_at"])
            target = _ancestor(row.place.area, row.escalation_level)
            _event(
                row,
                IncidentEvent.Kind.ESCALATED,
                actor=None,
                channel="system",
                from_value=row.escalation_level - 1,
                to_value=row.escalation_level,
                text=target.name if target else "",
            )
            _alert_coordinators(row, row.escalation_level)
            _after_commit(row, "escalated")
            moved += 1
    return moved


def _ancestor(area: Area, levels: int) -> Area | None:
    node: Area | None = area
    for _i in range(levels):
        node = node.parent if node is not None else None
    return node
