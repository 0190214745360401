"""Settings profiles: development defaults, Redis switch, and a production that refuses to start unsafely.

Each profile is loaded in a fresh interpreter: settings are read once per process.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "DJANGO_SECRET_KEY": "k7Hq2v-9XcLw_pR3tYz8Nf4Jd6Bs1Ma0Ge5Ui7Oy2Te9Wr3Qn8Lp6Kj4Hg1Fd0Sa-ZxCvBnMq",
    "DATABASE_URL": "postgres://fiscaliza:secreto@db.internal:5432/fiscaliza",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "PUBLIC_BASE_URL": "https://fiscaliza.example.org",
}
PROBE = """
import json, django
django.setup()
from django.conf import settings
from backend.celery import app
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "db_options": {k: v for k, v in settings.DATABASES["default"].get("OPTIONS", {}).items() if k != "pool"},
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "layer_hosts": settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("hosts"),
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "broker": app.conf.broker_url,
    "cache": settings.CACHES["default"]["BACKEND"],
    "debug": settings.DEBUG,
    "language": settings.LANGUAGE_CODE,
    "time_zone": settings.TIME_ZONE,
    "allowed_hosts": settings.ALLOWED_HOSTS,
    "hsts": getattr(settings, "SECURE_HSTS_SECONDS", 0),
    "secure_cookies": [getattr(settings, name, False) for name in ("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE")],
}))
"""
UNSET = (
    "DJANGO_ENV",
    "DJANGO_SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "DJANGO_DEBUG",
    "DJANGO_ALLOWED_HOSTS",
    "DATABASE_POOL_MAX_SIZE",
    "DATABASE_SERVER_SIDE_BINDING",
)


def _run(args: list[str], **env_vars: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.update(DJANGO_SETTINGS_MODULE="backend.settings", **env_vars)
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def _profile(**env_vars: str) -> dict:
    result = _run([sys.executable, "-c", PROBE], **env_vars)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_no_variables_gives_the_development_profile():
    profile = _profile()
    assert profile["engine"] == "django.db.backends.sqlite3"
    assert profile["layer"] == "channels.layers.InMemoryChannelLayer"
    assert profile["eager"] is True
    assert profile["broker"] == "memory://"
    assert profile["debug"] is True
    assert (profile["language"], profile["time_zone"]) == ("es-ar", "America/Argentina/Buenos_Aires")


def test_redis_url_switches_the_channel_layer_the_broker_and_the_cache():
    profile = _profile(REDIS_URL="redis://127.0.0.1:6379/7")
    assert profile["layer"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    assert profile["layer_hosts"] == ["redis://127.0.0.1:6379/7"]
    assert profile["broker"] == "redis://127.0.0.1:6379/7"
    assert profile["eager"] is False
    # Django's Redis cache with its client reused (backend/core/cache.py)
    assert profile["cache"] == "backend.core.cache.RedisCache"


def test_database_url_switches_to_postgresql():
    profile = _profile(DATABASE_URL="postgres://postgres@127.0.0.1:5432/whatever")
    assert profile["engine"] == "django.db.backends.postgresql"
    assert "server_side_binding" not in profile["db_options"]


def test_the_pool_brings_server_side_binding_unless_switched_off():
    # given: the pool's long-lived connections, where a prepared statement is used again
    url = "postgres://postgres@127.0.0.1:5432/whatever"
    # when / then
    pooled = _profile(DATABASE_URL=url, DATABASE_POOL_MAX_SIZE="8")
    off = _profile(DATABASE_URL=url, DATABASE_POOL_MAX_SIZE="8", DATABASE_SERVER_SIDE_BINDING="false")
    assert pooled["db_options"] == {"server_side_binding": True, "prepare_threshold": 2}
    assert off["db_options"] == {}


def test_the_pool_comes_with_the_engine_that_checks_its_connections_by_their_socket():
    url = "postgres://postgres@127.0.0.1:5432/whatever"
    assert _profile(DATABASE_URL=url, DATABASE_POOL_MAX_SIZE="8")["engine"] == "backend.core.postgresql"
    assert _profile(DATABASE_URL=url)["engine"] == "django.db.backends.postgresql"


def test_server_side_binding_is_switched_on_with_its_prepare_threshold():
    profile = _profile(
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/whatever",
        DATABASE_SERVER_SIDE_BINDING="true",
        DATABASE_PREPARE_THRESHOLD="3",
    )
    assert profile["db_options"] == {"server_side_binding": True, "prepare_threshold": 3}


def test_production_refuses_to_start_without_its_secrets():
    # when: nothing but DJANGO_ENV
    result = _run([sys.executable, "-c", "import django; django.setup()"], DJANGO_ENV="production")
    # then
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    for name in ("DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL"):
        assert name in result.stderr


def test_production_names_only_what_is_missing():
    partial = {k: v for k, v in PRODUCTION_ENV.items() if k != "REDIS_URL"}
    result = _run([sys.executable, "-c", "import django; django.setup()"], **partial)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "REDIS_URL" in last_line
    assert "DATABASE_URL" not in last_line and "DJANGO_SECRET_KEY" not in last_line


def test_production_rejects_the_development_secret_key():
    result = _run(
        [sys.executable, "-c", "import django; django.setup()"],
        **{**PRODUCTION_ENV, "DJANGO_SECRET_KEY": "dev-insecure-fiscaliza-secret-key-change-me-0123456789"},
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_profile_is_locked_down():
    profile = _profile(**PRODUCTION_ENV)
    assert profile["debug"] is False
    assert profile["hsts"] >= 31536000
    assert profile["secure_cookies"] == [True, True]
    assert profile["engine"] == "django.db.backends.postgresql"
    assert profile["layer"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    assert "fiscaliza.example.org" in profile["allowed_hosts"]


def test_check_deploy_passes_with_no_warnings():
    result = _run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_every_environment_variable_is_documented_in_the_readme():
    import re

    source = (ROOT / "backend" / "settings.py").read_text()
    names = set(re.findall(r'env\.[a-z]+\(\s*"([A-Z][A-Z0-9_]+)"', source))
    readme = (ROOT / "README.md").read_text()
    assert len(names) > 15
    assert sorted(n for n in names if f"| `{n}` |" not in readme) == []
