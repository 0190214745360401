"""Instructions to many: preview, create (the audience is fixed then), approve, send, cancel, finish.

Called by the API (api/sms.py), the console (backend/console/views/instructions.py), the admin
actions (backend/messaging/admin.py) and the tasks (sms/tasks.py). Every rule lives here, so every door behaves
the same:

- The audience is computed once, at creation, from the creator's scope (the permission module's
  `visible()`) and the segment, and stored as BroadcastRecipient rows; count and cost are stored
  with it. Approval approves that row; a send never recomputes the audience with the sender's
  scope. People who since left (opted out, unassigned, excluded) are not sent to, and when they
  are more than SMS_BROADCAST_AUDIENCE_TOLERANCE the send asks to confirm the new count.
- Nobody gets an empty {variable}: the preview counts who lacks each value, create refuses such an
  audience unless the segment is narrowed to people with every value (`complete_only`), and the
  queueing task skips anyone who lost a value since.
- Lifecycle: draft | pending_approval -> approved -> sending -> done; cancel from any state but
  done. A send only marks the broadcast and queues a task after commit; the task renders and
  stores the messages; `done` comes when every message has a final status.
"""

import math
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from backend.accounts.models import Role
from backend.accounts.services import magic_links_bulk
from backend.assignments.models import ACTIVE_STATUSES, Assignment, AssignmentRole, AssignmentStatus
from backend.core.bulk import bulk_insert
from backend.core.exceptions import ApplicationError, PermissionDenied
from backend.core.jobs import task_queue
from backend.core.money import money_format
from backend.elections.models import Area
from backend.permissions import Action, can, role_of, visible
from backend.volunteers.models import Volunteer

from . import channels
from .errors import SmsErrorCode
from .models import (
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    OutboundMessage,
    OutboundStatus,
    TemplateKind,
)
from .selectors import queued_segments
from .senders import sender_pool
from .texts import BROADCAST_VARS, DAY_NAMES, PLACEHOLDER, render, template_validate

CHUNK = 2000
SAMPLE = 200
ROW_FIELDS = ("id", "first_name", "last_name", "phone", "user_id", "channel", "whatsapp_inbound_at")
# Messages that have not reached a final status yet: while one is left, the broadcast is sending.
NOT_FINAL = (OutboundStatus.QUEUED, OutboundStatus.SENDING, OutboundStatus.SENT)


@dataclass
class QueueTime:
    """How long a send takes through the sender pool, behind what is already queued, against Twilio's limit.

    Twilio drops what waits in its queue more than SMS_QUEUE_MAX_HOURS (10 h): a send whose last
    segment would leave later is refused; it fits in `waves` sends of `wave_recipients` people.
    """

    segments: int  # of this send
    ahead: int  # segments already queued, sent first
    capacity: float  # segments per second of the whole pool
    pool: str  # "5 long_code (5 segm/s)"
    limit_seconds: int
    recipients: int

    @property
    def seconds(self) -> int:
        """Until this send's last segment leaves."""
        return math.ceil((self.ahead + self.segments) / self.capacity)

    @property
    def fits(self) -> bool:
        return self.seconds <= self.limit_seconds

    @property
    def wave_recipients(self) -> int:
        """About the most people one send can reach within the limit, with an empty queue."""
        per_person = self.segments / self.recipients if self.recipients else 1.0
        return max(1, math.floor(self.capacity * self.limit_seconds / max(per_person, 1.0)))

    @property
    def waves(self) -> int:
        return max(1, math.ceil(self.recipients / self.wave_recipients))

    def refusal(self) -> str:
        hours = self.seconds / 3600
        values = {
            "hours": hours,
            "pool": self.pool,
            "max": f"{self.limit_seconds / 3600:g}",
            "waves": self.waves,
            "size": self.wave_recipients,
        }
        if self.ahead and self.ahead / self.capacity > self.limit_seconds:
            return (
                _(
                    "Con lo que ya está en cola, los remitentes (%(pool)s) tardarían %(hours).1f h en mandarlo: "
                    "más que las %(max)s h que Twilio mantiene un mensaje en cola. Esperá a que baje la cola."
                )
                % values
            )
        return (
            _(
                "Los remitentes (%(pool)s) tardarían %(hours).1f h en mandarlo: más que las %(max)s h que "
                "Twilio mantiene un mensaje en cola, así que muchos no llegarían. Partilo en %(waves)s tandas "
                "de hasta %(size)s destinatarios (por zona o por rol), una cada %(max)s h, o acortá el texto."
            )
            % values
        )


