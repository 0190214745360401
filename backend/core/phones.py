"""Phone numbers to E.164, Argentina first, with the `phonenumbers` library deciding validity.

Rosters list mobiles, written every way people write them: `011 15-4567-8901`, `(0351) 15 412 3456`,
`+54 9 11 4567 8901`, `5491145678901` (a number cell), `cel: 0351-15...`. The rules:

- a number valid as a mobile is stored as such;
- a number valid only as a landline (`11 4567-8901`, no 9 and no 15) is stored in its mobile form
  (`+54 9 ...`) with a warning, because a roster lists mobiles;
- a number with no area code (`15-4567-8901`) takes the default area code when one is given,
  otherwise it is rejected; anything else that is not clearly a number is rejected.

Cheap on purpose: labels and punctuation are stripped with one regex, the Argentine national prefix
("0" and the mobile "15") is removed with the metadata's own parsing rule, and validity is asked
of `phonenumbers.number_type` on the national number; the result is cached by cleaned digits, so
each distinct number costs one check (a full `phonenumbers.parse` is four times slower).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumberType

from .area_codes import AREA_CODES_BY_LOCALITY
from .text import fold

_AR_METADATA = phonenumbers.PhoneMetadata.metadata_for_region("AR")
assert _AR_METADATA is not None, "phonenumbers ships Argentine metadata"
_AR = _AR_METADATA
assert _AR.national_prefix_for_parsing is not None, "the Argentine metadata has a national prefix rule"
# "0?(?:(11|2...|3...)15)?": the trunk 0 and the mobile 15 after the area code (group 1).
_AR_NATIONAL_PREFIX = re.compile(_AR.national_prefix_for_parsing)
_SEPARATORS = re.compile(r"\s*(?:/|;|\||,|\s[oy]\s)\s*", re.IGNORECASE)
_NON_DIGIT = re.compile(r"\D")
_FIRST_SIGNIFICANT = re.compile(r"[+0-9]")
_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


class PhoneIssue(StrEnum):
    LANDLINE_AS_MOBILE = "phone_landline_as_mobile"  # warning
    DEFAULT_AREA_CODE = "phone_default_area_code"  # warning
    SEVERAL_NUMBERS = "phone_several_numbers"  # warning
    INVALID = "phone_invalid"  # error
    NO_AREA_CODE = "phone_no_area_code"  # error
    NOT_MOBILE = "phone_not_mobile"  # error


@dataclass(frozen=True, slots=True)
class PhoneResult:
    e164: str | None
    warnings: tuple[PhoneIssue, ...] = ()
    error: PhoneIssue | None = None


EMPTY = PhoneResult(None)


def phone_digits(raw: object) -> list[tuple[bool, str]]:
    """(has a leading +, digits) of each number written in the cell, in order."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, bool):
        return []
    if isinstance(raw, (int, float)):
        if isinstance(raw, float) and not raw.is_integer():
            return []
        return [(False, str(int(raw)))]
    text = str(raw).strip()
    if text.endswith(".0") and text[:-2].isdigit():  # a number cell exported to text by Excel
        text = text[:-2]
    found = []
    for part in _SEPARATORS.split(text):
        digits = _NON_DIGIT.sub("", part)
        if len(digits) >= 6:
            first = _FIRST_SIGNIFICANT.search(part)
            found.append((first is not None and first.group() == "+", digits))
    return found


def normalize_phone(raw: object, *, default_area_code: str | None = None) -> PhoneResult:
    """The E.164 form of the (first) number in `raw`, with warnings, or the reason it was rejected."""
    numbers = phone_digits(raw)
    if not numbers:
        if raw in (None, "") or not str(raw).strip():
            return EMPTY
        return PhoneResult(None, error=PhoneIssue.INVALID)
    plus, digits = numbers[0]
    result = normalize_digits(plus, digits, default_area_code or "")
    if len(numbers) > 1 and result.e164:
        return PhoneResult(result.e164, (*result.warnings, PhoneIssue.SEVERAL_NUMBERS))
    return result


def _compiled(desc) -> tuple[frozenset[int], re.Pattern] | None:
    if desc is None or not desc.national_number_pattern:
        return None
    return frozenset(n for n in desc.possible_length if n > 0), re.compile(desc.national_number_pattern)


