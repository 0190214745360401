"""The SMS texts: Spanish defaults per kind, editable overrides, rendering and one-segment fitting.

Each default says who it is from, what to do and which keyword to answer, and fits one GSM-7
segment (160 characters) with typical names and addresses. Nothing is ever cut: a volunteer must
find their school by the name the official list gives it. When a text would need a second
segment, the field's usual abbreviations (ESC, COL, INST...) are applied to the school name; when
even that does not reach one segment, the text goes whole, with the official name, in two.
An empty field takes the separator before it along (no ", ." when a place has no address).
"""

import re
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db.models.functions import Length
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backend.core.exceptions import ApplicationError
from backend.core.text import fold
from backend.elections.models import PollingPlace

from .encoding import segment_info, transliterate
from .models import MessageTemplate, TemplateKind

# Weekday abbreviations without accents (GSM-7), Monday first, for {dia}.
DAY_NAMES = ["Lun", "Mar", "Mie", "Jue", "Vie", "Sab", "Dom"]

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
# Variables a coordinator may use in a broadcast; notices may also use the rest of CONTEXT_VARS.
BROADCAST_VARS = ("nombre", "escuela", "direccion", "mesa", "link")
CONTEXT_VARS = (*BROADCAST_VARS, "rol", "dia", "hora", "estado", "texto", "otro")
# The abbreviations of the field, applied to a school name only when they save a segment.
SCHOOL_ABBREVIATIONS = (
    ("ESCUELA", "ESC"),
    ("COLEGIO", "COL"),
    ("INSTITUTO", "INST"),
    ("PROVINCIAL", "PROV"),
    ("NACIONAL", "NAC"),
    ("MUNICIPAL", "MUN"),
    ("EDUCACION", "EDUC"),
    ("TECNICA", "TEC"),
    ("SECUNDARIA", "SEC"),
    ("PRIMARIA", "PRIM"),
    ("SUPERIOR", "SUP"),
    ("CENTRO", "CTRO"),
)
_ABBREVIATION = {long: short for long, short in SCHOOL_ABBREVIATIONS}
_WORD = re.compile(r"\w+")
# Separators an empty field takes along: "en {escuela}, {direccion}." with no address is "en X."
_SEPARATOR_BEFORE = re.compile(r"(?:\s*[,;:-]\s*|\s+)$")

