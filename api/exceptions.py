"""One exception handler: every error is JSON `{"code": ..., "message": ..., "detail": ...}`.

Codes are stable (clients switch on them); messages are translated into the request's language
(LocaleMiddleware picks it from the session, the language cookie or Accept-Language).
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from backend.core.exceptions import ApplicationError
from backend.core.exceptions import PermissionDenied as DomainPermissionDenied
from backend.core.uploads import UploadTooBig

logger = logging.getLogger(__name__)


def _message_for(exc: exceptions.APIException, code: str) -> str:
    """Our own wording for the framework's errors, so both catalogues (es-AR, en) cover them."""
    messages = {
        "not_authenticated": _("Tenés que iniciar sesión para hacer esto."),
        "authentication_failed": _("Las credenciales no son válidas o vencieron."),
        "permission_denied": _("No tenés permiso para hacer esto."),
        "not_found": _("No encontramos lo que buscás."),
        "method_not_allowed": _("Esta operación no admite ese método."),
        "not_acceptable": _("No podemos responder en el formato pedido."),
        "unsupported_media_type": _("Formato de datos no admitido."),
        "parse_error": _("No se pudo leer el cuerpo del pedido."),
    }
    if code == "throttled":
        wait = getattr(exc, "wait", None)
        if wait:
            return ngettext(
                "Demasiados pedidos: probá de nuevo en %(wait)d segundo.",
                "Demasiados pedidos: probá de nuevo en %(wait)d segundos.",
                wait,
            ) % {"wait": wait}
        return _("Demasiados pedidos: probá de nuevo en un momento.")
    return messages.get(code, str(exc.detail))


def exception_handler(exc, context):
    if isinstance(exc, DomainPermissionDenied):
        return Response(
            {"code": exc.code, "message": str(exc.message), "detail": exc.extra}, status=status.HTTP_403_FORBIDDEN
        )
    if isinstance(exc, ApplicationError):
        code = (
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE if isinstance(exc, UploadTooBig) else status.HTTP_400_BAD_REQUEST
        )
        return Response({"code": exc.code, "message": str(exc.message), "detail": exc.extra}, status=code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: Django logs it and answers 500 (see api_server_error)
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "code": "validation_error",
            "message": _("Los datos enviados no son válidos."),
            "detail": response.data,
        }
        return response
    detail = exc.detail
    code = str(getattr(detail, "code", None) or exc.default_code)
    extra = {"wait": exc.wait} if isinstance(exc, exceptions.Throttled) and exc.wait else {}
    response.data = {"code": code, "message": _message_for(exc, code), "detail": extra}
    return response


def api_not_found(request, exception=None):
    """handler404 for /api/ paths: the same JSON shape as every other API error."""
    return JsonResponse({"code": "not_found", "message": _("No encontramos lo que buscás."), "detail": {}}, status=404)


def api_server_error(request):
    """handler500 for /api/ paths: a stable code and nothing internal."""
    return JsonResponse(
        {"code": "server_error", "message": _("Error interno: ya quedó registrado."), "detail": {}}, status=500
    )