def broadcast_queue_time(*, segments: int, recipients: int) -> QueueTime:
    """The one rule on sending time, used by the preview, create, approval and send."""
    pool = sender_pool()
    return QueueTime(
        segments=segments,
        ahead=queued_segments(),
        capacity=pool.capacity,
        pool=pool.describe(),
        limit_seconds=int(float(settings.SMS_QUEUE_MAX_HOURS) * 3600),
        recipients=recipients,
    )


def _require_fits_queue(queue_time: QueueTime) -> None:
    if not queue_time.fits:
        raise ApplicationError(
            queue_time.refusal(),
            code=SmsErrorCode.QUEUE_LIMIT,
            extra={
                "estimated_seconds": queue_time.seconds,
                "limit_seconds": queue_time.limit_seconds,
                "waves": queue_time.waves,
                "wave_recipients": queue_time.wave_recipients,
            },
        )


@dataclass
class Preview:
    recipients: int
    segments_per_message: int
    encoding: str
    estimated_cost: Decimal
    currency: str
    # Until the last segment leaves the sender pool, behind what is already queued.
    estimated_seconds: int
    needs_approval: bool
    # Every message's segments (the sample's mean times the audience when it is larger than the sample).
    total_segments: int = 0
    queued_ahead_segments: int = 0
    pool_capacity: float = 0.0
    pool: str = ""
    # Past Twilio's queue limit: create refuses; `waves` sends of `wave_recipients` people would fit.
    exceeds_queue_limit: bool = False
    waves: int = 1
    wave_recipients: int = 0
    warnings: list[str] = field(default_factory=list)
    sample: str = ""
    # Of the rendered sample: how many texts take more than one segment, and for which schools
    # (a long name goes whole in two segments, never cut).
    sampled: int = 0
    multi_segment: int = 0
    multi_segment_places: list[str] = field(default_factory=list)
    # {variable: recipients without a value for it}; only variables the text uses.
    missing: dict[str, int] = field(default_factory=dict)
    # Recipients with a value for every variable of the text: the audience once narrowed.
    complete_recipients: int = 0
    # The lines of `warnings` about missing values, and the others.
    missing_warnings: list[str] = field(default_factory=list)
    other_warnings: list[str] = field(default_factory=list)
    # Per channel (backend.messaging.channels): who gets it by SMS and by WhatsApp, and what each costs.
    sms_recipients: int = 0
    whatsapp_recipients: int = 0
    sms_cost: Decimal = Decimal(0)
    whatsapp_cost: Decimal = Decimal(0)

    @property
    def sms_cost_display(self) -> str:
        return money_format(self.sms_cost, self.currency)

    @property
    def whatsapp_cost_display(self) -> str:
        return money_format(self.whatsapp_cost, self.currency)

    @property
    def estimated_cost_display(self) -> str:
        return money_format(self.estimated_cost, self.currency)

    @property
    def has_missing(self) -> bool:
        return any(self.missing.values())


