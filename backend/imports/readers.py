"""Pure functions over spreadsheet rows: find the header, map columns, clean each value.

Nothing here touches the database; `roster.py` and `backend/elections/stations.py` call these.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from django.utils.translation import gettext as _
from rapidfuzz import fuzz, process

from backend.core.phones import normalize_digits
from backend.core.spreadsheets import Header, HeaderError, find_header, match_headers  # noqa: F401 (re-exported)
from backend.core.text import clean_text, fold

CELL_TEXT_MAX = 32_767

# Roster columns: field -> header keys (header_key: folded, no spaces, no punctuation).
ROSTER_HEADERS: dict[str, tuple[str, ...]] = {
    "dni": (
        "dni",
        "nrodni",
        "numerodni",
        "dninro",
        "dnino",
        "documento",
        "nrodocumento",
        "nrodedocumento",
        "numerodocumento",
        "numerodedocumento",
        "documentonro",
        "nodocumento",
        "ndocumento",
        "ndni",
        "nodni",
        "nrodoc",
        "nrodedni",
        "numerodedni",
        "nrodocumentodeidentidad",
        "documentodeidentidad",
        "nationalid",
        "idnumber",
        "idcard",
    ),
    "full_name": (
        "apellidoynombre",
        "apellidoynombres",
        "apellidosynombres",
        "apellidosnombres",
        "apellidonombre",
        "nombreyapellido",
        "nombresyapellidos",
        "nombreyapellidos",
        "nombreapellido",
        "nombrecompleto",
        "fullname",
        "name",
        "surnameandname",
        "lastnamefirstname",
    ),
    "last_name": ("apellido", "apellidos", "lastname", "surname", "familyname"),
    "first_name": ("nombre", "nombres", "firstname", "givenname", "givennames"),
    "phone": (
        "celular",
        "cel",
        "nrocelular",
        "numerocelular",
        "telefonocelular",
        "telcelular",
        "telefonomovil",
        "movil",
        "telefono",
        "tel",
        "whatsapp",
        "phone",
        "mobile",
        "mobilephone",
        "cellphone",
        "cell",
        "phonenumber",
    ),
    "email": ("email", "mail", "correo", "correoelectronico", "emailaddress", "direcciondecorreo"),
    "votes_at": (
        "escueladondevota",
        "escuelaenlaquevota",
        "establecimientodondevota",
        "lugardevotacion",
        "lugardondevota",
        "dondevota",
        "votaen",
        "escueladevotacion",
        "escuelavota",
        "establecimientodevotacion",
        "pollingplace",
        "votesat",
        "wherevote",
        "whereivote",
        "votingplace",
    ),
    "locality": ("localidad", "ciudad", "municipio", "locality", "city", "town"),
    "address": ("direccion", "domicilio", "address", "homeaddress"),
    "availability": ("disponibilidad", "horario", "turno", "availability"),
    "role": ("rol", "tipo", "tipodefiscal", "tipofiscal", "funcion", "puesto", "role", "type"),
    "notes": ("notas", "observaciones", "comentarios", "notes", "comments"),
    "trained": ("capacitado", "capacitada", "capacitacion", "trained", "training"),
    "channel": ("canal", "canaldecontacto", "contactarpor", "contactopor", "medio", "mediodecontacto", "channel"),
}
ROSTER_REQUIRED: list[tuple[str, tuple[tuple[str, ...], ...]]] = [
    ("DNI", (("dni",),)),
    ("Apellido y Nombre", (("full_name",), ("last_name", "first_name"))),
    ("Celular", (("phone",),)),
]


# --- cells -------------------------------------------------------------------------------------


def is_formula(value: object) -> bool:
    """A csv cell holding a formula (workbooks give cached values, never formulas)."""
    return isinstance(value, str) and value.lstrip()[:1] == "="


def text(value: object) -> str:
    """A cell as trimmed text: numbers without '.0', dates as ISO, formulas dropped."""
    if type(value) is str:  # the common case first: this runs ten times a row
        value = value.strip()
        if not value or value[0] == "=":
            return ""
        if not value.isprintable() or (not value.isascii() and not unicodedata.is_normalized("NFC", value)):
            # NUL and other controls, odd normal forms: the one cleaning step (the reader bounded the length).
            value = clean_text(value, max_length=len(value)).strip()
        if "  " in value or "\n" in value or "\t" in value or "\r" in value:
            value = " ".join(value.split())
        return value
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return _("sí") if value else "no"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time)):
        return value.isoformat()
    value = " ".join(clean_text(str(value), max_length=CELL_TEXT_MAX, truncate=True).split())
    return "" if is_formula(value) else value


def is_blank(row: list) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in row)


def is_totals_row(row: list) -> bool:
    """'Total', 'TOTALES: 1.234', 'Total general' in some cell of a row without a DNI."""
    return any(isinstance(cell, str) and fold(cell).startswith("total") for cell in row)


_DNI_PREFIX = re.compile(r"^\s*(?:d\.?\s*n\.?\s*i\.?|l\.?\s*[ec]\.?|documento|doc\.?|n(?:ro|°|º)\.?)\s*[:#.]?\s*", re.I)


_DNI_FLOAT_TEXT = re.compile(r"\d+\.0+")
_DNI_WRITTEN = re.compile(r"[\d.\s\-]+")
_NON_DIGITS = re.compile(r"\D")


def clean_dni(value: object) -> str | None:
    """'30.123.456', '30 123 456', 'DNI 30123456', 30123456, 30123456.0 -> '30123456'; None unless 7-8 digits."""
    if type(value) is str and value.isdigit() and value.isascii():  # the common case: plain digits
        digits = value.lstrip("0")
        return digits if 7 <= len(digits) <= 8 else None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    if isinstance(value, int):
        digits = str(value)
    else:
        raw = str(value).strip()
        if _DNI_FLOAT_TEXT.fullmatch(raw):
            raw = raw.split(".")[0]
        raw = _DNI_PREFIX.sub("", raw)
        if not _DNI_WRITTEN.fullmatch(raw):
            return None
        digits = _NON_DIGITS.sub("", raw)
    digits = digits.lstrip("0")
    return digits if 7 <= len(digits) <= 8 else None


# Compiled with the module, as rapidfuzz is imported with it: whatever is first made in the middle of
# a large import (a compiled pattern, a module) outlives it and pins the memory blocks of the import's
# own short-lived objects around it, so the worker stays larger after the import (tracemalloc: these
# were nearly all that outlived a 200,000-row dry run).
_AFTER_HYPHEN = re.compile(r"(?<=[-'’])(\w)")
_UNAVAILABLE = re.compile(r"\b(no (puedo|disponible|voy|podre|participa)|ninguna|unavailable|not available|baja)\b")
_FULL_DAY = re.compile(r"\b(todo el dia|todo|completo|completa|full|full day|all day|ambos|ambas|mañana y tarde)\b")
_MORNING = re.compile(r"\b(manana|morning|am|temprano|apertura)\b")
_AFTERNOON = re.compile(r"\b(tarde|afternoon|pm|cierre|escrutinio)\b")
_WHATSAPP = re.compile(r"\b(whatsapp|whats app|wsp|wpp|wapp|wasap|wa)\b")
_SMS = re.compile(r"\b(sms|texto|mensaje de texto|mensajes de texto)\b")
_AUTO = re.compile(r"\b(auto|automatico|cualquiera|indistinto|ambos|any)\b")
_TABLE = re.compile(r"\b(mesa|table)\b")
_PLACE = re.compile(r"\b(general|escuela|establecimiento|place|school)\b")
_ANY_ROLE = re.compile(r"\b(cualquiera|ambos|ambas|indistinto|todos|any|both|lo que sea)\b")

_NAME_PARTICLES = {"de", "del", "la", "las", "los", "y", "da", "di", "van", "von", "san"}


def forget_cached_values() -> None:
    """Empty the caches of cleaned cell values (names, choices, phone checks) after a large import.

    Their entries are made all through a 200,000-row read, scattered among the import's own objects:
    kept, each pins a block of the interpreter's memory and the worker stays some 100 MB larger
    after the import than before it. The next import fills them again (one check per distinct value)."""
    for cached in (_nice, split_full_name, parse_availability, parse_channel, parse_role, normalize_digits):
        cached.cache_clear()


@lru_cache(maxsize=65536)
def _nice(name: str) -> str:
    """Shouted or lower-case names to title case ('GARCÍA' -> 'García'); mixed case is the person's own."""
    name = " ".join(name.split()).strip(" ,.;")
    if name.isupper() or name.islower():
        words = [
            w.capitalize() if w.lower() not in _NAME_PARTICLES or i == 0 else w.lower()
            for i, w in enumerate(name.split())
        ]
        name = " ".join(words)
        name = _AFTER_HYPHEN.sub(lambda m: m.group(1).upper(), name)
    return name


