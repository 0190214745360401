"""Operational endpoints."""

from django.db import connection
from django.http import JsonResponse


def healthz(request):
    """200 when the database answers; load balancers and docker-compose poll this."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any database failure means "not healthy"
        return JsonResponse({"status": "error", "database": str(exc.__class__.__name__)}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})