@dataclass
class Audience:
    """A stored audience now: who of the people fixed at creation can still receive the text."""

    recipients: int
    reachable: int
    opted_out: int
    no_phone: int
    excluded: int
    # Unassigned since, or otherwise without a value the text needs.
    missing_values: int
    # Deleted from the roster.
    removed: int

    @property
    def dropped(self) -> int:
        return self.recipients - self.reachable

    def reasons(self) -> str:
        """ "3 se dieron de baja, 2 ya no tienen los datos del texto": why people left the audience."""
        parts = []
        if self.opted_out:
            parts.append(ngettext("%(n)s se dio de baja", "%(n)s se dieron de baja", self.opted_out))
        if self.missing_values:
            parts.append(
                ngettext(
                    "%(n)s ya no tiene los datos del texto",
                    "%(n)s ya no tienen los datos del texto",
                    self.missing_values,
                )
            )
        if self.no_phone:
            parts.append(ngettext("%(n)s sin celular", "%(n)s sin celular", self.no_phone))
        if self.excluded:
            parts.append(ngettext("%(n)s excluido", "%(n)s excluidos", self.excluded))
        if self.removed:
            parts.append(ngettext("%(n)s borrado del padrón", "%(n)s borrados del padrón", self.removed))
        counts = [self.opted_out, self.missing_values, self.no_phone, self.excluded, self.removed]
        return ", ".join(part % {"n": n} for part, n in zip(parts, [c for c in counts if c], strict=True))


# --- The audience ----------------------------------------------------------------------------------


def segment_clean(segment: dict | None) -> dict:
    segment = segment or {}
    clean: dict[str, Any] = {}
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
    clean["complete_only"] = bool(segment.get("complete_only"))
    return clean


def _used_variables(body: str) -> list[str]:
    return [name for name in dict.fromkeys(PLACEHOLDER.findall(body or "")) if name in BROADCAST_VARS]


def _value_conditions(*, election, body: str) -> dict[str, Any]:
    """For each variable of `body` that can be empty, the condition on Volunteer that it has a value.

    The same values `_contexts` renders: name, and the place and table of the active assignment.
    {link} always has a value (links are minted for everyone).
    """
    active = Assignment.objects.filter(volunteer=OuterRef("pk"), election=election, status__in=ACTIVE_STATUSES)
    conditions = {
        "nombre": ~Q(first_name=""),
        "escuela": Q(Exists(active.exclude(place__name=""))),
        "direccion": Q(Exists(active.exclude(place__address=""))),
        "mesa": Q(Exists(active.filter(table__isnull=False))),
    }
    return {name: conditions[name] for name in _used_variables(body) if name in conditions}


def _complete_condition(*, election, body: str) -> Q:
    """Every variable of `body` has a value: the conditions above with one EXISTS for the assignment's.

    One correlated subquery instead of three keeps a 100,000-person audience one cheap query.
    """
    used = set(_used_variables(body))
    condition = ~Q(first_name="") if "nombre" in used else Q()
    if used & {"escuela", "direccion", "mesa"}:
        active = Assignment.objects.filter(volunteer=OuterRef("pk"), election=election, status__in=ACTIVE_STATUSES)
        if "escuela" in used:
            active = active.exclude(place__name="")
        if "direccion" in used:
            active = active.exclude(place__address="")
        if "mesa" in used:
            active = active.filter(table__isnull=False)
        condition &= Q(Exists(active))
    return condition


def broadcast_recipients(*, user, election, segment: dict, body: str = "") -> QuerySet[Volunteer]:
    """Volunteers of `election` in `segment`, visible to `user`, with a phone and not opted out.

    With `complete_only`, only those with a value for every variable of `body`.
    """
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
    if segment["complete_only"]:
        queryset = queryset.filter(_complete_condition(election=election, body=body))
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


def _lacks_a_value(context: dict, used: list[str]) -> bool:
    return any(not str(context.get(name, "")).strip() for name in used)


def _example_link() -> str:
    # Same length as a real one, so the preview counts segments right without minting tokens.
    return f"{settings.PUBLIC_BASE_URL}/{'x' * 22}"


def _placeholder(name: str) -> str:
    return "{" + name + "}"


def _require_staff(user) -> None:
    if role_of(user) not in {Role.LEAD, Role.COORDINATOR}:
        raise PermissionDenied()


