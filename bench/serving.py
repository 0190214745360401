"""What the benches that start their own uvicorn share: a port nobody else listens on, and waiting
until our server (not another one on that port) answers."""

from __future__ import annotations

import os
import socket
import subprocess
import time

import requests


def check_port_free(port: int) -> None:
    """Stop the bench if something already listens on 127.0.0.1:`port` (another session's server)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise SystemExit(f"port {port} is taken by another process: choose another --port") from None


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as handle:
                next(handle)
                for line in handle:
                    fields = line.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                        inodes.add(fields[9])
        except OSError:
            continue
    return inodes


def _tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    todo += [int(c) for c in handle.read().split()]
        except OSError:
            continue
    return found


def listens_on(pid: int, port: int) -> bool:
    """Whether the process `pid` (or one below it) holds the socket listening on `port`."""
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    for current in _tree(pid):
        try:
            fds = os.listdir(f"/proc/{current}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{current}/fd/{fd}") in wanted:
                    return True
            except OSError:
                continue
    return False


def wait_until_healthy(base: str, *, server: subprocess.Popen | None = None, seconds: float = 180) -> None:
    """Return once `base`/healthz answers 200 from `server` (when given); stop the bench with a clear
    message after `seconds`, or as soon as `server` has exited.

    Up to three minutes by default: on a loaded machine two uvicorn processes take long to import Django.
    With `server`, the answer must come from its socket: a bench that measured another session's
    server on a port taken in the meantime would both lie and disturb that session.
    """
    port = int(base.rsplit(":", 1)[1].split("/")[0])
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        if server is not None and server.poll() is not None:
            raise SystemExit(f"the server exited ({server.returncode}) before answering: is port {port} taken?")
        try:
            if requests.get(base + "/healthz", timeout=1).status_code == 200:
                if server is None or listens_on(server.pid, port):
                    return
                raise SystemExit(
                    f"another process answers on port {port}, not the bench's server: choose another --port"
                )
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server at {base} did not answer /healthz within {seconds:.0f} s")
