"""Operational promises: /healthz, migrations in sync with the models, an idempotent demo loader, one
production web command in the image, docker-compose and the README."""

import json
import re
import shlex
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.db import connection
from django.db.utils import OperationalError
from uvicorn.main import main as uvicorn_command

from backend.accounts.models import CoordinatorScope, User
from backend.assignments.models import Assignment, AssignmentEvent
from backend.elections.models import Area, Election, PollingPlace, Table
from backend.notices.models import Notice
from backend.volunteers.models import Volunteer
from backend.volunteers.selectors import volunteer_search

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_answers_200_when_the_database_answers(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_when_the_database_fails(client, db, monkeypatch):
    # given: every query fails as it would with the database server gone
    def broken(execute, sql, params, many, context):
        raise OperationalError("connection refused")

    # when
    with connection.execute_wrapper(broken):
        response = client.get("/healthz")
    # then
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "OperationalError"}


def test_healthz_needs_no_login_and_no_cookies(client, db):
    response = client.get("/healthz")
    assert "Set-Cookie" not in response.headers


def test_migrations_match_the_models():
    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


MODELS = [Election, Area, PollingPlace, Table, Volunteer, Assignment, AssignmentEvent, Notice, User, CoordinatorScope]


def _counts() -> dict:
    return {model.__name__: model.objects.count() for model in MODELS}


@pytest.mark.django_db(transaction=True)
def test_load_demo_twice_changes_nothing():
    # given: a first run builds the election
    first = StringIO()
    call_command("load_demo", "--volunteers", "200", "--assigned", "20", stdout=first)
    after_first = _counts()
    # when
    second = StringIO()
    call_command("load_demo", "--volunteers", "200", "--assigned", "20", stdout=second)
    # then
    assert _counts() == after_first
    assert "(nothing changed)" in second.getvalue()
    assert after_first["PollingPlace"] == 1220 and after_first["Table"] == 8653
    assert after_first["Volunteer"] == 200 and 0 < after_first["Assignment"] <= 20
    assert User.objects.filter(username="coordinadora", is_staff=True).exists()
    assert User.objects.get(username="coordinadora").check_password("fiscaliza-demo")
    # the demo's people are findable like any other (the issue's own example: volunteer 39)
    lead = User.objects.get(username="responsable")
    assert [v.phone for v in volunteer_search(user=lead, query="0351 15 500-0039")] == ["+5493515000039"]


@pytest.mark.slow
@pytest.mark.django_db
def test_load_demo_national_builds_the_whole_2019_list_from_the_fixture_and_a_second_run_changes_nothing():
    # given / when: the national list as published, zipped in fixtures/ (no ../shared at run time)
    first = StringIO()
    call_command("load_demo", "--national", "--volunteers", "100", "--assigned", "10", stdout=first)
    after_first = _counts()
    second = StringIO()
    call_command("load_demo", "--national", "--volunteers", "100", "--assigned", "10", stdout=second)

    # then: every table of every district, Buenos Aires included, and nothing changes the second time
    election = Election.objects.get(slug="demo-nacional")
    assert Table.objects.filter(election=election).count() == 101_461
    assert Table.objects.filter(election=election, place__area__path__startswith="/2/").count() == 37_704
    assert PollingPlace.objects.filter(election=election).count() == 14_887
    assert _counts() == after_first
    assert "(nothing changed)" in second.getvalue()
    assert Area.objects.get(election=election, path="/2/7/").name == "BAHIA BLANCA"


def _readme_web_command() -> list[str]:
    """The uvicorn line of the README's production commands ("Without Docker")."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Without Docker", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh", 1)[1].split("```", 1)[0].replace("\\\n", " ")
    line = next(line for line in block.splitlines() if line.strip().startswith("uvicorn "))
    return shlex.split(line, comments=True)


def _image_web_command() -> list[str]:
    dockerfile = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return json.loads(next(line for line in dockerfile.splitlines() if line.startswith("CMD "))[4:])


def _compose_web_command() -> list[str]:
    """docker-compose's web command with its variables at their defaults, as compose would run it."""
    command = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["web"]["command"]
    return [re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", part) for part in command]


def test_the_image_compose_and_readme_start_the_web_server_with_the_same_command():
    # given: the three places that say how production serves HTTP and WebSocket
    readme, image, compose = _readme_web_command(), _image_web_command(), _compose_web_command()
    # then: one command, with the WebSocket and backlog options the benches measured
    assert image == readme and compose == readme
    assert readme[:2] == ["uvicorn", "backend.asgi:application"]
    for option, value in [("--ws-per-message-deflate", "false"), ("--backlog", "4096"), ("--workers", "2")]:
        assert readme[readme.index(option) + 1] == value
    # and: the installed uvicorn takes every option and value of it
    context = uvicorn_command.make_context("uvicorn", readme[1:])
    assert (context.params["ws_per_message_deflate"], context.params["backlog"], context.params["workers"]) == (
        False,
        4096,
        2,
    )


def test_the_image_trusts_the_proxys_forwarded_headers_as_compose_does():
    # given: uvicorn reads whom to trust with X-Forwarded-* from FORWARDED_ALLOW_IPS when no option names it
    dockerfile = (ROOT / "Dockerfile").read_text()
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    # then: the image trusts its proxy (another container), compose lets .env narrow it, no command overrides it
    assert 'ENV FORWARDED_ALLOW_IPS="*"' in dockerfile
    assert compose["x-app"]["environment"]["FORWARDED_ALLOW_IPS"] == "${FORWARDED_ALLOW_IPS:-*}"
    assert "--forwarded-allow-ips" not in _image_web_command() + _compose_web_command() + _readme_web_command()