def _estimate(*, election, body: str, segment: dict, transliterate: bool, recipients: QuerySet, count: int) -> Preview:
    """Segments, cost, time, missing values and a sample for `count` people of `recipients`."""
    conditions = _value_conditions(election=election, body=body)
    missing: dict[str, int] = {}
    complete = recipients
    if conditions:
        complete = recipients.filter(_complete_condition(election=election, body=body))
    if conditions and not segment["complete_only"] and count:
        missing = {name: recipients.exclude(condition).count() for name, condition in conditions.items()}
        complete_count = complete.count()
    else:
        complete_count = count
    # The sample and the segment count come from people who would really get the text.
    sample_rows = list(complete.order_by("pk").values(*ROW_FIELDS)[:SAMPLE])
    contexts = _contexts(sample_rows, election=election, with_links=False)
    for context in contexts:
        context["link"] = _example_link()
    rendered = [render(body, c, translit=transliterate) for c in contexts]
    multi = [(c.get("escuela") or "", r) for c, r in zip(contexts, rendered, strict=True) if r.segments > 1]
    if rendered:
        segments = max(r.segments for r in rendered)
        encoding = "UCS-2" if any(r.encoding == "UCS-2" for r in rendered) else "GSM-7"
        sample = rendered[0].body
        # Mixed encodings and lengths: the sample's own mix, exact when it is the whole audience.
        total_segments = math.ceil(sum(r.segments for r in rendered) * count / len(rendered))
    else:
        plain = render(body, {"link": _example_link()}, translit=transliterate)
        segments, encoding = plain.segments, plain.encoding
        total_segments = segments * count
        # A text whose variables nobody can fill has no honest sample.
        sample = "" if conditions else plain.body
    currency = settings.SMS_CURRENCY
    whatsapp_count = recipients.filter(channels.whatsapp_q(kind=TemplateKind.INSTRUCTION)).count() if count else 0
    sms_count = count - whatsapp_count
    # The SMS pool carries only the SMS share; WhatsApp has its own lane. Time and cost both come
    # from the sample's mix of lengths (Twilio bills each segment), not from the longest text.
    sms_segments = math.ceil(total_segments * sms_count / count) if count else 0
    sms_cost = (Decimal(str(settings.SMS_COST_PER_SEGMENT)) * sms_segments).quantize(Decimal("0.0001"))
    whatsapp_cost = (Decimal(str(settings.WHATSAPP_COST_PER_MESSAGE)) * whatsapp_count).quantize(Decimal("0.0001"))
    cost = sms_cost + whatsapp_cost
    queue_time = broadcast_queue_time(segments=sms_segments, recipients=sms_count)
    missing_warnings = []
    for name, lacking in missing.items():
        if lacking:
            missing_warnings.append(
                ngettext(
                    "%(n)s de %(total)s destinatarios no tiene valor para %(var)s.",
                    "%(n)s de %(total)s destinatarios no tienen valor para %(var)s.",
                    lacking,
                )
                % {"n": lacking, "total": count, "var": _placeholder(name)}
            )
    warnings = []
    if not queue_time.fits:
        warnings.append(queue_time.refusal())
    if encoding == "UCS-2":
        warnings.append(_("El texto tiene caracteres fuera de GSM-7: cada SMS lleva 70 caracteres, no 160."))
    if count == 0:
        warnings.append(_("No hay destinatarios en ese segmento."))
    return Preview(
        recipients=count,
        segments_per_message=segments,
        encoding=encoding,
        estimated_cost=cost,
        currency=currency,
        estimated_seconds=queue_time.seconds,
        needs_approval=count > settings.SMS_BROADCAST_APPROVAL_THRESHOLD,
        total_segments=total_segments,
        queued_ahead_segments=queue_time.ahead,
        pool_capacity=queue_time.capacity,
        pool=queue_time.pool,
        exceeds_queue_limit=not queue_time.fits,
        waves=queue_time.waves,
        wave_recipients=queue_time.wave_recipients,
        warnings=missing_warnings + warnings,
        sample=sample,
        sampled=len(rendered),
        multi_segment=len(multi),
        multi_segment_places=sorted({place for place, _r in multi if place})[:5],
        missing=missing,
        complete_recipients=complete_count,
        missing_warnings=missing_warnings,
        other_warnings=warnings,
        sms_recipients=sms_count,
        whatsapp_recipients=whatsapp_count,
        sms_cost=sms_cost,
        whatsapp_cost=whatsapp_cost,
    )


