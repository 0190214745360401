"""WebSocket routes of every domain app."""

websocket_urlpatterns: list = []
