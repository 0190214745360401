"""Instructions to many: segment, preview (count, segments, cost, time), approval, send, live counts.

Called by the API (api/sms.py). The segment is always narrowed by the coordinator's scope through
backend.accounts.permissions.visible().
"""

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Role
from backend.accounts.permissions import role_of, visible
from backend.assignments.models import ACTIVE_STATUSES, Assignment, AssignmentRole, AssignmentStatus
from backend.core.exceptions import ApplicationError, PermissionDenied
from backend.elections.models import Area
from backend.portal.bulk import fast_insert
from backend.portal.services import magic_links_bulk
from backend.volunteers.models import Volunteer

from .errors import SmsErrorCode
from .models import Broadcast, BroadcastStatus, OutboundMessage, OutboundStatus, TemplateKind
from .services import DAY_NAMES
from .texts import render, template_validate

CHUNK = 2000
SAMPLE = 200
ROW_FIELDS = ("id", "first_name", "last_name", "phone", "user_id")


@dataclass
class Preview:
    recipients: int
    segments_per_message: int
    encoding: str
    estimated_cost: Decimal
    estimated_seconds: int
    needs_approval: bool
    warnings: list[str] = field(default_factory=list)
    sample: str = ""
    # Of the rendered sample: how many texts take more than one segment, and for which schools
    # (a long name goes whole in two segments, never cut).
    sampled: int = 0
    multi_segment: int = 0
    multi_segment_places: list[str] = field(default_factory=list)


def _require_staff(user) -> None:
    if role_of(user) not in {Role.LEAD, Role.COORDINATOR}:
        raise PermissionDenied()


def segment_clean(segment: dict | None) -> dict:
    segment = segment or {}
    clean = {}
    for key in ("areas", "places"):
        values = segment.get(key) or []
        if not isinstance(values, list) or not all(isinstance(v, int) for v in values):
            raise ApplicationError(
                _("«%(key)s» debe ser una lista de ids.") % {"key": key}, code=SmsErrorCode.BAD_SEGMENT
            )
        clean[key] = values
    for key, allowed in (("roles", AssignmentRole.values), ("statuses", AssignmentStatus.values)):
        values = segment.get(key) or []
        bad = [v for v in values if v not in allowed]
        if not isinstance(values, list) or bad:
            raise ApplicationError(
                _("Valores no válidos en «%(key)s»: %(bad)s. Válidos: %(allowed)s.")
                % {"key": key, "bad": ", ".join(map(str, bad)), "allowed": ", ".join(allowed)},
                code=SmsErrorCode.BAD_SEGMENT,
            )
        clean[key] = values
    return clean


def broadcast_recipients(*, user, election, segment: dict):
    """Volunteers of `election` in `segment`, visible to `user`, with a phone and not opted out."""
    segment = segment_clean(segment)
    assignments = Assignment.objects.filter(volunteer=OuterRef("pk"), election=election)
    assignments = assignments.filter(status__in=segment["statuses"] or ACTIVE_STATUSES)
    if segment["places"]:
        assignments = assignments.filter(place_id__in=segment["places"])
    if segment["roles"]:
        assignments = assignments.filter(role__in=segment["roles"])
    paths = list(Area.objects.filter(election=election, pk__in=segment["areas"]).values_list("path", flat=True))
    if segment["areas"] and not paths:
        return Volunteer.objects.none()
    in_areas = Q()
    for path in paths:
        in_areas |= Q(place__area__path__startswith=path)
    if paths:
        assignments = assignments.filter(in_areas)
    condition: Any
    if segment["places"] or segment["roles"] or segment["statuses"]:
        condition = Exists(assignments)
    else:
        home = Q(area__election=election)
        if paths:
            home = Q()
            for path in paths:
                home |= Q(area__election=election, area__path__startswith=path)
        condition = home | Exists(assignments)
    # Guessed numbers (unverified) get no instruction: it may carry a name, a place or a link.
    queryset = Volunteer.objects.filter(
        condition, phone__isnull=False, phone_verified=True, opted_out=False, excluded=False
    )
    return visible(user, queryset)