DEFAULT_TEXTS: dict[str, Any] = {
    TemplateKind.ASSIGNMENT: gettext_lazy(
        "Fiscaliza: {nombre}, sos fiscal {rol} en {escuela}, {direccion}. {dia} {hora}. Responde SI o NO {link}"
    ),
    TemplateKind.CHANGE: gettext_lazy(
        "Fiscaliza: {nombre}, cambio: fiscal {rol} en {escuela}, {direccion}. {dia} {hora}. Responde SI o NO {link}"
    ),
    TemplateKind.CANCELLATION: gettext_lazy(
        "Fiscaliza: {nombre}, se canceló tu lugar en {escuela}. Gracias! Te avisamos si hay otro."
    ),
    TemplateKind.REMINDER: gettext_lazy(
        "Fiscaliza: {nombre}, sos fiscal {rol} en {escuela} el {dia}. ¿Vas? Responde SI o NO {link}"
    ),
    TemplateKind.REMINDER_EVE: gettext_lazy(
        "Fiscaliza: {nombre}, mañana {hora} te esperamos en {escuela}, {direccion}. Llevá tu DNI. "
        "Al llegar, responde LLEGUE."
    ),
    # Shifts, before the handover ({hora}: the handover time; {otro}: the other watcher of the table).
    TemplateKind.SHIFT_INCOMING: gettext_lazy(
        "Fiscaliza: {nombre}, hoy a las {hora} te esperan en la mesa {mesa} de {escuela}, {direccion}. "
        "Al llegar, responde LLEGUE."
    ),
    TemplateKind.SHIFT_OUTGOING: gettext_lazy(
        "Fiscaliza: {nombre}, a las {hora} te reemplaza {otro} en la mesa {mesa}. Entregale la mesa y tus notas "
        "y responde ENTREGO."
    ),
    # A coordinator changed the watcher's shift ({texto}: the new shift; {hora}: when it starts).
    TemplateKind.SHIFT_CHANGED: gettext_lazy(
        "Fiscaliza: {nombre}, tu turno cambió: {texto}, mesa {mesa} de {escuela}, {dia} {hora}. Responde SI o NO {link}"
    ),
    TemplateKind.CONFIRMATION_RECEIVED: gettext_lazy(
        "Fiscaliza: gracias {nombre}, confirmaste {escuela} el {dia} {hora}. Al llegar ese día, responde LLEGUE."
    ),
    TemplateKind.DECLINE_RECEIVED: gettext_lazy(
        "Fiscaliza: {nombre}, registramos que no podés ir. Gracias por avisar: ya buscamos quien te reemplace."
    ),
    TemplateKind.CHECK_IN_RECEIVED: gettext_lazy(
        "Fiscaliza: {nombre}, registramos tu llegada a {escuela}. Gracias! Escribí acá si necesitás algo."
    ),
    TemplateKind.INSTRUCTION: gettext_lazy("Fiscaliza: {texto}"),
    TemplateKind.ANNOUNCEMENT: gettext_lazy("Fiscaliza ({escuela}): {texto}"),
    TemplateKind.SHEET_ASKED_BACK: gettext_lazy("Fiscaliza: {texto} {link}"),
    TemplateKind.INFO: gettext_lazy(
        "Fiscaliza: {nombre}, sos fiscal {rol} en {escuela}, {direccion}. {dia} {hora}. {estado}. {link}"
    ),
    TemplateKind.NO_ASSIGNMENT: gettext_lazy(
        "Fiscaliza: {nombre}, por ahora no tenés un lugar asignado. Te avisamos por acá."
    ),
    TemplateKind.HELP: gettext_lazy(
        "Fiscaliza: responde MESA (tu lugar), SI (voy), NO (no puedo), LLEGUE (ya estoy), ENTREGO (fin de tu turno), "
        "BAJA (no recibir más). Otro texto va a tu escuela."
    ),
    TemplateKind.OPT_OUT: gettext_lazy("Fiscaliza: no te enviaremos más mensajes. Para volver, responde ALTA."),
    TemplateKind.OPT_IN: gettext_lazy("Fiscaliza: volviste a recibir mensajes. Responde AYUDA para ver las opciones."),
    TemplateKind.THREAD_RECEIVED: gettext_lazy("Fiscaliza: tu mensaje llegó al grupo de {escuela}."),
    TemplateKind.NOT_ELECTION_DAY: gettext_lazy(
        "Fiscaliza: LLEGUE se usa el día de la elección, al llegar. Responde MESA para ver tu lugar."
    ),
    TemplateKind.UNKNOWN_NUMBER: gettext_lazy(
        "Fiscaliza: este número solo atiende a fiscales registrados. Si sos fiscal, hablá con tu coordinador."
    ),
    TemplateKind.ASK_CONFIRM: gettext_lazy(
        "Fiscaliza: {nombre}, ¿confirmás que vas a {escuela} el {dia}? Responde SI o NO."
    ),
    # To a number completed with a guessed area code: no name, place or link until they answer.
    TemplateKind.VERIFY_PHONE: gettext_lazy(
        "Fiscaliza: ¿sos fiscal voluntario/a de las elecciones? Responde SI para recibir tu asignación. "
        "Si no, ignorá este mensaje."
    ),
    TemplateKind.MEDIA_REFUSED: gettext_lazy(
        "Fiscaliza: no pudimos guardar tu foto: {texto} Mandá una foto JPG o PNG más liviana."
    ),
    TemplateKind.INBOUND_FAILED: gettext_lazy(
        "Fiscaliza: recibimos tu mensaje pero no pudimos procesarlo. Ya lo revisamos; si es urgente, "
        "llamá a tu coordinador."
    ),
    # {texto}: the channel's name. Answered on the channel the volunteer wrote from.
    TemplateKind.CHANNEL_CHANGED: gettext_lazy(
        "Fiscaliza: listo, te escribimos por {texto}. Para cambiar, responde WHATSAPP o SMS."
    ),
}


@dataclass(frozen=True)
class Rendered:
    body: str
    segments: int
    encoding: str


_overrides: dict = {"at": -1.0, "rows": {}}
OVERRIDES_TTL = 30.0  # seconds an edited template may take to reach every process


def _template_overrides() -> dict:
    now = time.monotonic()
    if now - _overrides["at"] > OVERRIDES_TTL:
        _overrides["rows"] = {row.kind: (row.body, row.transliterate) for row in MessageTemplate.objects.all()}
        _overrides["at"] = now
    return _overrides["rows"]


def templates_changed(**kwargs) -> None:
    """post_save/post_delete of MessageTemplate: this process reloads at once (others within the TTL)."""
    _overrides["at"] = -1.0


