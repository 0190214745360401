"""A fake Twilio REST API on 127.0.0.1 for the real twilio client: Messages create, fetch, list
(SMS, and WhatsApp: whatsapp:+... addresses, ContentSid + ContentVariables templates), and MMS
media (served only with the account's credentials, as Twilio does with HTTP auth on).

Tests script its answers per request (`script`), read what it received (`requests`) and make it
hang to simulate slow or dying calls. Started and stopped by the test that needs it.
"""

import base64
import contextlib
import json
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class FakeTwilio:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list[dict] = []  # every POST to Messages.json, in arrival order
        self.messages: dict[str, dict] = {}  # accepted messages by SID
        self.script: list[tuple] = []  # ("ok",) ("error", http_status, code) ("hang", seconds)
        self.received = threading.Event()
        self.media: dict[str, tuple[str, bytes]] = {}  # path -> (content type, bytes)
        self.credentials: tuple[str, str] | None = None  # (account sid, auth token) media requires
        self.media_requests: list[str | None] = []  # the Authorization header of each media GET
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                # Like real servers: no Nagle delay between the headers and the body.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args):
                pass

            def _send(self, status: int, payload: dict):
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _media(self, path: str):
                header = self.headers.get("Authorization")
                with fake.lock:
                    fake.media_requests.append(header)
                if fake.credentials is not None:
                    expected = "Basic " + base64.b64encode(":".join(fake.credentials).encode()).decode()
                    if header != expected:
                        self._send(401, {"code": 20003, "message": "Authenticate", "status": 401})
                        return
                content_type, data = fake.media[path]
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                with fake.lock:
                    fake.requests.append(form)
                    action = fake.script.pop(0) if fake.script else ("ok",)
                fake.received.set()
                if action[0] == "error":
                    _, status, code = action
                    self._send(status, {"code": code, "message": f"fake error {code}", "status": status})
                    return
                sid = "SM" + uuid.uuid4().hex
                # A template's body is Twilio's rendering of the approved text, never ours.
                template = form.get("ContentSid")
                rendered = f"[{template}] {form.get('ContentVariables', '')}" if template else None
                message = {
                    "sid": sid,
                    "to": form.get("To"),
                    "from": form.get("From"),
                    "body": form.get("Body") or rendered,
                    "status": "accepted" if form.get("MessagingServiceSid") else "queued",
                    "messaging_service_sid": form.get("MessagingServiceSid"),
                    # WhatsApp templates: Twilio renders the approved text from these.
                    "content_sid": form.get("ContentSid"),
                    "content_variables": form.get("ContentVariables"),
                    "num_segments": "1",
                    "date_created": "Tue, 24 Nov 2026 23:00:00 +0000",
                    "date_sent": None,
                }
                with fake.lock:
                    fake.messages[sid] = message
                if action[0] == "hang":  # accepted, but the answer is slow (or never read)
                    time.sleep(action[1])
                # The client may have given up (timeout) or died: Twilio keeps the message anyway.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._send(201, message)

            def do_GET(self):
                url = urlparse(self.path)
                if url.path in fake.media:
                    self._media(url.path)
                    return
                if url.path == "/_stats":  # for a benchmark running the fake in another process
                    with fake.lock:
                        per_to: dict = {}
                        for r in fake.requests:
                            per_to[r.get("To")] = per_to.get(r.get("To"), 0) + 1
                    self._send(200, {"posts": len(fake.requests), "max_per_to": max(per_to.values(), default=0)})
                    return
                if url.path.endswith("/Messages.json"):
                    query = {k: v[0] for k, v in parse_qs(url.query).items()}
                    with fake.lock:
                        found = [m for m in fake.messages.values() if m["to"] == query.get("To")]
                    self._send(200, {"messages": found, "next_page_uri": None, "page": 0, "page_size": 50})
                    return
                sid = url.path.rsplit("/", 1)[-1].removesuffix(".json")
                with fake.lock:
                    message = fake.messages.get(sid)
                if message is None:
                    self._send(404, {"code": 20404, "message": "not found", "status": 404})
                else:
                    self._send(200, message)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self) -> "FakeTwilio":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_media(self, content_type: str, data: bytes) -> str:
        """Serve `data` like an MMS attachment; returns its URL (on the fake's API host)."""
        path = f"/2010-04-01/Accounts/AC0/Messages/MM{uuid.uuid4().hex}/Media/ME{uuid.uuid4().hex}"
        with self.lock:
            self.media[path] = (content_type, data)
        return self.url + path

    def posts_to(self, to: str) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r.get("To") == to]


def main():  # python tests/sms/fake_twilio.py: a standalone fake for manual runs
    fake = FakeTwilio().start()
    print(fake.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