def _contexts(volunteers: list[dict], *, election, with_links: bool) -> list[dict]:
    """The template variables for a chunk of volunteers ordered by id (two or three queries)."""
    if not volunteers:
        return []
    # A range is much cheaper to build and run than IN (2,000 ids); rows outside the chunk are ignored.
    rows = Assignment.objects.filter(
        election=election,
        status__in=ACTIVE_STATUSES,
        volunteer_id__gte=volunteers[0]["id"],
        volunteer_id__lte=volunteers[-1]["id"],
    ).values_list("volunteer_id", "place__name", "place__address", "table__number")
    by_volunteer = {row[0]: row for row in rows}
    links = magic_links_bulk(volunteers=volunteers) if with_links else {}
    day = f"{DAY_NAMES[election.date.weekday()]} {election.date:%d/%m}"
    contexts = []
    for v in volunteers:
        a = by_volunteer.get(v["id"])
        contexts.append(
            {
                "nombre": (v["first_name"] or "").split(" ")[0],
                "escuela": a[1] if a else "",
                "direccion": a[2] if a else "",
                "mesa": (a[3] or "") if a else "",
                "link": links.get(v["id"], ""),
                "dia": day,
            }
        )
    return contexts


def _example_link() -> str:
    # Same length as a real one, so the preview counts segments right without minting tokens.
    return f"{settings.PUBLIC_BASE_URL}/{'x' * 22}"


def broadcast_preview(*, user, election, body: str, segment: dict, transliterate: bool = True) -> Preview:
    """What a send would cost and look like. Called by the composer before create/send."""
    _require_staff(user)
    template_validate(body)
    recipients = broadcast_recipients(user=user, election=election, segment=segment)
    count = recipients.count()
    sample_rows = list(recipients.order_by("pk").values(*ROW_FIELDS)[:SAMPLE])
    contexts = _contexts(sample_rows, election=election, with_links=False)
    for context in contexts:
        context["link"] = _example_link()
    rendered = [render(body, c, translit=transliterate) for c in contexts]
    multi = [(c.get("escuela") or "", r) for c, r in zip(contexts, rendered, strict=True) if r.segments > 1]
    if rendered:
        segments = max(r.segments for r in rendered)
        encoding = "UCS-2" if any(r.encoding == "UCS-2" for r in rendered) else "GSM-7"
        sample = rendered[0].body
    else:
        plain = render(body, {"link": _example_link()}, translit=transliterate)
        segments, encoding, sample = plain.segments, plain.encoding, plain.body
    cost = (Decimal(str(settings.SMS_COST_PER_SEGMENT)) * count * segments).quantize(Decimal("0.0001"))
    rate = max(float(settings.SMS_RATE_PER_SECOND), 0.001)
    seconds = math.ceil(count * segments / rate)
    warnings = []
    if seconds > settings.SMS_QUEUE_MAX_HOURS * 3600:
        warnings.append(
            _(
                "A %(rate)s segmentos por segundo, el envío tardaría %(hours).1f h: más que las ~%(max)s h que Twilio "
                "mantiene en cola. Partilo o acortá el texto."
            )
            % {"rate": settings.SMS_RATE_PER_SECOND, "hours": seconds / 3600, "max": settings.SMS_QUEUE_MAX_HOURS}
        )
    if encoding == "UCS-2":
        warnings.append(_("El texto tiene caracteres fuera de GSM-7: cada SMS lleva 70 caracteres, no 160."))
    if count == 0:
        warnings.append(_("No hay destinatarios en ese segmento."))
    return Preview(
        recipients=count,
        segments_per_message=segments,
        encoding=encoding,
        estimated_cost=cost,
        estimated_seconds=seconds,
        needs_approval=count > settings.SMS_BROADCAST_APPROVAL_THRESHOLD,
        warnings=warnings,
        sample=sample,
        sampled=len(rendered),
        multi_segment=len(multi),
        multi_segment_places=sorted({place for place, _r in multi if place})[:5],
    )


def broadcast_create(*, actor, election, body: str, segment: dict, transliterate: bool = True) -> Broadcast:
    """A draft broadcast with its preview figures; large ones wait for a lead's approval."""
    preview = broadcast_preview(user=actor, election=election, body=body, segment=segment, transliterate=transliterate)
    if preview.recipients == 0:
        raise ApplicationError(_("No hay destinatarios en ese segmento."), code=SmsErrorCode.NO_RECIPIENTS)
    return Broadcast.objects.create(
        election=election,
        created_by=actor,
        body=body,
        segment=segment_clean(segment),
        transliterate=transliterate,
        status=BroadcastStatus.PENDING_APPROVAL if preview.needs_approval else BroadcastStatus.DRAFT,
        recipient_count=preview.recipients,
        segments_per_message=preview.segments_per_message,
        estimated_cost=preview.estimated_cost,
    )


