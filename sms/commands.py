"""Commands from a volunteer's phone: plain functions that act and return the reply text.

What the text means is decided by `sms.replies.reply_understand` (natural Spanish: "si voy",
"dale", "no puedo", "ya llegué", "dónde me toca", typos, the table number appended). A clear
intent acts; a reply that could be a yes or a no gets a question back and is not posted to the
thread; conversation goes to the volunteer's station thread, with any photo attached.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _
from rapidfuzz.distance import OSA

from backend.assignments.errors import AssignmentErrorCode
from backend.assignments.models import Assignment, AssignmentRole, AssignmentStatus, EventSource, Shift
from backend.assignments.selectors import assignment_get_active_for_volunteer
from backend.assignments.services import assignment_confirm, assignment_decline
from backend.core.exceptions import ApplicationError
from backend.core.prepared import PreparedQuery
from backend.core.text import fold
from backend.elections.models import Table
from backend.incidents.categories import categories_for, category_guess
from backend.incidents.models import Incident
from backend.incidents.services import incident_category_set, incident_report
from backend.messaging import channels
from backend.messaging.encoding import transliterate
from backend.messaging.models import TemplateKind
from backend.messaging.texts import render_kind, template_get
from backend.tableday.models import TableState
from backend.tableday.selectors import TableFacts, duties_with_tables
from backend.tableday.services import shift_hand_over, table_report, watcher_check_in
from backend.threads.services import message_post_from_sms
from backend.volunteers.models import Channel, Volunteer
from backend.volunteers.services import (
    volunteer_opt_in,
    volunteer_opt_out,
    volunteer_phone_refuse,
    volunteer_phone_verify,
    volunteer_update,
)

from .replies import Intent, reply_understand
from .services import assignment_context, link_for_text
from .sheets import sheet_photo_sms_command, sheet_photo_sms_parse, sheet_sms_command, sheet_sms_parse

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
    if channels.phone_of(str(params.get("From") or ""))[0] == channels.WHATSAPP:
        return False  # Twilio's opt-out keywords are SMS only: on WhatsApp we answer ourselves
    return settings.SMS_BACKEND == "twilio" and settings.SMS_TWILIO_DEFAULT_OPT_OUT and fold(body) in TWILIO_ANSWERED


def volunteer_for_phone(phone: str) -> Volunteer | None:
    if not phone:
        return None
    found = _volunteer_with_phone(phone)
    if found is None and phone.startswith("+54") and not phone.startswith("+549"):
        # WhatsApp may give an Argentine mobile without the 9 we store it with.
        found = _volunteer_with_phone("+549" + phone[3:])
    return found


# With the user: every command acts as `volunteer.user`. The phone is unique: no ORDER BY. Compiled
# once: building this queryset was a fifth of a no-op SMS's CPU (bench/fixed_cost.py).
_VOLUNTEER_WITH_PHONE = PreparedQuery(
    lambda phone: Volunteer.objects.select_related("user").filter(phone=phone)[:1], "phone", text=("phone",)
)


def _volunteer_with_phone(phone: str) -> Volunteer | None:
    return next(iter(_VOLUNTEER_WITH_PHONE.objects(phone=phone)), None)


# What a volunteer answers to choose where we write to them.
CHANNEL_KEYWORDS = {
    "whatsapp": Channel.WHATSAPP,
    "wsp": Channel.WHATSAPP,
    "wpp": Channel.WHATSAPP,
    "wasap": Channel.WHATSAPP,
    "sms": Channel.SMS,
    "mensaje de texto": Channel.SMS,
}


def inbound_command(
    *, volunteer: Volunteer | None, body: str, params: dict | None = None, attachments: list | None = None
) -> Reply:
    """Act on one text from `volunteer` (None: an unknown number) and return the reply.

    `attachments` are the stored photos of an MMS: they go with a PROBLEMA report, or else to the thread.
    """
    params = params or {}
    attachments = attachments or []
    if volunteer is None:
        intent = _intent(body, attachments)
        label = intent.value
        # Reveal nothing about anyone: the same short text whatever was asked.
        if intent in {Intent.STOP, Intent.START} and _twilio_already_answered(body, params):
            return Reply(label, "")
        return Reply(label, _text(TemplateKind.UNKNOWN_NUMBER))

    channel = CHANNEL_KEYWORDS.get(fold(body).strip(" .!"))
    if channel is not None:
        volunteer_update(volunteer=volunteer, actor=volunteer.user, source="sms", reason=body[:255], channel=channel)
        reply = _text(TemplateKind.CHANNEL_CHANGED, texto=Channel(channel).label)
        return Reply("channel", "" if volunteer.opted_out else reply)

    incident_text = incident_keyword_parse(body)
    if incident_text is not None:
        reply = _incident_command(volunteer, incident_text, attachments)
        return Reply("incident", "" if volunteer.opted_out else reply)

    if handover_keyword_parse(body):
        reply = _handover_command(volunteer)
        return Reply("handover", "" if volunteer.opted_out else reply)

    photo_of = sheet_photo_sms_parse(body) if attachments else None
    if photo_of is not None:
        reply = sheet_photo_sms_command(volunteer=volunteer, parsed=photo_of, photos=attachments)
        return Reply("sheet_photo", "" if volunteer.opted_out else reply)
    sheet = sheet_sms_parse(body)
    if sheet is not None:
        reply = sheet_sms_command(volunteer=volunteer, parsed=sheet)
        return Reply("sheet", "" if volunteer.opted_out else reply)

    table_keyword = table_keyword_parse(body)
    # "ACTA" is one letter from "ALTA": an exact table keyword wins; a near one only when nothing else matched.
    if table_keyword is not None and (
        table_keyword.exact or _intent(body, attachments) in {Intent.TEXT, Intent.UNCLEAR}
    ):
        reply = _table_command(volunteer, table_keyword)
        return Reply(f"t_{table_keyword.state}", "" if volunteer.opted_out else reply)

    intent = _intent(body, attachments)
    label = intent.value

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


def _intent(body: str, attachments: list) -> Intent:
    """What a text means in natural Spanish; read only once no keyword matched (the keywords come
    first, and the fuzzy reading of every word was a large share of an `ABRIO`'s or a sheet's CPU)."""
    intent = reply_understand(body)
    return Intent.TEXT if intent == Intent.EMPTY and attachments else intent


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
    if intent in {Intent.HELP, Intent.EMPTY}:
        return _text(TemplateKind.HELP)  # the same text for everyone: no need to read the assignment
    assignment = assignment_get_active_for_volunteer(volunteer=volunteer)
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
            assignment = watcher_check_in(assignment=assignment, actor=volunteer.user, source=EventSource.SMS)
            return _text(TemplateKind.CHECK_IN_RECEIVED, volunteer, assignment)
    except ApplicationError as exc:
        if exc.code == AssignmentErrorCode.NOT_ELECTION_DAY:
            return _text(TemplateKind.NOT_ELECTION_DAY, volunteer, assignment)
        return _error_reply(exc)
    return _text(TemplateKind.HELP)


def _error_reply(exc: ApplicationError) -> str:
    return transliterate(f"Fiscaliza: {exc.message}")[:160]


# The table's timeline by SMS: "ABRIO", "CERRO 1234", "escrutada mesa 1234", "ACTA".
TABLE_WORDS: dict[str, TableState] = {
    "abrio": TableState.OPEN,
    "abri": TableState.OPEN,
    "abierta": TableState.OPEN,
    "cerro": TableState.CLOSED,
    "cerre": TableState.CLOSED,
    "cerrada": TableState.CLOSED,
    "escrutada": TableState.COUNTED,
    "escrutinio": TableState.COUNTED,
    "acta": TableState.SHEET_SENT,
    "sinfiscal": TableState.NO_WATCHER,
    "mefui": TableState.WATCHER_LEFT,
}
TABLE_PHRASES = {("acta", "enviada"): TableState.SHEET_SENT, ("sin", "fiscal"): TableState.NO_WATCHER}
TABLE_SAYS = {
    TableState.OPEN: "ABIERTA",
    TableState.CLOSED: "CERRADA",
    TableState.COUNTED: "ESCRUTADA",
    TableState.SHEET_SENT: "ACTA ENVIADA",
    TableState.WAITING: "EN ESPERA",
}
# What to type for each state, in the examples of the replies.
TABLE_TYPE = {
    TableState.OPEN: "ABRIO",
    TableState.CLOSED: "CERRO",
    TableState.COUNTED: "ESCRUTADA",
    TableState.SHEET_SENT: "ACTA",
    TableState.NO_WATCHER: "SIN FISCAL",
    TableState.WATCHER_LEFT: "MEFUI",
}
_FILLERS = {"mesa", "la", "de", "n", "nro", "numero"}


@dataclass(frozen=True)
class TableKeyword:
    state: TableState
    number: int | None
    exact: bool


def table_keyword_parse(body: str) -> TableKeyword | None:
    """A table report in `body` (keyword first, then at most a table number), or None."""
    words = fold(body).split()
    if not words:
        return None
    exact = True
    if tuple(words[:2]) in TABLE_PHRASES:
        state, rest = TABLE_PHRASES[(words[0], words[1])], words[2:]
    elif words[0] in TABLE_WORDS:
        state, rest = TABLE_WORDS[words[0]], words[1:]
    else:
        # One typo in a word of five letters or more: "ABRRIO", "CERRRO", "ESCRUTDA".
        close = {TABLE_WORDS[k] for k in TABLE_WORDS if len(k) >= 5 and OSA.distance(words[0], k) <= 1}
        if len(words[0]) < 5 or len(close) != 1:
            return None
        state, rest, exact = close.pop(), words[1:], False
    rest = [w for w in rest if w not in _FILLERS]
    if not rest:
        return TableKeyword(state, None, exact)
    if len(rest) == 1 and rest[0].isdigit():
        return TableKeyword(state, int(rest[0]), exact)
    return None  # more words than a table number: free text for the thread


def _sms(text: str) -> str:
    return transliterate(text)[:160]


def _table_command(volunteer: Volunteer, parsed: TableKeyword) -> str:
    duties = duties_with_tables(volunteer_id=volunteer.pk)  # with each table's state: no read of it again
    if not duties:
        return _text(TemplateKind.NO_ASSIGNMENT, volunteer)
    election_id = duties[0].election_id
    duties = [duty for duty in duties if duty.election_id == election_id]
    # The watcher's own tables, with what `table_report` and the reply use of them.
    own: dict[int, tuple[Table, TableFacts | None]] = {
        table.number: (table, duty.facts)
        for duty in duties
        if duty.role == AssignmentRole.TABLE and (table := duty.table) is not None
    }
    place_ids = [duty.place_id for duty in duties if duty.role == AssignmentRole.PLACE]
    say = TABLE_SAYS.get(parsed.state, parsed.state.label.upper())
    if parsed.number is None:
        if len(own) != 1:
            return _sms(
                _("Fiscaliza: indicá el número de mesa, por ejemplo: %(word)s 1234")
                % {"word": TABLE_TYPE[parsed.state]}
            )
        table, facts = next(iter(own.values()))
    elif parsed.number in own:
        table, facts = own[parsed.number]
    else:
        # The fiscal general reports for any table of their school.
        found = Table.objects.filter(election_id=election_id, place_id__in=place_ids, number=parsed.number).first()
        if found is None:
            return _sms(_("Fiscaliza: la mesa %(number)s no es tuya. Revisá el número.") % {"number": parsed.number})
        table, facts = found, None
    try:
        result = table_report(
            table=table, state=parsed.state, actor=volunteer.user, channel=EventSource.SMS, facts=facts
        )
    except ApplicationError as exc:
        return _sms(f"Fiscaliza: {exc.message}")
    now = TABLE_SAYS.get(TableState(result.state), result.state)
    if parsed.state in {TableState.NO_WATCHER, TableState.WATCHER_LEFT}:
        return _sms(_("Fiscaliza: recibido, mesa %(number)s %(state)s.") % {"number": table.number, "state": say})
    return _sms(_("Fiscaliza: recibido, mesa %(number)s %(state)s. Gracias.") % {"number": table.number, "state": now})


# Incidents by SMS: "PROBLEMA faltan boletas en la 1234"; "PROBLEMA 12 BOLETAS" confirms a category.
INCIDENT_WORDS = {"problema", "incidente", "denuncia"}
CONFIRM_WORDS = "BOLETAS, DEMORA, ENTRADA, PROPAGANDA, VOTO, CONTEO o VIOLENCIA"


def incident_keyword_parse(body: str) -> str | None:
    """The problem's own words after the keyword ("" when none), or None when it is no incident report."""
    words = fold(body).split()
    if not words:
        return None
    first = words[0]
    if first not in INCIDENT_WORDS and not any(OSA.distance(first, k) <= 1 for k in INCIDENT_WORDS):
        return None
    # Keep the watcher's own text (accents and all) after the keyword.
    return body.strip().split(None, 1)[1].strip() if len(body.strip().split(None, 1)) > 1 else ""


