"""Delivery backends: `twilio` (the real library) and `local` (stores only; see /dev/sms/)."""

import uuid

from django.conf import settings
from django.utils.module_loading import import_string

from backend.messaging import channels
from backend.messaging.senders import Lane

from . import client
from .client import Accepted


class LocalBackend:
    """Development: nothing leaves the machine; every message is 'delivered' at once."""

    name = "local"

    def send(self, message, *, lane: Lane | None = None) -> Accepted:
        return Accepted(sid=f"SMlocal{uuid.uuid4().hex[:25]}", status="delivered")

    def lookup(self, message) -> Accepted | None:
        return None


class TwilioBackend:
    name = "twilio"

    def send(self, message, *, lane: Lane | None = None) -> Accepted:
        callback = f"{settings.PUBLIC_BASE_URL}/sms/status/?m={message.pk}"
        from_number = lane.from_number if lane is not None else None
        if message.channel == channels.WHATSAPP:
            from_number = channels.whatsapp_lane().from_number
        return client.message_create(
            to=channels.address(channel=message.channel, phone=message.to),
            body=message.body,
            status_callback=callback,
            from_number=from_number,
            content_sid=message.content_sid,
            content_variables=message.content_variables,
        )

    def lookup(self, message) -> Accepted | None:
        if message.sid:
            return client.message_fetch(sid=message.sid)
        return client.message_find(
            to=channels.address(channel=message.channel, phone=message.to),
            body=message.body,
            sent_after=message.claimed_at,
            # A template's text is Twilio's rendering, not ours: matched by recipient and time alone.
            any_body=bool(message.content_sid),
        )


BACKENDS = {"local": "sms.backends.LocalBackend", "twilio": "sms.backends.TwilioBackend"}


def backend():
    return import_string(BACKENDS[settings.SMS_BACKEND])()
