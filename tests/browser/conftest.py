"""Browser tests: a real uvicorn server on its own SQLite file, driven by headless Chromium.

The server runs in a subprocess, so it cannot see pytest-django's test database; instead this
fixture creates a fresh database file, migrates and seeds it with `tests.browser.seed`, and
starts `uvicorn backend.asgi:application` on a free port against it. The server is
self-contained whatever profile the suite runs on: no REDIS_URL, so the in-memory channel layer
and eager Celery live in the server process (check-ins, broadcasts and the live board all happen
there). Skipped, with the reason printed, when /usr/bin/chromium is missing.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "clave-navegador-2027"
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(config, items):
    if Path(CHROMIUM).exists():
        return
    reason = f"browser tests skipped: {CHROMIUM} is missing (apt-get install chromium)"
    print(f"\n*** {reason} ***")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    env: dict
    seed: dict
    password: str = PASSWORD


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"uvicorn did not answer:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """A migrated, seeded database file and a uvicorn process serving it; stopped at the end."""
    workdir = tmp_path_factory.mktemp("browser")
    # BROWSER_TEST_PORT pins the port (engineers sharing a machine each get a range); else any free one.
    port = int(os.environ.get("BROWSER_TEST_PORT") or 0) or _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "TEST_DATABASE_NAME"}}
    env.update(
        DATABASE_URL=f"sqlite:///{workdir / 'browser.sqlite3'}",
        DJANGO_SETTINGS_MODULE="backend.settings",
        DJANGO_DEBUG="true",
        SMS_BACKEND="local",
        # Instructions to more than five people wait for a lead (the scenario's lead approves one).
        SMS_BROADCAST_APPROVAL_THRESHOLD="5",
        PUBLIC_BASE_URL=url,
        MEDIA_ROOT=str(workdir / "media"),
        BROWSER_TEST_PASSWORD=PASSWORD,
        PYTHONUNBUFFERED="1",
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, timeout=300
    )
    seeded = subprocess.run(
        [sys.executable, "-m", "tests.browser.seed"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    log = workdir / "uvicorn.log"
    command = [sys.executable, "-m", "uvicorn", "backend.asgi:application", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "warning"]
    with log.open("w") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(url, process, log)
        yield Server(url=url, env=env, seed=json.loads(seeded.stdout.strip().splitlines()[-1]))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    if process.returncode not in (0, -15, None):
        print(log.read_text()[-3000:])


# Module scope, not session: Playwright's sync API keeps an event loop marked running in this
# thread, and Django refuses database work while one is; it must be gone before other tests run.
@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def phone(browser):
    """A fresh phone-sized browser context (390 x 844), Spanish first."""
    context = browser.new_context(viewport=PHONE, locale="es-AR", device_scale_factor=1)
    yield context
    context.close()


@pytest.fixture(scope="session")
def shots():
    """Check the page fits the screen's width and save a full-page screenshot under test-artifacts/ (gitignored)."""
    ARTIFACTS.mkdir(exist_ok=True)

    def save(page, name: str) -> Path:
        # Every page a test photographs must fit its width: a phone user cannot see what scrolls sideways.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name}: the page is {overflow} px wider than the screen"
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


def run_django(server: Server, code: str):
    """Run `code` (which sets `result`) in a Django shell on the server's database; returns `result`."""
    script = "import json, django; django.setup()\n" + code + "\nprint(json.dumps(result))"
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=server.env, capture_output=True, text=True)
    # Show the shell's own traceback, not only its exit status.
    assert out.returncode == 0, f"the Django shell failed:\n{out.stderr[-4000:]}"
    return json.loads(out.stdout.strip().splitlines()[-1])
