"""Email addresses as people write them: internationalised local parts and domains (RFC 6531).

One function decides, for the roster import, the admin, the console and the API alike. Django's
own validator is ASCII-only in the local part and would refuse "josé.núñez@correo.com.ar".
"""

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

_PLAIN_EMAIL = re.compile(
    r"[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", re.IGNORECASE
)


# RFC 6531 (SMTPUTF8): the local part is a dot-atom of ASCII atext or any non-ASCII character.
_LOCAL_ATOM = r"(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]|[^\x00-\x7f])+"
_UTF8_LOCAL = re.compile(rf"{_LOCAL_ATOM}(?:\.{_LOCAL_ATOM})*")


def email_clean(value: str) -> tuple[str, bool]:
    """(email in lower case, valid?); an empty cell is ('', True). Accented local parts and domains are
    accepted (RFC 6531; the domain must have a valid IDNA form)."""
    value = value.strip().strip("<>").strip()
    if value.lower().startswith("mailto:"):
        value = value[7:]
    if not value:
        return "", True
    if _PLAIN_EMAIL.fullmatch(value):  # a strict subset of what Django accepts, ten times cheaper
        return value.lower(), True
    local, at, domain = value.rpartition("@")
    if not at or not _UTF8_LOCAL.fullmatch(local) or len(local.encode()) > 64 or len(value.encode()) > 254:
        return "", False
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
        validate_email(f"x@{ascii_domain}")
    except (UnicodeError, ValidationError):
        return "", False
    return unicodedata.normalize("NFC", value).lower(), True


def validate_international_email(value: str) -> None:
    """A model and form validator: refuses what `email_clean` does not accept."""
    if value and not email_clean(value)[1]:
        raise ValidationError(_("«%(value)s» no es un email válido."), code="invalid", params={"value": value})
