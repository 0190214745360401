"""Keyword commands from a volunteer's phone: plain functions that act and return the reply text.

Spanish first with English aliases; case, accents, punctuation and one small typo are
tolerated for words of four letters or more ("LLEGE", "Presnete", "ayda"). A keyword must be the
whole message: "no sé dónde queda" is a question for the thread, not a decline.
"""

from dataclasses import dataclass

from django.conf import settings
from rapidfuzz.distance import OSA

from backend.assignments.errors import AssignmentErrorCode
from backend.assignments.models import EventSource
from backend.assignments.selectors import assignment_get_active_for_volunteer
from backend.assignments.services import assignment_check_in, assignment_confirm, assignment_decline
from backend.core.exceptions import ApplicationError
from backend.core.text import fold
from backend.messaging.encoding import transliterate
from backend.messaging.models import Keyword, TemplateKind
from backend.messaging.texts import render_kind, template_get
from backend.threads.services import message_post_from_sms
from backend.volunteers.models import Volunteer
from backend.volunteers.services import volunteer_opt_in, volunteer_opt_out

from .services import assignment_context, link_for_text

WORDS: dict[str, Keyword] = {
    "mesa": Keyword.INFO,
    "info": Keyword.INFO,
    "donde": Keyword.INFO,
    "si": Keyword.YES,
    "no": Keyword.NO,
    "llegue": Keyword.CHECK_IN,
    "presente": Keyword.CHECK_IN,
    "ayuda": Keyword.HELP,
    "help": Keyword.HELP,
    "baja": Keyword.STOP,
    "stop": Keyword.STOP,
    "alta": Keyword.START,
    "start": Keyword.START,
}
# Twilio answers these itself (its default opt-out handling); we act on them but stay silent.
TWILIO_ANSWERED = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "start", "unstop", "yes"}
TWILIO_ALIASES = {
    "stopall": Keyword.STOP,
    "unsubscribe": Keyword.STOP,
    "cancel": Keyword.STOP,
    "end": Keyword.STOP,
    "quit": Keyword.STOP,
    "unstop": Keyword.START,
}


def keyword_parse(body: str) -> Keyword | None:
    """The keyword the whole message stands for, or None for free text."""
    words = fold(body).split()
    if len(words) != 1:
        return None
    word = words[0]
    if word in WORDS:
        return WORDS[word]
    if word in TWILIO_ALIASES:
        return TWILIO_ALIASES[word]
    if len(word) < 4:
        return None
    close = {WORDS[k] for k in WORDS if len(k) >= 4 and OSA.distance(word, k) <= 1}
    return close.pop() if len(close) == 1 else None


@dataclass
class Reply:
    keyword: str
    text: str  # empty: answer nothing


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


def inbound_command(*, volunteer: Volunteer | None, body: str, params: dict | None = None) -> Reply:
    """Act on one text from `volunteer` (None: an unknown number) and return the reply."""
    params = params or {}
    keyword = keyword_parse(body)
    label = keyword.value if keyword else ""
    if volunteer is None:
        # Reveal nothing about anyone: the same short text whatever was asked.
        if keyword in {Keyword.STOP, Keyword.START} and _twilio_already_answered(body, params):
            return Reply(label, "")
        return Reply(label, _text(TemplateKind.UNKNOWN_NUMBER))

    if keyword == Keyword.STOP:
        volunteer_opt_out(volunteer_id=volunteer.pk, actor=volunteer.user, source="sms", reason=body[:255])
        silent = _twilio_already_answered(body, params)
        return Reply(label, "" if silent else _text(TemplateKind.OPT_OUT))
    if keyword == Keyword.START:
        volunteer_opt_in(volunteer_id=volunteer.pk, actor=volunteer.user, source="sms", reason=body[:255])
        silent = _twilio_already_answered(body, params)
        return Reply(label, "" if silent else _text(TemplateKind.OPT_IN))

    reply = _volunteer_command(volunteer, keyword, body)
    # Opted out: act on what they say, but send nothing back until ALTA / START.
    return Reply(label, "" if volunteer.opted_out else reply)


def _volunteer_command(volunteer: Volunteer, keyword: Keyword | None, body: str) -> str:
    assignment = assignment_get_active_for_volunteer(volunteer=volunteer)
    if keyword == Keyword.HELP:
        return _text(TemplateKind.HELP)
    if keyword is None:
        if assignment is not None and body.strip():
            try:
                posted = message_post_from_sms(volunteer=volunteer, body=body)
            except ApplicationError as exc:  # muted, or nothing left once cleaned: said in a short reply
                return _error_reply(exc)
            if posted is not None:
                return _text(TemplateKind.THREAD_RECEIVED, volunteer, assignment)
        return _text(TemplateKind.HELP)
    if assignment is None:
        return _text(TemplateKind.NO_ASSIGNMENT, volunteer)
    try:
        if keyword == Keyword.INFO:
            return _text(TemplateKind.INFO, volunteer, assignment)
        if keyword == Keyword.YES:
            assignment = assignment_confirm(assignment=assignment, actor=volunteer.user, source=EventSource.SMS)
            return _text(TemplateKind.CONFIRMATION_RECEIVED, volunteer, assignment)
        if keyword == Keyword.NO:
            assignment_decline(assignment=assignment, actor=volunteer.user, source=EventSource.SMS, reason="SMS NO")
            return _text(TemplateKind.DECLINE_RECEIVED, volunteer, assignment)
        if keyword == Keyword.CHECK_IN:
            assignment = assignment_check_in(assignment=assignment, actor=volunteer.user, source=EventSource.SMS)
            return _text(TemplateKind.CHECK_IN_RECEIVED, volunteer, assignment)
    except ApplicationError as exc:
        if exc.code == AssignmentErrorCode.NOT_ELECTION_DAY:
            return _text(TemplateKind.NOT_ELECTION_DAY, volunteer, assignment)
        return _error_reply(exc)
    return _text(TemplateKind.HELP)


def _error_reply(exc: ApplicationError) -> str:
    return transliterate(f"Fiscaliza: {exc.message}")[:160]
