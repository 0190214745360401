"""Text helpers shared by importers and keyword parsers, and the one cleaning step for text that enters.

`clean_text` is applied at the edge to every text a person or a file gives us (SMS bodies,
spreadsheet cells, thread posts, names): what a database, an XML export or a terminal cannot hold
never gets past it.
"""

import re
import unicodedata
from enum import StrEnum

from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
# C0 and C1 control characters (tab and newline are kept where lines make sense), DEL, and the
# non-characters U+FFFE/U+FFFF: PostgreSQL refuses NUL, XML 1.0 (xlsx) refuses the rest.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")
_CONTROL_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class TextError(StrEnum):
    INVALID_CHARACTERS = "invalid_characters"
    TOO_LONG = "text_too_long"


def clean_text(value: object, *, max_length: int, multiline: bool = False, truncate: bool = False) -> str:
    """`value` as text safe to store and export: controls removed, Unicode NFC, at most `max_length` characters.

    Lone surrogates (only JSON escapes like "\\ud800" can produce them) are refused: they cannot be
    encoded, so the text cannot be stored or sent back. Text over `max_length` is refused with
    `TextError.TOO_LONG`, or cut when `truncate` (an SMS that already arrived must be kept).
    Carriage returns become newlines in `multiline` text and spaces otherwise.
    """
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    if _SURROGATE.search(text):
        raise ApplicationError(
            _("El texto tiene caracteres inválidos (sustitutos sueltos de UTF-16)."), code=TextError.INVALID_CHARACTERS
        )
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if multiline:
        text = _CONTROL.sub("", text)
    else:
        text = _CONTROL_ONE_LINE.sub(lambda m: " " if m.group() in "\t\n" else "", text)
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if len(text) > max_length:
        if not truncate:
            raise ApplicationError(
                _("El texto supera los %(max)s caracteres.") % {"max": max_length},
                code=TextError.TOO_LONG,
                extra={"max_length": max_length},
            )
        text = text[:max_length]
    return text


def has_unsafe_characters(text: str) -> bool:
    """Whether `clean_text` would change or refuse `text` for a reason other than its length."""
    return bool(_CONTROL.search(text) or _SURROGATE.search(text) or "\r" in text) or (
        not text.isascii() and not unicodedata.is_normalized("NFC", text)
    )


def fold(text: object) -> str:
    """Lower case, no accents, punctuation and spaces collapsed: 'D.N.I.' -> 'dni', 'Sección' -> 'seccion'."""
    value = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode("ascii").lower()
    return _NON_ALNUM.sub(" ", value).strip()


def header_key(text: object) -> str:
    """A header folded with no spaces at all: 'Código establecimiento' -> 'codigoestablecimiento'."""
    return fold(text).replace(" ", "")


def slug_code(text: object, max_length: int = 64) -> str:
    return fold(text).replace(" ", "-")[:max_length] or "sin-nombre"


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# What XML 1.0 (and so openpyxl, which raises IllegalCharacterError) cannot hold in a cell.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def spreadsheet_cell(value: object) -> object:
    """A value safe to write into an exported spreadsheet cell.

    Text loses what the format cannot hold (controls, lone surrogates) and text that a spreadsheet
    program would run as a formula (it starts with =, +, -, @, a tab or a carriage return) gets a
    leading apostrophe; numbers, dates and booleans pass unchanged.
    """
    if isinstance(value, str):
        value = _XML_ILLEGAL.sub("", value)
        return "'" + value if value.startswith(FORMULA_PREFIXES) else value
    return value
