"""WebSocket routes of every domain app."""

from backend.console.routing import websocket_urlpatterns as console_ws

websocket_urlpatterns: list = []
websocket_urlpatterns += console_ws