@lru_cache(maxsize=65536)
def split_full_name(value: str) -> tuple[str, str]:
    """(first names, last name) of 'GARCÍA, María José' or 'María José García' ('de la Fuente' stays whole)."""
    value = " ".join(value.split()).strip(" ,")
    if "," in value:
        last, first = value.split(",", 1)
        return _nice(first), _nice(last)
    words = value.split(" ")
    if len(words) == 1:
        return "", _nice(value)
    last_start = len(words) - 1
    while last_start > 1 and words[last_start - 1].lower() in _NAME_PARTICLES:
        last_start -= 1
    return _nice(" ".join(words[:last_start])), _nice(" ".join(words[last_start:]))


_HOURS = re.compile(r"(\d{1,2})\s*(?:[:.h]\s*\d{0,2})?\s*(?:hs?|horas)?\s*(?:a|-|hasta)\s*(\d{1,2})")


@lru_cache(maxsize=65536)
def parse_availability(value: str) -> str | None:
    """Free Spanish (or English) text to full_day / morning / afternoon / unavailable; None when not understood."""
    folded = fold(value)
    if not folded:
        return None
    if _UNAVAILABLE.search(folded):
        return "unavailable"
    if _FULL_DAY.search(folded):
        return "full_day"
    morning = bool(_MORNING.search(folded))
    afternoon = bool(_AFTERNOON.search(folded))
    if morning and afternoon:
        return "full_day"
    if morning:
        return "morning"
    if afternoon:
        return "afternoon"
    hours = _HOURS.search(folded)
    if hours:
        start, end = int(hours.group(1)), int(hours.group(2))
        if start <= 9 and end >= 17:
            return "full_day"
        if end <= 14:
            return "morning"
        if start >= 12:
            return "afternoon"
        return "full_day"
    if folded in {"si", "yes", "x", "ok", "disponible"}:
        return "full_day"
    return None


