"""Shared by the import benchmarks: an empty database to import into, and the peak memory figure."""

from __future__ import annotations

import os
import resource
from collections.abc import Callable
from pathlib import Path


def fresh_database(tmp: Path, *, name: str) -> tuple[str, Callable[[], None]]:
    """DATABASE_URL of an empty database (SQLite in `tmp`, or `name` beside DATABASE_URL's
    PostgreSQL database) and a function that drops it."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return f"sqlite:///{tmp / 'bench.sqlite3'}", lambda: None
    import psycopg

    base, _, _current = url.rpartition("/")
    admin = psycopg.connect(f"{base}/postgres", autocommit=True)
    admin.execute(f"DROP DATABASE IF EXISTS {name}")
    admin.execute(f"CREATE DATABASE {name}")

    def drop() -> None:
        from django.db import connections

        connections.close_all()
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.close()

    return f"{base}/{name}", drop


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