# The Argentine descriptors of the phonenumbers metadata, compiled once, in the order number_type() tries them.
_AR_GENERAL = _compiled(_AR.general_desc)
_AR_SPECIAL = [
    (kind, desc)
    for kind, desc in (
        (PhoneNumberType.PREMIUM_RATE, _compiled(_AR.premium_rate)),
        (PhoneNumberType.TOLL_FREE, _compiled(_AR.toll_free)),
        (PhoneNumberType.SHARED_COST, _compiled(_AR.shared_cost)),
        (PhoneNumberType.VOIP, _compiled(_AR.voip)),
        (PhoneNumberType.PERSONAL_NUMBER, _compiled(_AR.personal_number)),
        (PhoneNumberType.PAGER, _compiled(_AR.pager)),
        (PhoneNumberType.UAN, _compiled(_AR.uan)),
        (PhoneNumberType.VOICEMAIL, _compiled(_AR.voicemail)),
    )
    if desc is not None
]
_AR_FIXED = _compiled(_AR.fixed_line)
_AR_MOBILE = _compiled(_AR.mobile)


_Match = Callable[[str], object]


def _for_length(desc, length: int) -> _Match | None:
    """The descriptor's full match, when a number of `length` digits can be of its type."""
    if desc is None:
        return None
    lengths, pattern = desc
    return pattern.fullmatch if not lengths or length in lengths else None


@lru_cache(maxsize=32)
def _checks(length: int) -> tuple[_Match | None, tuple[tuple[int, _Match], ...], _Match | None, _Match | None]:
    """(general, specials in order, fixed line, mobile) for numbers of `length` digits: the
    possible lengths are looked at once per length, not on every number."""
    specials = tuple((kind, match) for kind, desc in _AR_SPECIAL if (match := _for_length(desc, length)))
    return (
        _for_length(_AR_GENERAL, length),
        specials,
        _for_length(_AR_FIXED, length),
        _for_length(_AR_MOBILE, length),
    )


def ar_number_type(national: str) -> int:  # a PhoneNumberType constant, an int
    """phonenumbers.number_type() of an Argentine national number, without building a PhoneNumber.

    Same descriptors and order as the library (a test compares both on many numbers); three
    times cheaper, which matters at one check per distinct number on a 100,000-row roster.
    """
    general, specials, fixed, mobile = _checks(len(national))
    if general is None or general(national) is None:
        return PhoneNumberType.UNKNOWN
    for kind, match in specials:
        if match(national) is not None:
            return kind
    is_mobile = mobile is not None and mobile(national) is not None
    if fixed is not None and fixed(national) is not None:
        if _AR.same_mobile_and_fixed_line_pattern or is_mobile:
            return PhoneNumberType.FIXED_LINE_OR_MOBILE
        return PhoneNumberType.FIXED_LINE
    return PhoneNumberType.MOBILE if is_mobile else PhoneNumberType.UNKNOWN


def _argentine(national_digits: str) -> PhoneResult | None:
    """An Argentine number written nationally (with or without 0 and 15); None when it is no valid number."""
    match = _AR_NATIONAL_PREFIX.match(national_digits)
    rest = national_digits[match.end() :] if match else national_digits
    # 0AREA 15 NUMBER is a mobile: the rule turns it into 9 AREA NUMBER.
    national = "9" + match.group(1) + rest if match and match.group(1) else rest
    if not national or len(national) > 11:
        return None
    kind = ar_number_type(national)
    if national.startswith("9") and kind in _MOBILE_TYPES:
        return PhoneResult("+54" + national)
    if kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
        if ar_number_type("9" + national) in _MOBILE_TYPES:
            return PhoneResult("+549" + national, (PhoneIssue.LANDLINE_AS_MOBILE,))
        return PhoneResult(None, error=PhoneIssue.NOT_MOBILE)
    if kind in _MOBILE_TYPES:
        return PhoneResult("+54" + national)
    return None


