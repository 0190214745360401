"""The one application error type raised by services.

Adapters render it: the API as JSON with a stable code, SMS as a short reply, the web as a form
error. Codes are enums next to the service that raises them.
"""

from enum import StrEnum
from typing import Any


class ApplicationError(Exception):
    """A rule of the domain said no. `message` is translatable text for the person acting."""

    def __init__(self, message: Any, *, code: StrEnum | str = "invalid", extra: dict | None = None):
        super().__init__(str(message))
        self.message = message
        self.code = str(code)
        self.extra = extra or {}


class PermissionDenied(ApplicationError):
    """The acting user may not touch this object (see backend.permissions)."""

    def __init__(self, message: Any = None, *, code: str = "permission_denied"):
        from django.utils.translation import gettext_lazy as _

        super().__init__(message or _("No tenés permiso para hacer esto."), code=code)
