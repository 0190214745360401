"""The front door: `/` sends coordinators to the console and everyone else to the right place."""

from django.shortcuts import redirect, render

from ..access import is_console_user


def home(request):
    if not request.user.is_authenticated:
        return redirect("login")
    if is_console_user(request.user):
        return redirect("console:coverage")
    return render(request, "console/forbidden.html", status=403)
