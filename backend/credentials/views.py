"""The door's verification page: no login, only what a table's president needs to match the person."""

from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .selectors import credential_verify


@require_GET
@never_cache
def verify(request, token: str):
    verification = credential_verify(token=token) if token.isalnum() and len(token) <= 16 else None
    response = render(
        request, "credentials/verify.html", {"v": verification}, status=200 if verification is not None else 404
    )
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response