def _incident_command(volunteer: Volunteer, text: str, photos: list) -> str:
    assignment = assignment_get_active_for_volunteer(volunteer=volunteer)
    if assignment is None:
        return _text(TemplateKind.NO_ASSIGNMENT, volunteer)
    if not text and not photos:
        return _sms(
            _("Fiscaliza: contá el problema después de la palabra, por ejemplo: PROBLEMA faltan boletas en la 1234")
        )
    words = fold(text).split()
    if len(words) == 2 and words[0].isdigit():
        pending = Incident.objects.filter(pk=int(words[0]), reporter=volunteer.user, category_confirmed=False).first()
        if pending is not None:
            guess = category_guess(words[1], categories_for(assignment.election))
            if not guess.confident:
                return _sms(
                    _("Fiscaliza: no entendí la categoría. Respondé PROBLEMA %(id)s y %(words)s")
                    % {"id": pending.pk, "words": CONFIRM_WORDS}
                )
            incident_category_set(
                incident=pending, category=guess.category, actor=volunteer.user, channel=EventSource.SMS
            )
            return _sms(
                _("Fiscaliza: problema #%(id)s anotado como %(category)s.")
                % {"id": pending.pk, "category": guess.category.name}
            )
    table = assignment.table
    numbers = {int(w) for w in words if w.isdigit()}
    # A number that is a table of the school names the table; any other number is part of the story.
    # The watcher's own table's number alone ("... en la 1234", the usual text) needs no read.
    if numbers and not (table is not None and numbers == {table.number}):
        named = Table.objects.filter(place_id=assignment.place_id, number__in=numbers).first()
        table = named or table
    try:
        incident = incident_report(
            place=assignment.place,
            table=table,
            text=text,
            actor=volunteer.user,
            channel=EventSource.SMS,
            photos=photos,
        )
    except ApplicationError as exc:
        return _sms(f"Fiscaliza: {exc.message}")
    where = _("mesa %(n)s") % {"n": table.number} if table is not None else _("tu escuela")
    if not incident.category_confirmed:
        return _sms(
            _("Fiscaliza: problema #%(id)s recibido (%(where)s). ¿Qué pasó? Respondé PROBLEMA %(id)s y %(words)s")
            % {"id": incident.pk, "where": where, "words": CONFIRM_WORDS}
        )
    return _sms(
        _("Fiscaliza: problema #%(id)s recibido (%(category)s, %(where)s). Te avisamos cuando alguien lo tome.")
        % {"id": incident.pk, "category": incident.category.name, "where": where}
    )


