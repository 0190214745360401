"""Settings from environment variables with embedded defaults.

No variables at all gives the development profile: SQLite, in-memory channel layer, Celery
eager, SMS stored locally. DATABASE_URL and REDIS_URL switch to PostgreSQL and Redis;
DJANGO_ENV=production refuses to start without its secrets.
"""

import datetime as _dt
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from backend.messaging.channels import templates_parse
from backend.messaging.senders import PoolError, pool_parse

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"
if DJANGO_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"DJANGO_ENV must be 'development' or 'production', not {DJANGO_ENV!r}")

if PRODUCTION:
    _missing = [name for name in ("DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL") if not env.str(name, default="")]
    if _missing:
        raise ImproperlyConfigured(f"Production needs these environment variables: {', '.join(_missing)}")
    if env.str("DJANGO_SECRET_KEY").startswith("dev-insecure-"):
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is the development key; generate a long random one.")

DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="dev-insecure-fiscaliza-secret-key-change-me-0123456789")

# The public URL Twilio signs and that links in SMS point to.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
_PUBLIC_HOST = urlsplit(PUBLIC_BASE_URL).hostname or "127.0.0.1"

# Production answers the public host, and localhost for health checks from inside the container.
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS",
    default=[_PUBLIC_HOST, "localhost", "127.0.0.1"]
    if PRODUCTION
    else ["127.0.0.1", "localhost", "testserver", "[::1]", _PUBLIC_HOST],
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[PUBLIC_BASE_URL] if PRODUCTION else [])
# WebSocket handshakes are accepted from these origins (scheme, host and port) and from the page's own origin.
WEBSOCKET_ALLOWED_ORIGINS = env.list("WEBSOCKET_ALLOWED_ORIGINS", default=[PUBLIC_BASE_URL, *CSRF_TRUSTED_ORIGINS])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "channels",
    "backend.core",
    "backend.accounts",
    "backend.elections",
    "backend.volunteers",
    "backend.assignments",
    "backend.notices",
    "backend.messaging",
    "backend.threads",
    "backend.imports",
    "backend.portal",
    "backend.console",
    "backend.tableday",
    "backend.incidents",
    "backend.count",
    "backend.credentials",
    "api",
    "sms",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "backend.core.middleware.LocaleMiddleware",  # Django's, without the URL-prefix work (its docstring)
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "backend.core.middleware.MessageMiddleware",  # Django's, its storage built at first use
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# Loaded sync, as under WSGI: the ASGI handler runs the whole chain and the view in one hop to the
# request's thread (backend/core/handlers.py).

ROOT_URLCONF = "backend.urls"
ASGI_APPLICATION = "backend.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "backend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'fiscaliza.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
    # WAL and a busy timeout let the ASGI server, Celery eager tasks and the tests share one file.
    # IMMEDIATE: a transaction takes the write lock when it starts, so two that read then write
    # (a table report, an SMS) wait for each other instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
        }
    )
else:
    # 0 by default: under ASGI every request runs in a thread of its own, so persistent connections
    # pile up one per thread until PostgreSQL refuses more ("too many clients", seen in the benches).
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A connection pool per process (psycopg_pool; 0: none, a new connection per request). Each
    # request hands its connection back when it ends, whatever thread served it, so a few
    # connections serve every request: a new one costs a PostgreSQL backend start and a round of
    # setup per request (the election-day bench: README, Performance). Production sets it
    # (docker-compose.yml); off by default so parallel test runs do not hold connections open.
    DATABASE_POOL_MAX_SIZE = env.int("DATABASE_POOL_MAX_SIZE", default=0)
    if DATABASE_POOL_MAX_SIZE:
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps them; Django refuses both
        # Django's engine but for the pool's check of a connection: its socket, not an empty query.
        DATABASES["default"]["ENGINE"] = "backend.core.postgresql"
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": min(2, DATABASE_POOL_MAX_SIZE),
            "max_size": DATABASE_POOL_MAX_SIZE,
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
        }
    # Server-side binding: parameters go apart from the SQL, so PostgreSQL parses and plans a repeated
    # statement once per connection and then runs it prepared (psycopg's prepare_threshold: after
    # that many runs). Prepared statements live in a connection, so on by default with the pool's
    # long-lived ones (PostgreSQL's planning was half its CPU a result sheet: bench/count.py); never
    # behind a transaction-mode PgBouncer.
    if env.bool("DATABASE_SERVER_SIDE_BINDING", default=bool(DATABASE_POOL_MAX_SIZE)):
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            {"server_side_binding": True, "prepare_threshold": env.int("DATABASE_PREPARE_THRESHOLD", default=2)}
        )
