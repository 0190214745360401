"""WebSocket handshakes only from allowed origins, compared by scheme, host and port.

A browser sends `Origin` with every WebSocket handshake; a page on another site (or on another
port or scheme of our own host) must not open a socket with our visitor's session cookie. An
origin is allowed when it is one of WEBSOCKET_ALLOWED_ORIGINS (PUBLIC_BASE_URL and the CSRF trusted
origins by default) or is exactly the origin the socket was opened on (its scheme, Host header and
port) with a host in ALLOWED_HOSTS. A handshake without an Origin is refused.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}
SOCKET_SCHEMES = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


def origin_tuple(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin such as "https://fz.ar" (port filled in), or None when malformed."""
    try:
        parts = urlsplit(origin.strip())
        scheme = SOCKET_SCHEMES.get(parts.scheme.lower())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    if scheme is None or not host or parts.path not in ("", "/") or parts.query or parts.username:
        return None
    return scheme, host, port or DEFAULT_PORTS[scheme]


def websocket_origin_allowed(scope: dict) -> bool:
    headers = {name.lower(): value for name, value in scope.get("headers") or []}
    origin = origin_tuple(headers.get(b"origin", b"").decode("latin-1"))
    if origin is None:
        return False
    if origin in {origin_tuple(allowed) for allowed in settings.WEBSOCKET_ALLOWED_ORIGINS}:
        return True
    host = headers.get(b"host", b"").decode("latin-1")
    own = origin_tuple(f"{SOCKET_SCHEMES.get(scope.get('scheme', 'ws'), 'http')}://{host}") if host else None
    return own == origin and validate_host(origin[1], settings.ALLOWED_HOSTS)


class OriginValidator:
    """ASGI middleware: refuse (403) a WebSocket handshake from an origin that is not allowed."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not websocket_origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