# The shift handover by SMS: the morning watcher answers "ENTREGO" (or "entregué la mesa", a typo too).
HANDOVER_WORDS = ("entrego", "entregue", "entregada")


def handover_keyword_parse(body: str) -> bool:
    """Whether `body` is the morning watcher's handover: the keyword, then at most "la mesa" and its number."""
    words = fold(body).split()
    if not words or not any(OSA.distance(words[0], k) <= 1 for k in HANDOVER_WORDS):
        return False
    rest = [w for w in words[1:] if w not in _FILLERS]
    return len(rest) == 0 or (len(rest) == 1 and rest[0].isdigit())


def _handover_command(volunteer: Volunteer) -> str:
    assignment = assignment_get_active_for_volunteer(volunteer=volunteer)
    if assignment is None:
        # A repeated ENTREGO: the morning assignment has ended with the first one.
        assignment = (
            Assignment.objects.filter(volunteer=volunteer, shift=Shift.MORNING, status=AssignmentStatus.DONE)
            .order_by("-election__date", "-id")
            .first()
        )
    if assignment is None:
        return _text(TemplateKind.NO_ASSIGNMENT, volunteer)
    try:
        result = shift_hand_over(assignment=assignment, actor=volunteer.user, source=EventSource.SMS)
    except ApplicationError as exc:
        return _sms(f"Fiscaliza: {exc.message}")
    return _sms(
        _("Fiscaliza: registramos que entregaste la mesa %(number)s a %(name)s. Gracias por tu turno!")
        % {"number": result.table.number, "name": result.incoming.volunteer.full_name}
    )