def broadcast_can_view(user, broadcast: Broadcast) -> bool:
    role = role_of(user)
    return role == Role.LEAD or (role == Role.COORDINATOR and broadcast.created_by_id == user.pk)


def broadcast_approve(*, actor, broadcast: Broadcast) -> Broadcast:
    if role_of(actor) != Role.LEAD:
        raise PermissionDenied(_("Solo un responsable puede aprobar envíos grandes."), code=SmsErrorCode.NOT_A_LEAD)
    with transaction.atomic():
        row = Broadcast.objects.select_for_update().get(pk=broadcast.pk)
        if row.status != BroadcastStatus.PENDING_APPROVAL:
            raise ApplicationError(_("Este envío no espera aprobación."), code=SmsErrorCode.ALREADY_SENT)
        row.status = BroadcastStatus.APPROVED
        row.approved_by = actor
        row.approved_at = timezone.now()
        row.save(update_fields=["status", "approved_by", "approved_at"])
    return row


def broadcast_send(*, actor, broadcast: Broadcast) -> Broadcast:
    """Render every recipient's text and queue it, in one transaction; drain tasks start after commit.

    The recipients are computed again now, with the sender's scope: people added to or removed
    from the segment since the preview are taken into account.
    """
    if not broadcast_can_view(actor, broadcast):
        raise PermissionDenied()
    with transaction.atomic():
        row = Broadcast.objects.select_for_update().get(pk=broadcast.pk)
        if row.status == BroadcastStatus.PENDING_APPROVAL:
            raise ApplicationError(_("Un responsable tiene que aprobar este envío."), code=SmsErrorCode.NEEDS_APPROVAL)
        if row.status not in {BroadcastStatus.DRAFT, BroadcastStatus.APPROVED}:
            raise ApplicationError(_("Este envío ya salió."), code=SmsErrorCode.ALREADY_SENT)
        recipients = broadcast_recipients(user=actor, election=row.election, segment=row.segment)
        total = _queue_all(row, recipients)
        row.status = BroadcastStatus.SENDING
        row.recipient_count = total
        row.queued_at = timezone.now()
        row.save(update_fields=["status", "recipient_count", "queued_at"])
        transaction.on_commit(lambda: _start_drains(row.pk))
    return row


def _queue_all(broadcast: Broadcast, recipients) -> int:
    with_links = "{link}" in broadcast.body
    total = 0
    # One read of the recipients (5 small columns): re-running the segment query per chunk makes
    # SQLite re-plan joins and sorts on every chunk.
    everyone = list(recipients.order_by("pk").values(*ROW_FIELDS))
    for start in range(0, len(everyone), CHUNK):
        chunk = everyone[start : start + CHUNK]
        contexts = _contexts(chunk, election=broadcast.election, with_links=with_links)
        messages = []
        for volunteer, context in zip(chunk, contexts, strict=True):
            rendered = render(broadcast.body, context, translit=broadcast.transliterate)
            messages.append(
                {
                    "volunteer_id": volunteer["id"],
                    "to": volunteer["phone"],
                    "body": rendered.body,
                    "kind": TemplateKind.INSTRUCTION.value,
                    "broadcast_id": broadcast.pk,
                    "segments": rendered.segments,
                    "encoding": rendered.encoding,
                }
            )
        fast_insert(OutboundMessage, messages)
        total += len(messages)
    return total


def _start_drains(broadcast_id: int) -> None:
    from .tasks import drain_outbound

    workers = max(1, int(settings.SMS_DRAIN_WORKERS))
    for k in range(workers):
        drain_outbound.delay(broadcast_id, (k, workers))


def broadcast_has_queued(*, broadcast_id: int | None) -> bool:
    queued = OutboundMessage.objects.filter(status=OutboundStatus.QUEUED)
    if broadcast_id is not None:
        queued = queued.filter(broadcast_id=broadcast_id)
    return queued.exists()


def broadcast_counts(*, broadcast: Broadcast) -> dict[str, int]:
    """Live delivery counts by status (one indexed GROUP BY)."""
    counts = dict.fromkeys(OutboundStatus.values, 0)
    for row in OutboundMessage.objects.filter(broadcast=broadcast).values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    counts["total"] = sum(counts.values())
    return counts