def broadcast_preview(*, user, election, body: str, segment: dict, transliterate: bool = True) -> Preview:
    """What a send would cost and look like, and who lacks a value of the text. Stores nothing.

    Called by the composer (console and API) before create.
    """
    _require_staff(user)
    template_validate(body)
    segment = segment_clean(segment)
    recipients = broadcast_recipients(user=user, election=election, segment=segment, body=body)
    return _estimate(
        election=election,
        body=body,
        segment=segment,
        transliterate=transliterate,
        recipients=recipients,
        count=recipients.count(),
    )


def _missing_error(preview: Preview) -> ApplicationError:
    names = ", ".join(_placeholder(name) for name, n in preview.missing.items() if n)
    lacking = preview.recipients - preview.complete_recipients
    return ApplicationError(
        _(
            "%(n)s de %(total)s destinatarios no tienen %(names)s y recibirían el texto con huecos. "
            "Mandalo solo a quienes tienen todos los datos (%(complete)s personas) o sacá esas variables."
        )
        % {"n": lacking, "total": preview.recipients, "names": names, "complete": preview.complete_recipients},
        code=SmsErrorCode.MISSING_VALUES,
        extra={"missing": preview.missing, "complete_recipients": preview.complete_recipients},
    )


def broadcast_create(*, actor, election, body: str, segment: dict, transliterate: bool = True) -> Broadcast:
    """Store a broadcast with its audience (the creator's scope and the segment, now), count and cost.

    Large ones wait for a lead's approval. Refused when someone would get an empty {variable}.
    """
    _require_staff(actor)
    template_validate(body)
    segment = segment_clean(segment)
    with transaction.atomic():
        recipients = broadcast_recipients(user=actor, election=election, segment=segment, body=body)
        ids = list(recipients.order_by("pk").values_list("pk", flat=True))
        preview = _estimate(
            election=election,
            body=body,
            segment=segment,
            transliterate=transliterate,
            recipients=recipients,
            count=len(ids),
        )
        if not ids:
            raise ApplicationError(_("No hay destinatarios en ese segmento."), code=SmsErrorCode.NO_RECIPIENTS)
        if preview.has_missing:
            raise _missing_error(preview)
        _require_fits_queue(broadcast_queue_time(segments=preview.total_segments, recipients=preview.recipients))
        broadcast = Broadcast.objects.create(
            election=election,
            created_by=actor,
            body=body,
            segment=segment,
            transliterate=transliterate,
            status=BroadcastStatus.PENDING_APPROVAL if preview.needs_approval else BroadcastStatus.DRAFT,
            recipient_count=len(ids),
            segments_per_message=preview.segments_per_message,
            segments_total=preview.total_segments,
            estimated_cost=preview.estimated_cost,
            currency=preview.currency,
        )
        bulk_insert(BroadcastRecipient, [{"broadcast_id": broadcast.pk, "volunteer_id": pk} for pk in ids])
    return broadcast


def _stored_audience(broadcast: Broadcast) -> QuerySet[Volunteer]:
    return Volunteer.objects.filter(
        pk__in=BroadcastRecipient.objects.filter(broadcast=broadcast).values("volunteer_id")
    )


def _reachable(broadcast: Broadcast) -> Q:
    complete = _complete_condition(election=broadcast.election, body=broadcast.body)
    return complete & Q(opted_out=False, phone__isnull=False, excluded=False)


