"""Text helpers shared by importers and keyword parsers."""

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def fold(text: object) -> str:
    """Lower case, no accents, punctuation and spaces collapsed: 'D.N.I.' -> 'dni', 'Sección' -> 'seccion'."""
    value = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode("ascii").lower()
    return _NON_ALNUM.sub(" ", value).strip()


def header_key(text: object) -> str:
    """A header folded with no spaces at all: 'Código establecimiento' -> 'codigoestablecimiento'."""
    return fold(text).replace(" ", "")


def slug_code(text: object, max_length: int = 64) -> str:
    return fold(text).replace(" ", "-")[:max_length] or "sin-nombre"
