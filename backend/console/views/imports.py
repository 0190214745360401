"""Imports live in the imports app; the console only points there."""

from django.shortcuts import render

from ..access import console_view
from .common import imports_url


@console_view
def imports(request):
    return render(request, "console/imports.html", {"nav_active": "imports", "upload_url": imports_url()})