# Bounded: a roster's numbers are nearly all distinct, so a cache as large as the roster saved no time
# and kept about 250 bytes per number for the life of the worker (50 MB after a 200,000-row import).
@lru_cache(maxsize=16_384)
def normalize_digits(plus: bool, digits: str, default_area_code: str = "") -> PhoneResult:
    """Cached core of `normalize_phone`: one check per distinct (digits, default area code)."""
    if digits.startswith("00"):
        plus, digits = True, digits[2:]
    if plus or (digits.startswith("54") and len(digits) in (12, 13)):
        if not digits.startswith("54"):
            try:
                number = phonenumbers.parse("+" + digits)
            except phonenumbers.NumberParseException:
                return PhoneResult(None, error=PhoneIssue.INVALID)
            kind = phonenumbers.number_type(number)
            if kind in _MOBILE_TYPES:
                return PhoneResult(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
            issue = PhoneIssue.NOT_MOBILE if kind != PhoneNumberType.UNKNOWN else PhoneIssue.INVALID
            return PhoneResult(None, error=issue)
        national = digits[2:]
        if national.startswith("9") and len(national) == 11:
            if ar_number_type(national) in _MOBILE_TYPES:
                return PhoneResult("+54" + national)
            return PhoneResult(None, error=PhoneIssue.INVALID)
        return _argentine(national) or PhoneResult(None, error=PhoneIssue.INVALID)

    result = _argentine(digits)
    if result is not None:
        return result
    # No area code: "15-4567-8901" (mobile) or a bare subscriber number "4567-8901".
    local = digits[2:] if digits.startswith("15") else digits
    if not digits.startswith("0") and 6 <= len(local) <= 8:
        if not default_area_code:
            return PhoneResult(None, error=PhoneIssue.NO_AREA_CODE)
        area = default_area_code.lstrip("0")
        if len(area) + len(local) != 10:
            return PhoneResult(None, error=PhoneIssue.INVALID)
        with_area = _argentine("0" + area + ("15" if digits.startswith("15") else "") + local)
        if with_area is None or with_area.e164 is None:
            return with_area or PhoneResult(None, error=PhoneIssue.INVALID)
        return PhoneResult(with_area.e164, (PhoneIssue.DEFAULT_AREA_CODE, *with_area.warnings))
    return PhoneResult(None, error=PhoneIssue.INVALID)


# --- Area codes by locality -------------------------------------------------------------------


def area_codes_from_library() -> dict[str, str]:
    """Folded locality name -> Argentine area code, from the geographic data `phonenumbers` ships
    ("54351": "Córdoba, Córdoba"; "542202": "González Catán/Virrey del Pino, Buenos Aires").

    A prefix there may run past the area code ("543586" is Río Cuarto: area 358); the library
    itself says how long the area code is. A name under several codes keeps the one of its
    shortest prefix (the city, not a neighbourhood with its own code); a tie keeps none.

    Not called at run time: that data is the whole world's and takes about 100 MB once imported,
    for good (a worker that once guessed an area code kept it). Its 300 Argentine entries are
    written to `area_codes.py` (`python -m backend.core.phones`); a test compares the two.
    """
    from phonenumbers.geodata import GEOCODE_DATA

    found: dict[str, dict[int, set[str]]] = {}
    for prefix, names in GEOCODE_DATA.items():
        if not prefix.startswith("54") or prefix.startswith("549"):
            continue
        national, length = _area_code_length(prefix[2:])
        if not length:
            continue
        description = names.get("es") or names.get("en") or ""
        place = description.rsplit(",", 1)[0] if "," in description else description
        for locality in place.split("/"):
            key = fold(locality.split("(")[0])
            if key:
                found.setdefault(key, {}).setdefault(len(prefix), set()).add(national[:length])
    codes: dict[str, str] = {}
    for key, by_length in found.items():
        shortest = by_length[min(by_length)]
        if len(shortest) == 1:
            codes[key] = next(iter(shortest))
    return codes


def _area_code_length(prefix: str) -> tuple[str, int]:
    """A valid 10-digit national number starting with `prefix`, and the length of its area code."""
    for fill in "4567238910":
        national = prefix.ljust(10, fill)[:10]
        try:
            number = phonenumbers.parse("+54" + national)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            length = phonenumbers.length_of_geographical_area_code(number)
            if length:
                return national, length
    return prefix, 0


def area_code_for_locality(name: str) -> str | None:
    """The area code of an Argentine locality by its name ("Río Cuarto" -> "358"), or None when the
    name is unknown or is shared by places with different codes."""
    return AREA_CODES_BY_LOCALITY.get(fold(name))


if __name__ == "__main__":
    print(
        '"""Folded Argentine locality name -> area code, written by `python -m backend.core.phones` from the\n'
        'phonenumbers library\'s geographic data (see `phones.area_codes_from_library`)."""\n\n'
        "AREA_CODES_BY_LOCALITY: dict[str, str] = {"
    )
    for locality, code in sorted(area_codes_from_library().items()):
        print(f"    {json.dumps(locality)}: {json.dumps(code)},")
    print("}")