# Requests of one web process that run their view at once; the rest wait on the event loop, in
# arrival order, until one ends (backend/core/handlers.py). As many as the pool's connections, so a
# request never waits for a connection while holding a thread; 0: no limit.
_pooled = DATABASE_POOL_MAX_SIZE if DATABASES["default"]["ENGINE"].endswith("postgresql") else 0
WEB_CONCURRENT_REQUESTS = env.int("WEB_CONCURRENT_REQUESTS", default=_pooled)
# Lets parallel runs on one PostgreSQL server keep their test databases apart.
if env.str("TEST_DATABASE_NAME", default=""):
    test_name = env.str("TEST_DATABASE_NAME")
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" and "/" not in test_name:
        # On SQLite the name is a file: keep it in var/ (ignored by git), not in the working directory.
        test_name = str(VAR_DIR / test_name)
    DATABASES["default"]["TEST"] = {"NAME": test_name}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_REDIRECT_URL = "/"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "sesame.backends.ModelBackend",
    "backend.accounts.backends.LeadPermissionBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "es-ar"
LANGUAGES = [("es-ar", _("Español (Argentina)")), ("en", _("Inglés"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "America/Argentina/Buenos_Aires"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
# Zips of schools' credentials built by the Celery worker; the web process serves them to whoever asked.
CREDENTIALS_DIR = Path(env.str("CREDENTIALS_DIR", default=str(VAR_DIR / "credentials")))
# Large console spreadsheets written by the Celery worker; the web process serves each to whoever asked.
CONSOLE_EXPORTS_DIR = Path(env.str("CONSOLE_EXPORTS_DIR", default=str(VAR_DIR / "exports")))
# Zips of credentials and large spreadsheets carry names, DNIs and phones: deleted this many hours
# after they were built (beat, hourly); their rows stay as "expired".
GENERATED_FILES_KEEP_HOURS = env.int("GENERATED_FILES_KEEP_HOURS", default=48)
STATICFILES_DIRS = [BASE_DIR / "backend" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
MEDIA_URL = "/media/"
# Uploaded spreadsheets can be large; Django's default keeps only 2.5 MB in memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Redis: channel layer and Celery broker --------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CHANNEL_LAYERS: dict[str, dict[str, Any]]
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Without Redis, `make run` still runs a worker with beat: kombu's filesystem transport needs no
# server, only a folder both processes see (CELERY_BROKER_URL=filesystem://).
CELERY_BROKER_URL = REDIS_URL or env.str("CELERY_BROKER_URL", default="memory://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _BROKER_DIR = Path(env.str("CELERY_BROKER_FOLDER", default=str(VAR_DIR / "broker")))
    for _folder in ("queue", "processed", "control"):
        (_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool(
    "CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL and CELERY_BROKER_URL == "memory://"
)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE: dict = {}

CACHES = (
    # Django's Redis cache, reusing its Redis client (backend/core/cache.py).
    {"default": {"BACKEND": "backend.core.cache.RedisCache", "LOCATION": REDIS_URL}}
    if REDIS_URL
    else {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
)

# --- API ---------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header turns "not logged in" into a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.TokenAuthentication",  # DRF's, its SQL compiled once
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.DefaultPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "api.throttling.UserRateThrottle",  # one Redis round trip a request (its docstring)
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/min"),
        "user": env.str("API_THROTTLE_USER", default="1200/min"),
        "auth": env.str("API_THROTTLE_AUTH", default="20/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Fiscaliza API",
    "DESCRIPTION": "Election-day coordination for poll watchers.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "BroadcastStatusEnum": "backend.messaging.models.BroadcastStatus",
        "VolunteerChannelEnum": "backend.volunteers.models.Channel",
        "EventSourceEnum": "backend.assignments.models.EventSource",
        "FileJobStateEnum": "backend.core.models.FileJobState",
        "TableStateEnum": "backend.tableday.models.TableState",
    },
}

# --- Magic links (django-sesame) -------------------------------------------------------------
SESAME_MAX_AGE = env.int("MAGIC_LINK_MAX_AGE", default=14 * 24 * 3600)
# Seconds a sign-in link from an SMS stays valid (backend.accounts ShortLink); older /a/ tokens alike.
MAGIC_LINK_MAX_AGE = SESAME_MAX_AGE
SESAME_TOKEN_NAME = "t"

# --- SMS ---------------------------------------------------------------------------------------
SMS_BACKEND = env.str("SMS_BACKEND", default="local")
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="AC00000000000000000000000000000000")
# A development value by default so signed webhook requests work locally as well.
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="dev-twilio-auth-token")
TWILIO_MESSAGING_SERVICE_SID = env.str("TWILIO_MESSAGING_SERVICE_SID", default="")
TWILIO_FROM = env.str("TWILIO_FROM", default="")
if PRODUCTION and SMS_BACKEND == "twilio" and TWILIO_AUTH_TOKEN in {"", "dev-twilio-auth-token"}:
    raise ImproperlyConfigured("Production with SMS_BACKEND=twilio needs TWILIO_AUTH_TOKEN.")

# --- Security ----------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Every handler redacts links, phones, DNIs and emails (backend.core.logging); the web server's
# own loggers are routed here too, so its access log goes through the same filter.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "backend.core.logging.RedactFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's default configuration gives "django" a console handler of its own: replaced, so
        # its request log ("Forbidden: /<path>") is redacted like every other line.
        "django": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO"), "propagate": False},
        "django.channels.server": {"level": "WARNING"},
        "uvicorn": {"handlers": ["console"], "propagate": False},
        "uvicorn.error": {"handlers": [], "propagate": True},
        "uvicorn.access": {"handlers": ["console"], "propagate": False},
        "daphne": {"handlers": ["console"], "propagate": False},
        "django.server": {"handlers": ["console"], "propagate": False},
        "twilio": {"level": "WARNING"},
    },
}

# --- Console (coordinators' pages) -------------------------------------------------------------
LOGIN_URL = "login"
LOGOUT_REDIRECT_URL = "login"
# Election day: watchers not checked in this many minutes after the election's check-in time are flagged.
CONSOLE_CHECK_IN_GRACE_MINUTES = env.int("CONSOLE_CHECK_IN_GRACE_MINUTES", default=30)
# Above this many rows a console spreadsheet is written by the worker (progress page, then download):
# a city of 800 places took 225 ms CPU at once (national bench), so 500 rows stay inside 300 ms.
CONSOLE_EXPORT_INLINE_ROWS = env.int("CONSOLE_EXPORT_INLINE_ROWS", default=500)

# --- Imports ------------------------------------------------------------------------------------
IMPORT_MAX_FILE_BYTES = env.int("IMPORT_MAX_FILE_BYTES", default=50 * 1024 * 1024)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=200_000)
IMPORT_MAX_UNCOMPRESSED_BYTES = env.int("IMPORT_MAX_UNCOMPRESSED_BYTES", default=400 * 1024 * 1024)
IMPORT_MAX_COMPRESSION_RATIO = env.int("IMPORT_MAX_COMPRESSION_RATIO", default=200)
# Budgets checked while the file is scanned, before a reader builds anything in memory: cells of the
# used range, bytes of text in all cells (a shared string counts once per cell that shows it), and
# characters in one cell (Excel's own limit is 32,767).
IMPORT_MAX_CELLS = env.int("IMPORT_MAX_CELLS", default=4_000_000)
IMPORT_MAX_TEXT_BYTES = env.int("IMPORT_MAX_TEXT_BYTES", default=64 * 1024 * 1024)
IMPORT_MAX_CELL_CHARS = env.int("IMPORT_MAX_CELL_CHARS", default=32_767)
# Files with more rows than this run as a Celery task with progress; smaller ones run inline.
IMPORT_ASYNC_ROW_THRESHOLD = env.int("IMPORT_ASYNC_ROW_THRESHOLD", default=5000)

# --- Station threads -----------------------------------------------------------------------------
# Announcements go by SMS to members not seen on the web this long after they were posted.
THREADS_ANNOUNCEMENT_SMS_DELAY = _dt.timedelta(seconds=env.int("THREADS_ANNOUNCEMENT_SMS_DELAY", default=120))
# Announcements neither read on the web nor received by SMS after this long are listed for coordinators.
THREADS_UNREAD_ESCALATION_AFTER = _dt.timedelta(minutes=env.int("THREADS_UNREAD_ESCALATION_MINUTES", default=15))
# Per WebSocket connection: frames of any kind, and posts.
THREADS_WS_FRAMES_PER_SECOND = env.float("THREADS_WS_FRAMES_PER_SECOND", default=5.0)
THREADS_WS_FRAMES_BURST = env.int("THREADS_WS_FRAMES_BURST", default=20)
THREADS_WS_POSTS_PER_SECOND = env.float("THREADS_WS_POSTS_PER_SECOND", default=0.5)
THREADS_WS_POSTS_BURST = env.int("THREADS_WS_POSTS_BURST", default=5)
# Board events of one server process gather this long after each channel-layer message
# (backend/core/live.py): at most 1/window messages a second per process and group, whatever the load.
LIVE_BOARD_WINDOW = 0.1
# Redis pub/sub ignores database numbers: a prefix keeps parallel deployments (and test runs) apart.
if REDIS_URL:
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = env.str("CHANNEL_LAYER_PREFIX", default="asgi")
CELERY_BEAT_SCHEDULE["threads-announcements-sms"] = {"task": "threads.announcements_sms_sweep", "schedule": 60.0}

# --- SMS delivery and the volunteers' portal ---------------------------------------------------
# Twilio's API host; tests and benchmarks point the real client at a fake server.
TWILIO_API_BASE_URL = env.str("TWILIO_API_BASE_URL", default="https://api.twilio.com")
# Well under CELERY_TASK_SOFT_TIME_LIMIT: a hung request fails the attempt, not the worker.
TWILIO_HTTP_TIMEOUT = env.float("TWILIO_HTTP_TIMEOUT", default=10.0)
# Twilio answers STOP/START/... itself (default opt-out handling): we act but do not reply twice.
SMS_TWILIO_DEFAULT_OPT_OUT = env.bool("SMS_TWILIO_DEFAULT_OPT_OUT", default=True)
# Photos sent by MMS: largest accepted, and how many of one message are kept.
SMS_MEDIA_MAX_BYTES = env.int("SMS_MEDIA_MAX_BYTES", default=5 * 1024 * 1024)
SMS_MEDIA_MAX_PER_MESSAGE = env.int("SMS_MEDIA_MAX_PER_MESSAGE", default=5)
# The numbers SMS leave from, their types and segments per second (backend/messaging/senders.py):
# "+5493510000001:long_code,+18005550100:toll_free", or "long_code*5" with a Messaging Service.
SMS_SENDERS = env.str("SMS_SENDERS", default="")
try:
    _sms_pool = pool_parse(
        SMS_SENDERS, service_sid=TWILIO_MESSAGING_SERVICE_SID, from_number=TWILIO_FROM, backend=SMS_BACKEND
    )
except PoolError as _pool_error:
    raise ImproperlyConfigured(f"SMS sender pool: {_pool_error}") from None
# Pace sends at each sender's segments/second (off only in tests that do not measure time).
SMS_PACING = env.bool("SMS_PACING", default=True)
# Benchmarks only: every sender's rate times this, so a 11-hour drain can be measured in a minute.
SMS_PACE_TIME_SCALE = env.float("SMS_PACE_TIME_SCALE", default=1.0)
# Segments a sender may send at once above its rate.
SMS_RATE_BURST = env.float("SMS_RATE_BURST", default=1.0)
SMS_RATE_LIMIT_KEY = env.str("SMS_RATE_LIMIT_KEY", default="fiscaliza:sms:bucket")
SMS_MAX_ATTEMPTS = env.int("SMS_MAX_ATTEMPTS", default=5)
SMS_RETRY_BACKOFF = env.float("SMS_RETRY_BACKOFF", default=5.0)
SMS_RECONCILE_AFTER = env.int("SMS_RECONCILE_AFTER", default=120)
SMS_DRAIN_WORKERS = env.int("SMS_DRAIN_WORKERS", default=2)
SMS_COST_PER_SEGMENT = env.str("SMS_COST_PER_SEGMENT", default="0.0500")
SMS_QUEUE_MAX_HOURS = env.float("SMS_QUEUE_MAX_HOURS", default=10.0)
SMS_BROADCAST_APPROVAL_THRESHOLD = env.int("SMS_BROADCAST_APPROVAL_THRESHOLD", default=500)
# ISO 4217 code of SMS_COST_PER_SEGMENT: every cost is stored and shown in it. Twilio bills in US
# dollars, so the defaults (0.05 a segment, 0.03 a WhatsApp message) are dollars; set your price list's.
SMS_CURRENCY = env.str("SMS_CURRENCY", default="USD")
# A send whose audience lost more people than this since creation asks to confirm the difference.
SMS_BROADCAST_AUDIENCE_TOLERANCE = env.int("SMS_BROADCAST_AUDIENCE_TOLERANCE", default=5)
SMS_REMINDER_DAYS_BEFORE = env.int("SMS_REMINDER_DAYS_BEFORE", default=3)
# WhatsApp (backend/messaging/channels.py): the number Twilio sends WhatsApp from (empty: WhatsApp off
# with SMS_BACKEND=twilio; the local backend simulates one), the approved templates per kind of message,
# how long a WhatsApp message may go without "delivered" before it goes again by SMS, the pace and the cost.
TWILIO_WHATSAPP_FROM = env.str("TWILIO_WHATSAPP_FROM", default="")
WHATSAPP_TEMPLATES = env.json("WHATSAPP_TEMPLATES", default={})
templates_parse(WHATSAPP_TEMPLATES)  # a bad entry stops the start with what is wrong
WHATSAPP_FALLBACK_AFTER = env.int("WHATSAPP_FALLBACK_AFTER", default=900)
WHATSAPP_RATE = env.float("WHATSAPP_RATE", default=20.0)
WHATSAPP_COST_PER_MESSAGE = env.str("WHATSAPP_COST_PER_MESSAGE", default="0.0300")
SESAME_SIGNATURE_SIZE = 16  # 128-bit signatures in magic links
MAGIC_LINK_RATE_PER_HOUR = env.int("MAGIC_LINK_RATE_PER_HOUR", default=10)
CELERY_BEAT_SCHEDULE.update(
    {
        "sms-relay-notices": {"task": "sms.relay_notices", "schedule": 60.0},
        "sms-drain-outbound": {"task": "sms.drain_outbound", "schedule": 60.0},
        "sms-reconcile-sending": {"task": "sms.reconcile_sending", "schedule": 120.0},
        "sms-broadcasts-finish": {"task": "sms.broadcasts_finish", "schedule": 60.0},
        "sms-remind-unconfirmed": {"task": "sms.remind_unconfirmed", "schedule": crontab(hour=10, minute=0)},
        "sms-remind-eve": {"task": "sms.remind_eve", "schedule": crontab(hour=19, minute=0)},
        "sms-remind-shift": {"task": "sms.remind_shift", "schedule": 300.0},
        "sms-whatsapp-fallback": {"task": "sms.whatsapp_fallback", "schedule": 60.0},
    }
)

# --- Election day: incidents -----------------------------------------------------------------
# A severe incident nobody took goes one area up the tree after this many minutes, and again after as many.
INCIDENT_ESCALATION_MINUTES = env.int("INCIDENT_ESCALATION_MINUTES", default=15)
# The day board flags the places with a table that has not reported opening by this local time (HH:MM).
TABLEDAY_OPEN_DEADLINE = env.str("TABLEDAY_OPEN_DEADLINE", default="08:30")
# Shifts: both watchers of a split table get their reminder this many minutes before the handover
# (the election's `shift_handover_time`); beat looks every five minutes.
SHIFT_REMINDER_MINUTES_BEFORE = env.int("SHIFT_REMINDER_MINUTES_BEFORE", default=60)
CELERY_BEAT_SCHEDULE["incidents-escalate-due"] = {"task": "incidents.escalate_due", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["credentials-expire-batches"] = {"task": "credentials.expire_batches", "schedule": 3600.0}
CELERY_BEAT_SCHEDULE["console-expire-exports"] = {"task": "console.expire_exports", "schedule": 3600.0}
