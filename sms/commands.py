"""Commands from a volunteer's phone: plain functions that act and return the reply text.

What the text means is decided by `sms.replies.reply_understand` (natural Spanish: "si voy",
"dale", "no puedo", "ya llegué", "dónde me toca", typos, the table number appended). A clear
intent acts; a reply that could be a yes or a no gets a question back and is not posted to the
thread; conversation goes to the volunteer's station thread, with any photo attached.
"""

from dataclasses import dataclass, field

from django.conf import settings

from backend.assignments.errors import AssignmentErrorCode
from backend.assignments.models import EventSource
from backend.assignments.selectors import assignment_get_active_for_volunteer
from backend.assignments.services import assignment_check_in, assignment_confirm, assignment_decline
from backend.core.exceptions import ApplicationError
from backend.core.text import fold
from backend.messaging.encoding import transliterate
from backend.messaging.models import TemplateKind
from backend.messaging.texts import render_kind, template_get
from backend.threads.services import message_post_from_sms
from backend.volunteers.models import Volunteer
from backend.volunteers.services import (
    volunteer_opt_in,
    volunteer_opt_out,
    volunteer_phone_refuse,
    volunteer_phone_verify,
)

from .replies import Intent, reply_understand
from .services import assignment_context, link_for_text

# Twilio answers these itself (its default opt-out handling); we act on them but stay silent.
TWILIO_ANSWERED = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "start", "unstop", "yes"}


@dataclass
class Reply:
    keyword: str
    text: str  # empty: answer nothing
    media: list = field(default_factory=list)


def _text(kind: str, volunteer=None, assignment=None, **extra) -> str:
    context = {}
    if volunteer is not None:
        body, _translit = template_get(kind)
        link = link_for_text(volunteer, body) if "{link}" in body else ""
        context = assignment_context(volunteer=volunteer, assignment=assignment, link=link)
    context.update(extra)
    return render_kind(kind, context).body


def _twilio_already_answered(body: str, params: dict) -> bool:
    if params.get("OptOutType"):
        return True
    return settings.SMS_BACKEND == "twilio" and settings.SMS_TWILIO_DEFAULT_OPT_OUT and fold(body) in TWILIO_ANSWERED


def volunteer_for_phone(phone: str) -> Volunteer | None:
    return Volunteer.objects.filter(phone=phone).first() if phone else None


def inbound_command(
    *, volunteer: Volunteer | None, body: str, params: dict | None = None, attachments: list | None = None
) -> Reply:
    """Act on one text from `volunteer` (None: an unknown number) and return the reply.

    `attachments` are the stored photos of an MMS: with or without text, they go to the thread.
    """
    params = params or {}
    attachments = attachments or []
    intent = reply_understand(body)
    if intent == Intent.EMPTY and attachments:
        intent = Intent.TEXT
    label = intent.value
    if volunteer is None:
        # Reveal nothing about anyone: the same short text whatever was asked.
        if intent in {Intent.STOP, Intent.START} and _twilio_already_answered(body, params):
            return Reply(label, "")
        return Reply(label, _text(TemplateKind.UNKNOWN_NUMBER))

    if intent == Intent.STOP:
        volunteer_opt_out(volunteer_id=volunteer.pk, actor=volunteer.user, source="sms", reason=body[:255])
        silent = _twilio_already_answered(body, params)
        return Reply(label, "" if silent else _text(TemplateKind.OPT_OUT))
    if intent == Intent.START:
        volunteer_opt_in(volunteer_id=volunteer.pk, actor=volunteer.user, source="sms", reason=body[:255])
        silent = _twilio_already_answered(body, params)
        return Reply(label, "" if silent else _text(TemplateKind.OPT_IN))

    if not volunteer.phone_verified:
        return Reply(label, _unverified_command(volunteer, intent))
    reply = _volunteer_command(volunteer, intent, body, attachments)
    # Opted out: act on what they say, but send nothing back until ALTA / START.
    return Reply(label, "" if volunteer.opted_out else reply)


def _unverified_command(volunteer: Volunteer, intent: Intent) -> str:
    """A number completed with a guessed area code: nothing about anyone until its owner says SI.

    SI verifies it and answers with the assignment; NO (not me) stops every text to it; anything
    else, MESA included, gets the question again and is never posted to a thread.
    """
    if intent == Intent.YES:
        volunteer = volunteer_phone_verify(volunteer=volunteer)
        assignment = assignment_get_active_for_volunteer(volunteer=volunteer)
        if assignment is None:
            return _text(TemplateKind.NO_ASSIGNMENT, volunteer)
        return _text(TemplateKind.INFO, volunteer, assignment)
    if intent == Intent.NO:
        volunteer_phone_refuse(volunteer=volunteer)
        return _text(TemplateKind.OPT_OUT)
    if volunteer.opted_out:
        return ""
    return _text(TemplateKind.VERIFY_PHONE)


def _volunteer_command(volunteer: Volunteer, intent: Intent, body: str, attachments: list) -> str:
    assignment = assignment_get_active_for_volunteer(volunteer=volunteer)
    if intent in {Intent.HELP, Intent.EMPTY}:
        return _text(TemplateKind.HELP)
    if intent != Intent.TEXT and assignment is None:
        return _text(TemplateKind.NO_ASSIGNMENT, volunteer)
    try:
        if intent == Intent.TEXT:
            if assignment is not None:
                posted = message_post_from_sms(volunteer=volunteer, body=body, attachments=attachments)
                if posted is not None:
                    return _text(TemplateKind.THREAD_RECEIVED, volunteer, assignment)
            return _text(TemplateKind.HELP)
        assert assignment is not None
        if intent == Intent.UNCLEAR:
            # Neither acted on nor posted: a maybe must not read as a yes, nor reach the whole school.
            return _text(TemplateKind.ASK_CONFIRM, volunteer, assignment)
        if intent == Intent.INFO:
            return _text(TemplateKind.INFO, volunteer, assignment)
        if intent == Intent.YES:
            assignment = assignment_confirm(assignment=assignment, actor=volunteer.user, source=EventSource.SMS)
            return _text(TemplateKind.CONFIRMATION_RECEIVED, volunteer, assignment)
        if intent == Intent.NO:
            assignment_decline(assignment=assignment, actor=volunteer.user, source=EventSource.SMS, reason="SMS NO")
            return _text(TemplateKind.DECLINE_RECEIVED, volunteer, assignment)
        if intent == Intent.CHECK_IN:
            assignment = assignment_check_in(assignment=assignment, actor=volunteer.user, source=EventSource.SMS)
            return _text(TemplateKind.CHECK_IN_RECEIVED, volunteer, assignment)
    except ApplicationError as exc:
        if exc.code == AssignmentErrorCode.NOT_ELECTION_DAY:
            return _text(TemplateKind.NOT_ELECTION_DAY, volunteer, assignment)
        return _error_reply(exc)
    return _text(TemplateKind.HELP)


def _error_reply(exc: ApplicationError) -> str:
    return transliterate(f"Fiscaliza: {exc.message}")[:160]
