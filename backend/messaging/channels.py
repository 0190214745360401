"""WhatsApp beside SMS: which channel a message to a volunteer takes, and in what form.

A volunteer's channel (Volunteer.channel) is SMS, WhatsApp, or automatic: WhatsApp once the number
has written to us from WhatsApp (so it has it), SMS until then. WhatsApp allows free text only
within 24 hours of the volunteer's last message; outside that window a conversation opens only
with a template Meta approved, registered in Twilio (a Content SID, "HX..."), one per kind of
message. A kind without a registered template goes by SMS outside the window.

WHATSAPP_TEMPLATES (JSON) maps kinds to templates and the context values of their numbered
variables: {"assignment": {"sid": "HX...", "variables": ["nombre", "escuela", "dia", "hora"]}}
fills {{1}} with the name, {{2}} with the school, and so on.

Pure functions of the settings and the volunteer row: no queries.
"""

import datetime
import json
from dataclasses import dataclass, field
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q
from django.utils import timezone

from .senders import Lane

SMS = "sms"
WHATSAPP = "whatsapp"
WHATSAPP_PREFIX = "whatsapp:"
WINDOW = datetime.timedelta(hours=24)
# The values a template's variables may take (sms.services.assignment_context and the notice's text).
TEMPLATE_VARIABLES = ("nombre", "escuela", "direccion", "mesa", "link", "rol", "dia", "hora", "estado", "texto", "otro")


@dataclass(frozen=True)
class Template:
    sid: str
    variables: tuple[str, ...]


@dataclass(frozen=True)
class Route:
    """How one message goes: its channel and, for a WhatsApp message outside the window, its template."""

    channel: str
    content_sid: str = ""
    content_variables: dict = field(default_factory=dict)


def templates_parse(spec: dict) -> dict[str, Template]:
    """WHATSAPP_TEMPLATES, checked; ImproperlyConfigured says which kind is wrong and why."""
    if not isinstance(spec, dict):
        raise ImproperlyConfigured('WHATSAPP_TEMPLATES must be a JSON object: {"assignment": {"sid": "HX..."}}.')
    templates = {}
    for kind, entry in spec.items():
        if not isinstance(entry, dict) or not str(entry.get("sid", "")).startswith("HX"):
            raise ImproperlyConfigured(f"WHATSAPP_TEMPLATES[{kind!r}]: needs a Twilio Content SID (HX...) in 'sid'.")
        variables = entry.get("variables", [])
        if not isinstance(variables, list):
            raise ImproperlyConfigured(f"WHATSAPP_TEMPLATES[{kind!r}]: 'variables' must be a list of names.")
        unknown = [name for name in variables if name not in TEMPLATE_VARIABLES]
        if unknown:
            raise ImproperlyConfigured(
                f"WHATSAPP_TEMPLATES[{kind!r}]: unknown variable {unknown[0]!r}; use {', '.join(TEMPLATE_VARIABLES)}."
            )
        templates[str(kind)] = Template(sid=str(entry["sid"]), variables=tuple(variables))
    return templates


@lru_cache(maxsize=4)
def _templates_cached(spec: str) -> dict[str, Template]:
    return templates_parse(json.loads(spec))


def whatsapp_templates() -> dict[str, Template]:
    return _templates_cached(json.dumps(settings.WHATSAPP_TEMPLATES, sort_keys=True))


def whatsapp_enabled() -> bool:
    """A WhatsApp sender is configured (locally, /dev/sms/ simulates one)."""
    return bool(settings.TWILIO_WHATSAPP_FROM) or settings.SMS_BACKEND == "local"


def channel_for(*, channel: str, whatsapp_inbound_at: datetime.datetime | None) -> str:
    """The channel of a volunteer with this preference and this last WhatsApp message."""
    if not whatsapp_enabled() or channel == SMS:
        return SMS
    if channel == WHATSAPP or whatsapp_inbound_at is not None:
        return WHATSAPP
    return SMS


def in_window(whatsapp_inbound_at: datetime.datetime | None, *, now: datetime.datetime | None = None) -> bool:
    """The volunteer wrote from WhatsApp less than 24 hours ago: free text may reach them there."""
    return whatsapp_inbound_at is not None and (now or timezone.now()) - whatsapp_inbound_at < WINDOW


def route(*, volunteer, kind: str, context: dict, now: datetime.datetime | None = None) -> Route:
    """How a message of `kind` reaches `volunteer`: SMS, WhatsApp free text, or a WhatsApp template."""
    return route_for(
        channel=volunteer.channel,
        whatsapp_inbound_at=volunteer.whatsapp_inbound_at,
        kind=kind,
        context=context,
        now=now,
    )


def route_for(
    *,
    channel: str,
    whatsapp_inbound_at: datetime.datetime | None,
    kind: str,
    context: dict,
    now: datetime.datetime | None = None,
) -> Route:
    if channel_for(channel=channel, whatsapp_inbound_at=whatsapp_inbound_at) != WHATSAPP:
        return Route(SMS)
    if in_window(whatsapp_inbound_at, now=now):
        return Route(WHATSAPP)
    template = whatsapp_templates().get(kind)
    if template is None:  # nothing approved opens a conversation for this kind: SMS always arrives
        return Route(SMS)
    variables = {str(n): str(context.get(name, "") or "-") for n, name in enumerate(template.variables, 1)}
    return Route(WHATSAPP, content_sid=template.sid, content_variables=variables)


def whatsapp_q(*, kind: str, now: datetime.datetime | None = None) -> Q:
    """Volunteers a message of `kind` reaches by WhatsApp (the same rule as `route`, for counting)."""
    if not whatsapp_enabled():
        return Q(pk__in=[])
    chosen = Q(channel=WHATSAPP) | Q(channel="auto", whatsapp_inbound_at__isnull=False)
    if kind not in whatsapp_templates():
        chosen &= Q(whatsapp_inbound_at__gte=(now or timezone.now()) - WINDOW)
    return chosen


def whatsapp_lane() -> Lane:
    """WhatsApp's sender: one lane of its own, paced at WHATSAPP_RATE messages per second."""
    number = settings.TWILIO_WHATSAPP_FROM or "+10000000000"
    return Lane(
        key=f"{WHATSAPP_PREFIX}{number}", rate=float(settings.WHATSAPP_RATE), from_number=WHATSAPP_PREFIX + number
    )


def address(*, channel: str, phone: str) -> str:
    """The `To` Twilio expects: the number, or whatsapp:+549... ."""
    return f"{WHATSAPP_PREFIX}{phone}" if channel == WHATSAPP else phone


def phone_of(address_: str) -> tuple[str, str]:
    """(channel, number) of a webhook's From: "whatsapp:+549..." -> ("whatsapp", "+549...")."""
    if address_.lower().startswith(WHATSAPP_PREFIX):
        return WHATSAPP, address_[len(WHATSAPP_PREFIX) :].strip()
    return SMS, address_
