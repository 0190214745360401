"""WebSocket routes of every domain app."""

from django.urls import path

from backend.threads.consumers import ThreadConsumer

websocket_urlpatterns: list = [
    path("ws/threads/<int:place_id>/", ThreadConsumer.as_asgi()),
]