@lru_cache(maxsize=1024)
def parse_channel(value: str) -> str | None:
    """'WhatsApp', 'wsp' -> whatsapp; 'SMS', 'mensaje de texto' -> sms; 'cualquiera', 'auto' -> auto; None otherwise."""
    folded = fold(value)
    if not folded:
        return None
    if _WHATSAPP.search(folded):
        return "whatsapp"
    if _SMS.search(folded):
        return "sms"
    if _AUTO.search(folded):
        return "auto"
    return None


@lru_cache(maxsize=65536)
def parse_role(value: str) -> str | None:
    """'fiscal de mesa' -> table, 'fiscal general' -> place, 'cualquiera'/'ambos' -> any; None when not understood."""
    folded = fold(value)
    if not folded:
        return None
    table = bool(_TABLE.search(folded))
    place = bool(_PLACE.search(folded))
    if (table and place) or _ANY_ROLE.search(folded):
        return "any"
    if table:
        return "table"
    if place:
        return "place"
    if folded in {"fiscal", "fiscal de mesa"}:
        return "table"
    return None


def parse_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    folded = fold(text(value))
    if not folded:
        return None
    if folded in {"si", "s", "yes", "y", "x", "1", "true", "verdadero", "ok", "capacitado", "capacitada", "hecho"}:
        return True
    if folded in {"no", "n", "0", "false", "falso", "pendiente"}:
        return False
    return None


