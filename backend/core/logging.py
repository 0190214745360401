"""A logging filter that keeps personal data and secrets out of every log line.

Installed on every handler (settings.LOGGING), so it sees records of every logger, the web
server's access log (uvicorn.access) and Django's request log included. It rewrites:

- sign-in links: a 22-character key at the root ("/Ab3...") and the older "/a/<token>" paths;
- phone numbers and DNIs: any run of seven or more digits (with the usual separators);
- email addresses.

It edits the record's arguments one by one (uvicorn's access formatter unpacks them), so the
line keeps its shape: `"GET /<enlace> HTTP/1.1" 302`.
"""

import logging
import re

_LINK = re.compile(r"/(?:a/[\w:.-]{8,}|[0-9A-Za-z]{22})(?![0-9A-Za-z])")
_DIGITS = re.compile(r"\+?\d(?:[\s.-]?\d){6,}")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def redact(text: str) -> str:
    text = _LINK.sub("/<enlace>", text)
    text = _EMAIL.sub("<email>", text)
    return _DIGITS.sub("<número>", text)


def _clean(value):
    if isinstance(value, bool | float) or value is None:
        return value
    if isinstance(value, int):
        return redact(str(value)) if abs(value) >= 1_000_000 else value
    if isinstance(value, bytes):
        return redact(value.decode("utf-8", "replace"))
    # Strings, and anything else rendered as text (the parameters of a logged SQL query, a dict).
    return redact(value if isinstance(value, str) else str(value))


class RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _clean(value) for key, value in record.args.items()}
        if record.exc_info and not record.exc_text:
            # Tracebacks quote values (a phone in a failed query): format once, then redact.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
