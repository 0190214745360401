"""Twilio webhooks (/sms/inbound/, /sms/status/) and the development page (/dev/sms/).

Every webhook request's X-Twilio-Signature is checked against PUBLIC_BASE_URL + path, in every
profile (DEBUG included); a bad one gets 403 and nothing is written.
"""

import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from backend.messaging import channels
from backend.messaging.models import InboundMessage, OutboundMessage
from backend.permissions import role_of
from backend.volunteers.models import Volunteer

from .client import signature_compute, signature_valid, twiml_reply
from .inbound import inbound_receive
from .services import status_apply


def _signed(request) -> bool:
    url = settings.PUBLIC_BASE_URL + request.get_full_path()
    params = {key: request.POST.get(key) for key in request.POST}
    return signature_valid(url=url, params=params, signature=request.headers.get("X-Twilio-Signature", ""))


@csrf_exempt
@require_POST
def inbound_webhook(request):
    if not _signed(request):
        return HttpResponseForbidden("invalid signature")
    params = {key: request.POST.get(key) for key in request.POST}
    if not params.get("MessageSid") and not params.get("SmsSid"):
        return HttpResponse(twiml_reply(None), content_type="text/xml", status=400)
    return HttpResponse(twiml_reply(inbound_receive(params=params)), content_type="text/xml")


@csrf_exempt
@require_POST
def status_webhook(request):
    if not _signed(request):
        return HttpResponseForbidden("invalid signature")
    message_id = request.GET.get("m")
    error_code = request.POST.get("ErrorCode") or None
    status_apply(
        sid=request.POST.get("MessageSid", ""),
        status=request.POST.get("MessageStatus", ""),
        error_code=int(error_code) if error_code and error_code.isdigit() else None,
        message_id=int(message_id) if message_id and message_id.isdigit() else None,
    )
    return HttpResponse(status=204)


def _dev_allowed(request) -> bool:
    # Only where nothing really leaves (the local backend): with Twilio on, these are real people.
    if settings.SMS_BACKEND != "local":
        return False
    # Every SMS of every area, and answering as any phone: outside DEBUG, leads only.
    return settings.DEBUG or role_of(request.user) == "lead"


def dev_page(request):
    """Every message sent and received, and a form to answer as any volunteer's phone."""
    if not _dev_allowed(request):
        raise Http404
    if request.method == "POST":
        phone = request.POST.get("phone", "").strip()
        body = request.POST.get("body", "")
        channel = channels.WHATSAPP if request.POST.get("channel") == channels.WHATSAPP else channels.SMS
        _dev_answer(phone=phone, body=body, channel=channel)
        return redirect(f"{request.path}?{urlencode({'phone': phone, 'channel': channel})}")
    outbound = OutboundMessage.objects.select_related("volunteer").order_by("-id")[:200]
    inbound = InboundMessage.objects.select_related("volunteer").order_by("-id")[:200]
    recent = list(
        Volunteer.objects.filter(phone__isnull=False, sms_sent__isnull=False)
        .distinct()
        .order_by("-sms_sent__id")
        .values("phone", "first_name", "last_name")[:50]
    )
    seen, phones = set(), []
    for row in recent:
        if row["phone"] not in seen:
            seen.add(row["phone"])
            phones.append(row)
    events = [("out", m.created_at, m) for m in outbound] + [("in", m.received_at, m) for m in inbound]
    events.sort(key=lambda e: e[1], reverse=True)
    return render(
        request,
        "sms/dev.html",
        {
            "events": events[:200],
            "phones": phones,
            "phone": request.GET.get("phone", ""),
            "channel": request.GET.get("channel", channels.SMS),
            "backend": settings.SMS_BACKEND,
        },
    )


def _dev_answer(*, phone: str, body: str, channel: str = channels.SMS) -> None:
    """Post a text as `phone` (from SMS or WhatsApp) through the real webhook: signed, then verified like Twilio's."""
    whatsapp = channel == channels.WHATSAPP
    params = {
        "MessageSid": f"SMdev{uuid.uuid4().hex[:27]}",
        "AccountSid": settings.TWILIO_ACCOUNT_SID,
        "From": channels.address(channel=channel, phone=phone),
        "To": (channels.whatsapp_lane().from_number or "") if whatsapp else (settings.TWILIO_FROM or "+10000000000"),
        "Body": body,
        "NumMedia": "0",
    }
    path = "/sms/inbound/"
    request = HttpRequest()
    request.method = "POST"
    request.path = request.path_info = path
    request.META = {
        "REQUEST_METHOD": "POST",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_X_TWILIO_SIGNATURE": signature_compute(url=settings.PUBLIC_BASE_URL + path, params=params),
    }
    query = QueryDict(mutable=True)
    for key, value in params.items():
        query[key] = value
    request.POST = query  # type: ignore[assignment]
    response = inbound_webhook(request)
    if response.status_code != 200:
        raise Http404("webhook refused the development message")
