"""One exception handler: every error is JSON `{"code": ..., "message": ..., "detail": ...}`.

Codes are stable (clients switch on them); messages are translated into the request's language.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from backend.core.exceptions import ApplicationError
from backend.core.exceptions import PermissionDenied as DomainPermissionDenied


def exception_handler(exc, context):
    if isinstance(exc, DomainPermissionDenied):
        return Response(
            {"code": exc.code, "message": str(exc.message), "detail": exc.extra}, status=status.HTTP_403_FORBIDDEN
        )
    if isinstance(exc, ApplicationError):
        return Response(
            {"code": exc.code, "message": str(exc.message), "detail": exc.extra}, status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "code": "validation_error",
            "message": _("Los datos enviados no son válidos."),
            "detail": response.data,
        }
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = {"code": str(code), "message": str(detail), "detail": {}}
    return response
