"""Instructions: the broadcast composer over the sms app's services, with live delivery counts."""

from django.shortcuts import render

from .. import domain
from ..access import console_view, current_election


@console_view
def instructions(request):
    election = current_election(request)
    return render(
        request,
        "console/instructions.html",
        {"nav_active": "instructions", "election": election, "available": domain.broadcasts_available()},
    )
