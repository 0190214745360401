"""WebSocket routes of the console."""

from django.urls import path

from .consumers import BoardConsumer

websocket_urlpatterns = [
    path("ws/board/<int:election_id>/", BoardConsumer.as_asgi()),
]
