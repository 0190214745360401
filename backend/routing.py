"""WebSocket routes of every domain app."""

from django.urls import path

from backend.console.routing import websocket_urlpatterns as console_ws
from backend.threads.consumers import ThreadConsumer

# Consumers that read the session themselves (no AuthMiddlewareStack in front of them).
self_authenticating_websocket_urlpatterns: list = [
    path("ws/threads/<int:place_id>/", ThreadConsumer.as_asgi()),
]
# Consumers that find the user in scope["user"] (AuthMiddlewareStack).
websocket_urlpatterns: list = [*console_ws]
