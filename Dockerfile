# One image for every process: web (uvicorn), worker and beat (celery). Built by docker-compose.yml.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app

# gettext builds the translation catalogues; nothing else is needed at run time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 fiscaliza

WORKDIR /app

# Dependencies first, so a code change does not reinstall them (the stub packages only let pip
# read pyproject.toml; the project itself is not installed).
COPY pyproject.toml README.md ./
RUN mkdir -p backend api sms && touch backend/__init__.py api/__init__.py sms/__init__.py \
    && pip install . && pip uninstall -y fiscaliza

COPY . .
# Production's manifest storage needs its manifest built here; the variables exist only for this step.
# The code runs from /app (BASE_DIR holds locale/, fixtures/, var/), never from site-packages.
RUN python manage.py compilemessages --ignore=.venv -v0 \
    && DJANGO_ENV=production DJANGO_SECRET_KEY=build-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz \
       DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
       python manage.py collectstatic --noinput -v0 \
    && mkdir -p /app/var/media \
    && chown -R fiscaliza:fiscaliza /app/var

USER fiscaliza
EXPOSE 8000

# uvicorn trusts X-Forwarded-For/-Proto only from these addresses; in a container the TLS proxy is
# another host, so any (port 8000 must be reachable only through the proxy). Narrow it in .env.
ENV FORWARDED_ALLOW_IPS="*"

# The web process, the README's production command word for word (docker-compose passes WEB_WORKERS
# for --workers); docker-compose overrides the command for the worker and beat.
CMD ["uvicorn", "backend.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers", "--workers", "2", \
     "--ws-per-message-deflate", "false", "--backlog", "4096"]
