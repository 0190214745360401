"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import gc
import os
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")

# Django must be set up before the routing imports models (as `get_asgi_application` does).
django.setup(set_prefix=False)

from backend.core.handlers import ReusedThreadASGIHandler  # noqa: E402

# Django's handler, each request's sync code in a reused thread rather than two new ones (its docstring).
django_asgi_app = ReusedThreadASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import get_resolver, re_path  # noqa: E402

from backend.core.origins import OriginValidator  # noqa: E402
from backend.routing import self_authenticating_websocket_urlpatterns, websocket_urlpatterns  # noqa: E402

http_app: Any = django_asgi_app
if settings.DEBUG:
    # Serve static files from the ASGI server in development; production uses WhiteNoise.
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    http_app = ASGIStaticFilesHandler(django_asgi_app)

application = ProtocolTypeRouter(
    {
        "http": http_app,
        # The station-thread socket reads its session with its membership in one thread hop (the
        # national-scale connect path); the other sockets get the user from AuthMiddlewareStack.
        "websocket": OriginValidator(
            URLRouter(
                [
                    *self_authenticating_websocket_urlpatterns,
                    re_path(r"^", AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
                ]
            )
        ),
    }
)

# What is loaded by now (Django, the views, the catalogues) lives as long as the process: frozen,
# the collector's full passes no longer walk it. Unfrozen, one such pass every few requests cost
# the console's national pages about 120 ms of CPU on top of their 100-200 (bench/console.py).
_views = get_resolver().url_patterns  # every view imported now, so that they are frozen too
gc.freeze()