def broadcast_audience(*, broadcast: Broadcast) -> Audience:
    """The stored audience now (one aggregate query): who can still receive it, and why the others cannot."""
    fit = Q(opted_out=False)
    counts = _stored_audience(broadcast).aggregate(
        n_present=Count("pk"),
        n_opted_out=Count("pk", filter=Q(opted_out=True)),
        n_no_phone=Count("pk", filter=fit & Q(phone__isnull=True)),
        n_excluded=Count("pk", filter=fit & Q(phone__isnull=False, excluded=True)),
        n_reachable=Count("pk", filter=_reachable(broadcast)),
    )
    present, reachable = counts["n_present"], counts["n_reachable"]
    opted_out, no_phone, excluded = counts["n_opted_out"], counts["n_no_phone"], counts["n_excluded"]
    return Audience(
        recipients=broadcast.recipient_count,
        reachable=reachable,
        opted_out=opted_out,
        no_phone=no_phone,
        excluded=excluded,
        missing_values=present - opted_out - no_phone - excluded - reachable,
        removed=broadcast.recipient_count - present,
    )


# --- Approval, send, queueing ------------------------------------------------------------------------


def _lock(broadcast: Broadcast) -> Broadcast:
    return Broadcast.objects.select_for_update().select_related("election").get(pk=broadcast.pk)


def _require(actor, action: Action, broadcast: Broadcast) -> None:
    if not can(actor, action, broadcast):
        raise PermissionDenied()


def broadcast_approve(*, actor, broadcast: Broadcast) -> Broadcast:
    """A lead approves the stored audience, count and cost; nothing is recomputed."""
    if not can(actor, Action.APPROVE, broadcast):
        raise PermissionDenied(_("Solo un responsable puede aprobar envíos grandes."), code=SmsErrorCode.NOT_A_LEAD)
    with transaction.atomic():
        row = _lock(broadcast)
        if row.status != BroadcastStatus.PENDING_APPROVAL:
            raise ApplicationError(_("Este envío no espera aprobación."), code=SmsErrorCode.ALREADY_SENT)
        # The queue may have grown since creation: the same rule as the preview, now.
        _require_fits_queue(_stored_queue_time(row))
        row.status = BroadcastStatus.APPROVED
        row.approved_by = actor
        row.approved_at = timezone.now()
        row.save(update_fields=["status", "approved_by", "approved_at"])
    return row


def broadcast_send(*, actor, broadcast: Broadcast, confirm_recipients: int | None = None) -> Broadcast:
    """Start sending the stored audience: the row moves to `sending`, a task queues the messages after commit.

    Called by the console, the API and the admin; returns at once whatever the audience's size.
    When more than SMS_BROADCAST_AUDIENCE_TOLERANCE people left the audience since creation, it
    refuses with the difference (code `audience_changed`) until `confirm_recipients` repeats the
    number who would now receive it.
    """
    _require(actor, Action.CHANGE, broadcast)
    with transaction.atomic():
        row = _lock(broadcast)
        if row.status == BroadcastStatus.PENDING_APPROVAL:
            raise ApplicationError(_("Un responsable tiene que aprobar este envío."), code=SmsErrorCode.NEEDS_APPROVAL)
        if row.status not in {BroadcastStatus.DRAFT, BroadcastStatus.APPROVED}:
            raise ApplicationError(_("Este envío ya salió."), code=SmsErrorCode.ALREADY_SENT)
        _require_fits_queue(_stored_queue_time(row))
        audience = broadcast_audience(broadcast=row)
        if audience.reachable == 0:
            raise ApplicationError(
                _("Ya nadie de los destinatarios puede recibirlo: %(reasons)s.") % {"reasons": audience.reasons()},
                code=SmsErrorCode.NO_RECIPIENTS,
            )
        tolerance = int(settings.SMS_BROADCAST_AUDIENCE_TOLERANCE)
        if audience.dropped > tolerance and confirm_recipients != audience.reachable:
            raise ApplicationError(
                _(
                    "Desde que se creó, %(dropped)s de %(total)s destinatarios ya no pueden recibirlo (%(reasons)s). "
                    "Saldría a %(reachable)s personas: confirmá para enviarlo igual."
                )
                % {
                    "dropped": audience.dropped,
                    "total": audience.recipients,
                    "reasons": audience.reasons(),
                    "reachable": audience.reachable,
                },
                code=SmsErrorCode.AUDIENCE_CHANGED,
                extra={"recipients": audience.recipients, "reachable": audience.reachable, "dropped": audience.dropped},
            )
        row.status = BroadcastStatus.SENDING
        row.sent_by = actor
        row.sent_at = timezone.now()
        row.save(update_fields=["status", "sent_by", "sent_at"])
        transaction.on_commit(partial(_queue_later, row.pk))
    return row


