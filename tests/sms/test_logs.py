"""No sign-in link, DNI or phone number in any log line, the web server's access log included.

A real uvicorn process (the production entry point, logging configured by the settings) serves a
whole flow at DEBUG level: the link from the assignment SMS is opened, the volunteer's page is
read, her phone texts MESA, SI VOY, a photo-less empty text and a decline; an unknown number and
forged links are tried. Then every line the server and the seeding process wrote is read.
"""

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

from twilio.request_validator import RequestValidator

from tests.threads.e2e_support import ROOT, e2e_database, free_port, manage, server_env

AUTH_TOKEN = "log-test-token"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _get(url: str, cookie: str = "") -> tuple[int, str, list[str]]:
    """(status, body, cookies set) of a GET that does not follow redirects."""
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.read().decode(), response.headers.get_all("Set-Cookie") or []
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), error.headers.get_all("Set-Cookie") or []


def _text_in(base: str, phone: str, body: str) -> str:
    url = base + "/sms/inbound/"
    params = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": phone, "To": "+15005550006", "Body": body, "NumMedia": "0"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    request = urllib.request.Request(
        url, data=urllib.parse.urlencode(params).encode(), headers={"X-Twilio-Signature": signature}
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        return response.read().decode()


def test_a_whole_flow_leaves_no_link_dni_or_phone_in_any_log_line(tmp_path):
    # given: a migrated database, the seed, and uvicorn at DEBUG level with its access log on
    database_url, drop = e2e_database(tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_env(database_url)
    env.update({"LOG_LEVEL": "DEBUG", "PUBLIC_BASE_URL": base, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "SMS_BACKEND": "local"})
    log_path = tmp_path / "server.log"
    server = None
    try:
        manage(env, "manage.py", "migrate", "--noinput")
        seeding = subprocess.run(
            [sys.executable, "-m", "tests.sms.log_flow_support", "seed"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        seed = json.loads(seeding.stdout.strip().splitlines()[-1])
        with open(log_path, "w") as log:
            server = subprocess.Popen(
                [
                    *[sys.executable, "-m", "uvicorn", "backend.asgi:application", "--host", "127.0.0.1"],
                    *["--port", str(port), "--log-level", "debug", "--timeout-graceful-shutdown", "1"],
                ],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            deadline = time.monotonic() + 30
            while not _up(base):
                assert server.poll() is None and time.monotonic() < deadline, log_path.read_text()[-2000:]
                time.sleep(0.2)
            # when: the volunteer opens the link of her assignment SMS and reads her page
            link = re.search(r"https?://\S+/([0-9A-Za-z]{22})\b", seed["text"]).group(1)
            status, _body, cookies = _get(f"{base}/{link}")
            assert status == 302
            cookie = next(c.split(";")[0] for c in cookies if c.startswith("sessionid="))
            status, page, _headers = _get(base + "/mi/", cookie)
            assert status == 200 and "GARZON AGULLA" in page
            # ... texts from her phone, and from a stranger's
            mesa = _text_in(base, seed["phone"], "MESA")
            second_link = re.search(r"/([0-9A-Za-z]{22})\b", mesa).group(1)
            assert "confirmaste" in _text_in(base, seed["phone"], "si voy")
            _text_in(base, seed["phone"], "")
            _text_in(base, seed["phone"], f"mi dni es {seed['dni']} y mi mail {seed['email']}")
            _text_in(base, "+5491155550000", "hola soy nuevo")
            # ... and forged or revoked-looking links are tried
            assert _get(f"{base}/{'Z' * 22}")[0] == 403
            assert _get(f"{base}/a/{'q' * 40}")[0] == 403
            assert _get(f"{base}/{second_link}?utm=1", "")[0] == 302
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=15)
        drop()
    logs = log_path.read_text() + seeding.stderr
    # then: the logs are really there (the access log of the requests above) ...
    assert '"GET /<enlace> HTTP/1.1" 302' in logs, logs[-3000:]
    assert '"POST /sms/inbound/ HTTP/1.1" 200' in logs
    assert "Forbidden" in logs  # Django's request log of the refused links
    # ... and none of them carries a link key, a DNI, a phone number or an email, in any spelling
    digits = seed["phone"].lstrip("+")
    secrets = [link, second_link, "Z" * 22, "q" * 40, seed["dni"], "27.654.321", seed["phone"], digits]
    secrets += [digits[-10:], "5491155550000", seed["email"]]
    found = {secret for secret in secrets if secret in logs}
    assert found == set(), [line for line in logs.splitlines() if any(s in line for s in found)][:5]


def _up(base: str) -> bool:
    try:
        return _get(base + "/healthz")[0] == 200
    except OSError:
        return False
