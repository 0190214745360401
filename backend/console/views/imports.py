"""Imports live in the imports app; the console only points there."""

from django.shortcuts import render

from .. import domain
from ..access import console_view


@console_view
def imports(request):
    return render(request, "console/imports.html", {"nav_active": "imports", "upload_url": domain.imports_url()})