def _stored_queue_time(broadcast: Broadcast) -> QueueTime:
    segments = broadcast.segments_total or broadcast.recipient_count * broadcast.segments_per_message
    return broadcast_queue_time(segments=segments, recipients=broadcast.recipient_count)


def _queue_later(broadcast_id: int) -> None:
    task_queue("sms.queue_broadcast", broadcast_id)


def broadcast_queue(*, broadcast_id: int) -> int:
    """Render and store every message of a sending broadcast; drains start after commit. Idempotent.

    Called by the `sms.queue_broadcast` task. Only the stored audience is read, narrowed to who can
    still receive it; a person who lost a value of the text since is skipped, never sent blanks.
    """
    with transaction.atomic():
        row = Broadcast.objects.select_for_update().select_related("election").get(pk=broadcast_id)
        if row.status != BroadcastStatus.SENDING or row.queued_at is not None:
            return 0
        recipients = _stored_audience(row).filter(_reachable(row))
        total = _queue_all(row, recipients)
        row.queued_at = timezone.now()
        row.queued_count = total
        row.save(update_fields=["queued_at", "queued_count"])
        transaction.on_commit(partial(_start_drains, row.pk))
    return total


def _queue_all(broadcast: Broadcast, recipients: QuerySet[Volunteer]) -> int:
    with_links = "{link}" in broadcast.body
    used = _used_variables(broadcast.body)
    pool = sender_pool()
    whatsapp_lane = channels.whatsapp_lane().key
    now = timezone.now()
    total = 0
    # One read of the recipients (5 small columns): re-running the query per chunk makes SQLite
    # re-plan joins and sorts on every chunk.
    everyone = list(recipients.order_by("pk").values(*ROW_FIELDS))
    for start in range(0, len(everyone), CHUNK):
        chunk = everyone[start : start + CHUNK]
        contexts = _contexts(chunk, election=broadcast.election, with_links=with_links)
        messages = []
        for volunteer, context in zip(chunk, contexts, strict=True):
            if _lacks_a_value(context, used):
                continue  # the last guard: a text with a hole never leaves
            rendered = render(broadcast.body, context, translit=broadcast.transliterate)
            route = channels.route_for(
                channel=volunteer["channel"],
                whatsapp_inbound_at=volunteer["whatsapp_inbound_at"],
                kind=TemplateKind.INSTRUCTION,
                context={**context, "texto": rendered.body},
                now=now,
            )
            whatsapp = route.channel == channels.WHATSAPP
            messages.append(
                {
                    "volunteer_id": volunteer["id"],
                    "to": volunteer["phone"],
                    "body": rendered.body,
                    "kind": TemplateKind.INSTRUCTION.value,
                    "broadcast_id": broadcast.pk,
                    "segments": 1 if whatsapp else rendered.segments,
                    "encoding": rendered.encoding,
                    "channel": route.channel,
                    "content_sid": route.content_sid,
                    "content_variables": route.content_variables,
                    # Each recipient always hears from the same number of the pool (WhatsApp: its own lane).
                    "sender": whatsapp_lane if whatsapp else pool.lane_for(volunteer["phone"]).key,
                }
            )
        bulk_insert(OutboundMessage, messages)
        total += len(messages)
    return total