# Official lists and people abbreviate differently ("ESC PROV", "Escuela Provincial"): compare short forms.
_PLACE_WORDS = {
    "escuela": "esc",
    "colegio": "col",
    "instituto": "inst",
    "provincial": "prov",
    "nacional": "nac",
    "municipal": "mun",
    "educativo": "educ",
    "educacion": "educ",
    "educacional": "educ",
    "centro": "ctro",
    "jardin": "jard",
    "tecnica": "tec",
    "tecnico": "tec",
    "doctor": "dr",
    "general": "gral",
    "presidente": "pres",
    "nro": "",
    "n": "",
    "numero": "",
    "no": "",
    "de": "",
    "del": "",
    "la": "",
    "el": "",
}


def place_key(name: object) -> str:
    """A polling place name folded and with its common words shortened, for matching."""
    words = (_PLACE_WORDS.get(w, w) for w in fold(name).split())
    return " ".join(w for w in words if w)


@dataclass
class PlaceCandidate:
    id: int
    code: str
    name: str
    area_path: str


class PlaceMatcher:
    """'Vota en' to a polling place: by official code anywhere, or by fuzzy name within the locality.

    Without a known locality only an exact (folded) name that is unique in the election matches:
    "Escuela Belgrano" exists in many towns. Results are cached per (locality, text).
    """

    FUZZY_CUTOFF = 80

    def __init__(self, places: Iterable[PlaceCandidate], areas: Iterable[tuple[int, str, str]]):
        self.places = list(places)
        self.keys = {p.id: place_key(p.name) for p in self.places}
        self.by_code = {fold(p.code): p for p in self.places}
        self.by_name: dict[str, list[PlaceCandidate]] = {}
        for place in self.places:
            self.by_name.setdefault(self.keys[place.id], []).append(place)
        # folded area name -> [(area id, path)], deepest first (a locality beats a department of the same name)
        self.areas: dict[str, list[tuple[int, str]]] = {}
        for area_id, name, path in sorted(areas, key=lambda a: -a[2].count("/")):
            self.areas.setdefault(fold(name), []).append((area_id, path))
        # area path -> ids of the places in its subtree, built once ("/a/", "/a/b/", "/a/b/c/" for each place)
        self._subtree: dict[str, list[int]] = {}
        for place in self.places:
            parts = place.area_path.strip("/").split("/")
            for depth in range(1, len(parts) + 1):
                self._subtree.setdefault("/" + "/".join(parts[:depth]) + "/", []).append(place.id)
        self._in_area: dict[str, dict[int, str]] = {}
        self._cache: dict[tuple[str, str], tuple[int | None, float | None]] = {}

    def locality(self, name: str) -> tuple[int, str] | None:
        found = self.areas.get(fold(name))
        return found[0] if found else None

    def _choices(self, path: str) -> dict[int, str]:
        choices = self._in_area.get(path)
        if choices is None:
            choices = {pk: self.keys[pk] for pk in self._subtree.get(path, [])}
            self._in_area[path] = choices
        return choices

    def match(self, value: str, locality_path: str | None) -> tuple[int | None, float | None]:
        """(place id, score 0-100) or (None, best score seen)."""
        key = (locality_path or "", place_key(value))
        if key in self._cache:
            return self._cache[key]
        self._cache[key] = result = self._match(value, locality_path)
        return result

    def _match(self, value: str, locality_path: str | None) -> tuple[int | None, float | None]:
        folded = place_key(value)
        if not folded:
            return None, None
        coded = self.by_code.get(folded) or self.by_code.get(fold(value.split(" ")[0]))
        if coded is not None and (locality_path is None or coded.area_path.startswith(locality_path)):
            return coded.id, 100.0
        if locality_path is None:
            same = self.by_name.get(folded, [])
            return (same[0].id, 100.0) if len(same) == 1 else (None, None)
        exact = [p for p in self.by_name.get(folded, []) if p.area_path.startswith(locality_path)]
        if len(exact) == 1:
            return exact[0].id, 100.0
        best = process.extractOne(
            folded, self._choices(locality_path), scorer=fuzz.WRatio, score_cutoff=self.FUZZY_CUTOFF
        )
        if best is None:
            return None, None
        _name, score, place_id = best
        return place_id, round(score, 1)
