"""The only module that talks to Twilio's library: REST client, webhook signatures, TwiML.

TWILIO_API_BASE_URL (default https://api.twilio.com) lets tests and benchmarks point the real
client at a fake server; TWILIO_HTTP_TIMEOUT is kept well under the Celery task time limit so a
hung connection fails the attempt instead of killing the worker.
"""

import hmac
import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlparse
from xml.sax.saxutils import escape as xml_escape

import requests
from django.conf import settings
from django.utils.translation import gettext as _
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator, add_port, remove_port
from twilio.rest import Client
from urllib3.exceptions import NewConnectionError

TWILIO_DEFAULT_BASE = "https://api.twilio.com"
# twilio logs every request and its headers at INFO; keep our logs readable.
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)


class _BaseUrlHttpClient(TwilioHttpClient):
    """Twilio's own HTTP client, with the API host swapped for TWILIO_API_BASE_URL."""

    def __init__(self, *, base_url: str, timeout: float):
        super().__init__(timeout=timeout, max_retries=0)
        self.base_url = base_url.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        if self.base_url != TWILIO_DEFAULT_BASE and url.startswith(TWILIO_DEFAULT_BASE):
            url = self.base_url + url[len(TWILIO_DEFAULT_BASE) :]
        return super().request(method, url, *args, **kwargs)


@lru_cache(maxsize=4)
def _client(account_sid: str, auth_token: str, base_url: str, timeout: float) -> Client:
    return Client(account_sid, auth_token, http_client=_BaseUrlHttpClient(base_url=base_url, timeout=timeout))


def rest_client() -> Client:
    return _client(
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        settings.TWILIO_API_BASE_URL,
        float(settings.TWILIO_HTTP_TIMEOUT),
    )


@dataclass
class SendError(Exception):
    """A failed attempt. `retryable` only when Twilio certainly did not accept the message."""

    message: str
    code: int | None = None
    http_status: int | None = None
    retryable: bool = False
    # True when the request may have reached Twilio (read timeout): look up before retrying.
    outcome_unknown: bool = False


@dataclass
class Accepted:
    sid: str
    status: str


def message_create(
    *,
    to: str,
    body: str,
    status_callback: str | None,
    from_number: str | None = None,
    content_sid: str = "",
    content_variables: dict | None = None,
) -> Accepted:
    """Hand one message to Twilio, from `from_number` (a number of the pool) or else the Messaging Service.

    WhatsApp: `to` and `from_number` are whatsapp:+... addresses; with `content_sid` the approved
    template goes instead of `body`, its variables filled from `content_variables`.
    """
    kwargs: dict = {"to": to}
    if content_sid:
        kwargs["content_sid"] = content_sid
        kwargs["content_variables"] = json.dumps(content_variables or {}, ensure_ascii=False)
    else:
        kwargs["body"] = body
    if from_number:
        kwargs["from_"] = from_number
    elif settings.TWILIO_MESSAGING_SERVICE_SID:
        kwargs["messaging_service_sid"] = settings.TWILIO_MESSAGING_SERVICE_SID
    else:
        kwargs["from_"] = settings.TWILIO_FROM
    if status_callback:
        kwargs["status_callback"] = status_callback
    try:
        message = rest_client().messages.create(**kwargs)
    except TwilioRestException as exc:
        retryable = exc.status == 429 or exc.status >= 500
        raise SendError(str(exc.msg)[:255], code=exc.code, http_status=exc.status, retryable=retryable) from exc
    except requests.ConnectTimeout as exc:
        raise SendError("connect timeout", retryable=True) from exc
    except requests.ReadTimeout as exc:
        # The request may have reached Twilio: reconcile by look-up, never resend blindly.
        raise SendError("read timeout", outcome_unknown=True) from exc
    except requests.ConnectionError as exc:
        reason = getattr(exc.args[0] if exc.args else None, "reason", None)
        if isinstance(reason, NewConnectionError):  # refused or unreachable: nothing was sent
            raise SendError("connection refused", retryable=True) from exc
        raise SendError(f"connection lost: {exc.__class__.__name__}", outcome_unknown=True) from exc
    return Accepted(sid=message.sid, status=message.status or "queued")


