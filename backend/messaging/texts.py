"""The SMS texts: Spanish defaults per kind, editable overrides, rendering and one-segment fitting.

Each default says who it is from, what to do and which keyword to answer, and fits one GSM-7
segment (160 characters) with typical names and addresses. When a rendered text would need a
second segment, the longest free-text fields (school, address, name) are shortened first.
"""

import re
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backend.core.exceptions import ApplicationError

from .encoding import segment_info, transliterate
from .models import MessageTemplate, TemplateKind

# Weekday abbreviations without accents (GSM-7), Monday first, for {dia}.
DAY_NAMES = ["Lun", "Mar", "Mie", "Jue", "Vie", "Sab", "Dom"]

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
# Variables a coordinator may use in a broadcast; notices may also use the rest of CONTEXT_VARS.
BROADCAST_VARS = ("nombre", "escuela", "direccion", "mesa", "link")
CONTEXT_VARS = (*BROADCAST_VARS, "rol", "dia", "hora", "estado", "texto")
# Shortened in this order when a text would not fit in one segment (the house number goes last).
FIT_FIELDS = ("escuela", "nombre", "direccion")
FIT_MIN = 12

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
    TemplateKind.INFO: gettext_lazy(
        "Fiscaliza: {nombre}, sos fiscal {rol} en {escuela}, {direccion}. {dia} {hora}. {estado}. {link}"
    ),
    TemplateKind.NO_ASSIGNMENT: gettext_lazy(
        "Fiscaliza: {nombre}, por ahora no tenés un lugar asignado. Te avisamos por acá."
    ),
    TemplateKind.HELP: gettext_lazy(
        "Fiscaliza: responde MESA (tu lugar), SI (voy), NO (no puedo), LLEGUE (ya estoy), BAJA (no recibir más). "
        "Otro texto va a tu escuela."
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
def _compile(body: str, translit: bool) -> tuple[str, tuple[str, ...]]:
    """The template as a str.format string (other braces escaped) and the variables it uses."""
    body = _prepare(body, translit)
    names: list[str] = []
    parts = []
    last = 0
    for match in PLACEHOLDER.finditer(body):
        parts.append(body[last : match.start()].replace("{", "{{").replace("}", "}}"))
        parts.append("{" + match.group(1) + "}")
        names.append(match.group(1))
        last = match.end()
    parts.append(body[last:].replace("{", "{{").replace("}", "}}"))
    return "".join(parts), tuple(dict.fromkeys(names))


def _prepared(names: tuple[str, ...], context: dict, translit: bool) -> dict:
    return {name: _prepare(str(context.get(name, "")), translit) for name in names}


def _shorten(value: str, keep: int) -> str:
    cut = value[:keep]
    if not value[keep : keep + 1].isspace() and cut.rfind(" ") >= FIT_MIN:
        cut = cut[: cut.rindex(" ")]  # whole words only, when that still leaves enough
    return cut.rstrip(" ,.;-")


def render(body: str, context: dict, *, translit: bool = True, fit: bool = True) -> Rendered:
    """Fill `{variables}` from `context`; with `fit`, shorten long fields to stay in one segment.

    Fitting only happens when it reaches one segment; otherwise the full text goes in two.
    """
    gsm7 = True if translit else None
    template, names = _compile(body, translit)
    values = _prepared(names, context, translit)
    text = template.format_map(values).strip()
    info = segment_info(text, gsm7=gsm7)
    if fit and info.segments > 1:
        fitted_text, fitted_info = text, info
        for field in FIT_FIELDS:
            single = 160 if fitted_info.encoding == "GSM-7" else 70
            excess = fitted_info.units - single
            value = values.get(field, "")
            if excess <= 0:
                break
            if "{" + field + "}" not in body or len(value) <= FIT_MIN:
                continue
            values[field] = _shorten(value, max(FIT_MIN, len(value) - excess))
            fitted_text = template.format_map(values).strip()
            fitted_info = segment_info(fitted_text, gsm7=gsm7)
        if fitted_info.segments == 1:
            text, info = fitted_text, fitted_info
    return Rendered(text, info.segments, info.encoding)


def render_kind(kind: str, context: dict) -> Rendered:
    body, translit = template_get(kind)
    return render(body, context, translit=translit)
