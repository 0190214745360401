"""The handshake floor of bench/threads.py: a bare ASGI app that accepts every WebSocket.

Run by the bench under the same uvicorn options as the project (`uvicorn --app-dir bench
bare_ws:app`): it answers /healthz, accepts each socket, and answers each text frame (the client's
hello) with a `caught_up` frame, so a client connects exactly as it does to the real thread socket,
minus Django, the session, the membership and the catch-up. What uvicorn and the websockets
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
            elif message["type"] == "websocket.receive":
                await send({"type": "websocket.send", "text": CAUGHT_UP})
            elif message["type"] == "websocket.disconnect":
                return