def _start_drains(broadcast_id: int) -> None:
    """Hand the broadcast's queued rows to the SMS workers (the Twilio adapter's drain task).

    One drain per lane of the sender pool (more when SMS_DRAIN_WORKERS exceeds the lanes), so no
    drain waits for a number's bucket while another number is idle.
    """
    lanes = sender_pool().lanes
    per_lane = max(1, int(settings.SMS_DRAIN_WORKERS) // len(lanes))
    for lane in lanes:
        for k in range(per_lane):
            task_queue("sms.drain_outbound", broadcast_id, (k, per_lane), lane.key)
    whatsapp = channels.whatsapp_lane().key
    if OutboundMessage.objects.filter(broadcast_id=broadcast_id, sender=whatsapp).exists():
        task_queue("sms.drain_outbound", broadcast_id, (0, 1), whatsapp)


# --- Cancel and finish ---------------------------------------------------------------------------------


def broadcast_cancel(*, actor, broadcast: Broadcast) -> Broadcast:
    """Stop what has not left: messages still queued (not claimed by a sender) become `cancelled`.

    Called by the console, the API and the admin. `stopped_count` on the returned row says how
    many were stopped; messages a sender already claimed go out and keep their statuses.
    """
    _require(actor, Action.CHANGE, broadcast)
    with transaction.atomic():
        row = _lock(broadcast)
        if row.status in {BroadcastStatus.DONE, BroadcastStatus.CANCELLED}:
            raise ApplicationError(
                _("Este envío ya terminó: no queda nada por detener."), code=SmsErrorCode.ALREADY_FINISHED
            )
        now = timezone.now()
        stopped = 0
        if row.status == BroadcastStatus.SENDING:
            if row.queued_at is None:
                # The queueing task has not run: it will find the row cancelled and write nothing.
                stopped = broadcast_audience(broadcast=row).reachable
            else:
                # The same conditional UPDATE a sender's claim races with: each row goes one way only.
                stopped = OutboundMessage.objects.filter(broadcast=row, status=OutboundStatus.QUEUED).update(
                    status=OutboundStatus.CANCELLED, updated_at=now
                )
        row.status = BroadcastStatus.CANCELLED
        row.cancelled_by = actor
        row.finished_at = now
        row.stopped_count = stopped
        row.save(update_fields=["status", "cancelled_by", "finished_at", "stopped_count"])
    return row


def broadcast_cancel_summary(broadcast: Broadcast) -> str:
    """What a cancel did, for the person who clicked it."""
    if broadcast.sent_at is None:
        return _("Envío cancelado antes de salir: no se mandó ningún mensaje.")
    return ngettext(
        "Envío cancelado: se detuvo %(n)s mensaje que todavía no había salido.",
        "Envío cancelado: se detuvieron %(n)s mensajes que todavía no habían salido.",
        broadcast.stopped_count,
    ) % {"n": broadcast.stopped_count}


def broadcast_finish(*, broadcast_id: int) -> bool:
    """Move a sending broadcast to `done` once every message has a final status. Safe to repeat."""
    if OutboundMessage.objects.filter(broadcast_id=broadcast_id, status__in=NOT_FINAL).exists():
        return False
    finished = Broadcast.objects.filter(
        pk=broadcast_id, status=BroadcastStatus.SENDING, queued_at__isnull=False
    ).update(status=BroadcastStatus.DONE, finished_at=timezone.now())
    return bool(finished)


def broadcasts_finish_sweep() -> int:
    """Beat, every minute: finish sending broadcasts whose last status arrived by callback.

    Also stops a message of a cancelled broadcast that a failed attempt put back in the queue after
    the cancel (a retry of a message that had already been claimed).
    """
    OutboundMessage.objects.filter(broadcast__status=BroadcastStatus.CANCELLED, status=OutboundStatus.QUEUED).update(
        status=OutboundStatus.CANCELLED, updated_at=timezone.now()
    )
    sending = Broadcast.objects.filter(status=BroadcastStatus.SENDING, queued_at__isnull=False)
    return sum(broadcast_finish(broadcast_id=pk) for pk in sending.values_list("pk", flat=True))


# --- Reads ---------------------------------------------------------------------------------------------


def broadcast_list_visible_to(*, user, election=None) -> QuerySet[Broadcast]:
    rows = visible(user, Broadcast.objects.all()).select_related("created_by", "approved_by")
    if election is not None:
        rows = rows.filter(election=election)
    return rows.order_by("-created_at", "-id")


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