def template_get(kind: str) -> tuple[str, bool]:
    """(template text, transliterate?) for `kind`: the edited one if any, else the default."""
    override = _template_overrides().get(kind)
    if override is not None:
        return override
    return str(DEFAULT_TEXTS[kind]), True


def template_validate(body: str, *, allowed=BROADCAST_VARS) -> None:
    """Refuse empty templates and unknown {variables}, naming them."""
    if not (body or "").strip():
        raise ApplicationError(_("El texto está vacío."), code="empty_template")
    unknown = sorted({name for name in PLACEHOLDER.findall(body) if name not in allowed})
    if unknown:
        raise ApplicationError(
            _("Variables desconocidas: %(names)s. Podés usar: %(allowed)s.")
            % {
                "names": ", ".join("{" + n + "}" for n in unknown),
                "allowed": ", ".join("{" + n + "}" for n in allowed),
            },
            code="unknown_variable",
        )


_SPACES = re.compile(r"[ \t]+")


@lru_cache(maxsize=65536)
def _prepare(value: str, translit: bool) -> str:
    """One template or variable value: spaces collapsed, transliterated. Cached: names and schools repeat."""
    value = _SPACES.sub(" ", value)
    return transliterate(value) if translit else value


@lru_cache(maxsize=1024)
def _compile(body: str, translit: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The template split into literal parts around its variables: parts[i] comes before names[i]."""
    body = _prepare(body, translit)
    parts: list[str] = []
    names: list[str] = []
    last = 0
    for match in PLACEHOLDER.finditer(body):
        parts.append(body[last : match.start()])
        names.append(match.group(1))
        last = match.end()
    parts.append(body[last:])
    return tuple(parts), tuple(names)


def _prepared(names: tuple[str, ...], context: dict, translit: bool) -> dict:
    return {name: _prepare(str(context.get(name, "")), translit) for name in dict.fromkeys(names)}


def _fill(parts: tuple[str, ...], names: tuple[str, ...], values: dict) -> str:
    out: list[str] = []
    for literal, name in zip(parts, names, strict=False):
        value = values.get(name, "")
        if value:
            out.append(literal)
            out.append(value)
        else:
            # The separator that introduced the missing value goes too.
            out.append(_SEPARATOR_BEFORE.sub("", literal))
    out.append(parts[-1])
    return "".join(out).strip()


def school_abbreviate(name: str) -> str:
    """The school name with the field's usual abbreviations ("ESCUELA NORMAL" -> "ESC NORMAL")."""

    def short(match: re.Match) -> str:
        word = match.group(0)
        abbreviation = _ABBREVIATION.get(fold(word).upper())
        if abbreviation is None:
            return word
        return abbreviation if word.isupper() else abbreviation.capitalize()

    return _WORD.sub(short, name)


def render(body: str, context: dict, *, translit: bool = True) -> Rendered:
    """Fill `{variables}` from `context`. Nothing is cut: an abbreviated school name is used only
    when it brings the text to one segment; otherwise the whole text goes in two or more."""
    gsm7 = True if translit else None
    parts, names = _compile(body, translit)
    values = _prepared(names, context, translit)
    text = _fill(parts, names, values)
    info = segment_info(text, gsm7=gsm7)
    if info.segments > 1 and values.get("escuela"):
        short = dict(values, escuela=school_abbreviate(values["escuela"]))
        if short["escuela"] != values["escuela"]:
            short_text = _fill(parts, names, short)
            short_info = segment_info(short_text, gsm7=gsm7)
            if short_info.segments < info.segments:
                text, info = short_text, short_info
    return Rendered(text, info.segments, info.encoding)


def render_kind(kind: str, context: dict) -> Rendered:
    body, translit = template_get(kind)
    return render(body, context, translit=translit)


def template_preview_longest(body: str, *, translit: bool = True) -> Rendered:
    """`body` as it renders for the polling place with the longest name (and its address), a long
    first name and a real-length link: the template editor shows whether that takes two segments."""
    place = PollingPlace.objects.order_by(Length("name").desc()).values("name", "address").first()
    place = place or {"name": "ESCUELA PROVINCIAL NORMAL SUPERIOR N 3 DOMINGO FAUSTINO SARMIENTO", "address": ""}
    context = {
        "nombre": "Maximiliano",
        "escuela": place["name"],
        "direccion": place["address"],
        "mesa": "1234",
        "rol": "de mesa 1234",
        "dia": "Dom 24/10",
        "hora": "7:30",
        "estado": "Notificada",
        "texto": "",
        "link": f"{settings.PUBLIC_BASE_URL}/{'x' * 22}",
    }
    return render(body, context, translit=translit)
