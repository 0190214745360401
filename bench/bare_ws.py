"""The handshake floor of bench/threads.py: a bare ASGI app that accepts every WebSocket.

Run by the bench under the same uvicorn options as the project (`uvicorn --app-dir bench
bare_ws:app`): it answers /healthz, accepts each socket and sends a `caught_up` frame at once when
the URL carries `last_id` (as the thread socket does), else answers each text frame (a client's
hello) with it, so a client connects exactly as it does to the real thread socket, minus Django,
the session, the membership and the catch-up. What uvicorn and the websockets
protocol cost per socket is what no change to the project can save.
"""

CAUGHT_UP = '{"type": "caught_up", "last_id": 0}'


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    elif scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})
    elif scope["type"] == "websocket":
        while True:
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
                if b"last_id=" in scope.get("query_string", b""):
                    await send({"type": "websocket.send", "text": CAUGHT_UP})
            elif message["type"] == "websocket.receive":
                await send({"type": "websocket.send", "text": CAUGHT_UP})
            elif message["type"] == "websocket.disconnect":
                return
