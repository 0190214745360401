"""What the benches that start their own uvicorn share: waiting until it answers."""

from __future__ import annotations

import time

import requests


def wait_until_healthy(base: str, *, seconds: float = 180) -> None:
    """Return once `base`/healthz answers 200; stop the bench with a clear message after `seconds`.

    Up to three minutes by default: on a loaded machine two uvicorn processes take long to import Django.
    """
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        try:
            if requests.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server at {base} did not answer /healthz within {seconds:.0f} s")
