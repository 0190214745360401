"""SMS segment counting (GSM-7 vs UCS-2) and transliteration to GSM-7.

One character outside the GSM-7 alphabet (an "á", a curly quote, an emoji) makes the whole
message UCS-2: 70 characters per segment instead of 160, so a Spanish accent can double the cost.
"""

import unicodedata
from dataclasses import dataclass

# GSM 03.38 basic character set (the escape character excluded) and its extension table.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")

# Common characters that have a close GSM-7 equivalent but do not decompose to one.
_REPLACEMENTS = {
    "“": '"',
    "”": '"',
    "„": '"',
    "«": '"',
    "»": '"',
    "‘": "'",
    "’": "'",
    "´": "'",
    "`": "'",
    "–": "-",
    "—": "-",
    "…": "...",
    "\u00a0": " ",
    "\t": " ",
    "º": "o",
    "ª": "a",
    "°": "o",
    "•": "-",
}


@dataclass(frozen=True)
class SegmentInfo:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int
    per_segment: int


GSM7_ALL = GSM7_BASIC | GSM7_EXTENDED
_EXTENDED_LIST = tuple(GSM7_EXTENDED)


def is_gsm7(text: str) -> bool:
    return set(text) <= GSM7_ALL


def segment_info(text: str, *, gsm7: bool | None = None) -> SegmentInfo:
    """How many SMS segments `text` costs, the way carriers count them.

    `gsm7=True` skips the alphabet check when the caller knows (a transliterated text).
    """
    if gsm7 or (gsm7 is None and is_gsm7(text)):
        # Extension characters (€, [, ], {, }, ~, |, ^, \\) take two septets.
        units = len(text) + sum(map(text.count, _EXTENDED_LIST))
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    if units <= single:
        return SegmentInfo(encoding, units, 1 if units else 0, single)
    return SegmentInfo(encoding, units, -(-units // multi), multi)


class _TransliterationTable(dict):
    """str.translate table computed lazily, one entry per character ever seen."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        if ch in GSM7_ALL:
            value = ch
        elif ch in _REPLACEMENTS:
            value = _REPLACEMENTS[ch]
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            value = base if base and is_gsm7(base) else "?"
        self[code] = value
        return value


_TABLE = _TransliterationTable()


def transliterate(text: str) -> str:
    """Replace every character outside GSM-7 with its closest GSM-7 equivalent.

    Characters already in GSM-7 stay (ñ, é, ü, ¿, ¡ are in the alphabet); "á" becomes "a",
    curly quotes become straight ones; what has no equivalent becomes "?".
    """
    if is_gsm7(text):
        return text
    return text.translate(_TABLE)