def message_fetch(*, sid: str) -> Accepted | None:
    try:
        message = rest_client().messages(sid).fetch()
    except TwilioRestException as exc:
        if exc.status == 404:
            return None
        raise
    return Accepted(sid=message.sid, status=message.status)


def message_find(*, to: str, body: str, sent_after, any_body: bool = False) -> Accepted | None:
    """A message to `to` with `body` (any, for a template) Twilio accepted after `sent_after`: recovers a lost SID."""
    for message in rest_client().messages.list(to=to, date_sent_after=sent_after, limit=50):
        if any_body or message.body == body:
            return Accepted(sid=message.sid, status=message.status)
    return None


class MediaError(Exception):
    """A photo of an MMS that could not be fetched or is not acceptable; `message` says why, in Spanish."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


# What a photo is, by its first bytes: the header Twilio (or a proxy) sends is not trusted alone.
IMAGE_SIGNATURES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}


def media_fetch(*, url: str, max_bytes: int) -> tuple[str, bytes]:
    """(content type, bytes) of one MMS photo, fetched with the account's credentials.

    Only URLs on Twilio's API host are fetched (a webhook's MediaUrl must never make us call
    anywhere else); Twilio may redirect to its storage, which is followed. Refuses other types
    than JPEG, PNG, GIF and WebP, and anything over `max_bytes`, without reading it whole.
    """
    base = settings.TWILIO_API_BASE_URL.rstrip("/") + "/"
    if not url.startswith(base):
        raise MediaError(_("La foto no viene de Twilio."), code="media_foreign_url")
    try:
        response = requests.get(
            url,
            auth=(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN),
            timeout=float(settings.TWILIO_HTTP_TIMEOUT),
            stream=True,
        )
    except requests.RequestException as exc:
        raise MediaError(_("No se pudo descargar la foto."), code="media_unreachable") from exc
    with response:
        if response.status_code != 200:
            raise MediaError(_("No se pudo descargar la foto."), code="media_unreachable")
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type not in IMAGE_SIGNATURES:
            raise MediaError(_("Solo se guardan fotos (JPG, PNG, GIF o WebP)."), code="media_type")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise MediaError(_("La foto supera el tamaño máximo."), code="media_too_large")
        data = bytearray()
        for chunk in response.iter_content(64 * 1024):
            data.extend(chunk)
            if len(data) > max_bytes:
                raise MediaError(_("La foto supera el tamaño máximo."), code="media_too_large")
    if not bytes(data).startswith(IMAGE_SIGNATURES[content_type]):
        raise MediaError(_("Solo se guardan fotos (JPG, PNG, GIF o WebP)."), code="media_type")
    return content_type, bytes(data)


def signature_valid(*, url: str, params: dict, signature: str) -> bool:
    """Twilio's X-Twilio-Signature check for a form-encoded webhook: `RequestValidator.validate`'s answer.

    Twilio may have signed the URL with or without its port, so twilio's validator signs both
    variants on every request. Here the second is signed only when the first does not match (a good
    signature, nearly always the first, costs one HMAC), and the comparison is `hmac.compare_digest`
    (tests/sms/test_signature.py holds the two validators together).
    """
    if not signature:
        return False
    validator = _validator(settings.TWILIO_AUTH_TOKEN)
    given = signature.encode("utf-8", "replace")
    parsed = urlparse(url)
    return any(
        hmac.compare_digest(validator.compute_signature(variant(parsed), params).encode("utf-8"), given)
        for variant in (remove_port, add_port)
    )


@lru_cache(maxsize=4)
def _validator(auth_token: str) -> RequestValidator:
    return RequestValidator(auth_token)


def signature_compute(*, url: str, params: dict) -> str:
    """Sign like Twilio does (the development page answers as a phone through the real webhook)."""
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)


_TWIML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


def twiml_reply(text: str | None) -> str:
    """The webhook's answer: one message back, or none.

    The very text twilio's `MessagingResponse` writes (tests/sms/test_twiml.py holds the two
    together), built as a string: its element tree and serializer were ~3% of a no-op SMS's CPU.
    """
    if not text:
        return f"{_TWIML_DECLARATION}<Response />"
    return f"{_TWIML_DECLARATION}<Response><Message>{xml_escape(text)}</Message></Response>"
