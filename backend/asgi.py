"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")

# Django must be set up before the routing imports models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import re_path  # noqa: E402

from backend.core.origins import OriginValidator  # noqa: E402
from backend.routing import self_authenticating_websocket_urlpatterns, websocket_urlpatterns  # noqa: E402

http_app = django_asgi_app
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
