"""The coordinator's day at 390 px: find people however they are typed, fix a phone, and read an
election-day board whose numbers are the database's.

Runs against the shared browser server (tests/browser/conftest.py) with an election of its own,
held yesterday, so the check-in deadline has passed: one watcher told two days ago and absent,
one who arrived, one proposal nobody was told of, one replacement told ten minutes ago.
"""

import re

import pytest

from .conftest import run_django

pytestmark = pytest.mark.browser

SETUP = """
import datetime
from django.utils import timezone
from backend.accounts.models import CoordinatorScope, User
from backend.assignments.models import AssignmentEvent
from backend.assignments.services import assignment_check_in, assignment_create, assignment_transition
from backend.elections.models import Area, Election, PollingPlace, Table
from backend.volunteers.models import Volunteer

# Held today while one watcher checks in (check-ins are accepted on election day only), then
# moved to yesterday so the check-in deadline has passed.
election = Election.objects.create(
    slug="ayer", name="Ayer (prueba)", date=timezone.localdate(), check_in_time=datetime.time(7, 30)
)
district = Area.objects.create(election=election, kind="distrito", code="cba2", name="Córdoba Capital")
town = Area.objects.create(election=election, parent=district, kind="localidad", code="centro", name="Centro")
place = PollingPlace.objects.create(election=election, area=town, code="C-1", name="Escuela Nicolás Avellaneda")
tables = [Table.objects.create(election=election, place=place, district=district, number=n) for n in (11, 12, 13, 14)]
CoordinatorScope.objects.create(user=User.objects.get(username="coordinadora"), area=district)
people = [
    ("Agustina", "García", "28111222", "+5493515000039"),
    ("Agustina", "García", "33444555", "+5493515000077"),
    ("Ramón", "Rodríguez", "29000111", "+5493515000101"),
    ("Inés", "Ibáñez", "29000222", "+5493515000102"),
    ("Libre", "Uno", "29000333", "+5493515000103"),
]
vols = [Volunteer.objects.create(first_name=f, last_name=l, dni=d, phone=p, area=town) for f, l, d, p in people]

def told(assignment, minutes_ago):
    assignment_transition(assignment=assignment, to_status="notified", source="sms")
    AssignmentEvent.objects.filter(assignment=assignment, to_status="notified").update(
        created_at=timezone.now() - datetime.timedelta(minutes=minutes_ago)
    )

absent = assignment_create(volunteer=vols[0], place=place, table=tables[0], role="table", source="web")
told(absent, 48 * 60)
arrived = assignment_create(volunteer=vols[2], place=place, table=tables[1], role="table", source="web")
told(arrived, 48 * 60)
assignment_check_in(assignment=arrived, source="sms")
assignment_create(volunteer=vols[3], place=place, table=tables[2], role="table", source="web")  # never told
fresh = assignment_create(volunteer=vols[1], place=place, table=tables[3], role="table", source="web")
told(fresh, 10)
election.date = timezone.localdate() - datetime.timedelta(days=1)
election.save(update_fields=["date"])
result = {"election": election.pk, "agustina": vols[0].pk}
"""

# Counted straight from the tables, not through the selectors the page uses.
COUNTS = """
import datetime
from django.conf import settings
from django.db.models import Min, Q
from django.utils import timezone
from backend.assignments.models import Assignment

grace = datetime.timedelta(minutes=settings.CONSOLE_CHECK_IN_GRACE_MINUTES)
told = (
    Assignment.objects.filter(election_id=ELECTION, status__in=["notified", "confirmed"])
    .annotate(told_at=Min("events__created_at", filter=Q(events__to_status__in=["notified", "confirmed"])))
)
late = [a.pk for a in told if a.told_at <= timezone.now() - grace]
result = {
    "late": len(late),
    "checked_in": Assignment.objects.filter(election_id=ELECTION, status="checked_in").count(),
}
"""


def _login(page, server, username):
    page.goto(server.url + "/")
    page.get_by_label("Usuario").fill(username)
    page.get_by_label("Contraseña").fill(server.password)
    page.get_by_role("button", name="Entrar").click()


def test_a_coordinator_finds_fixes_and_reads_trustworthy_numbers(server, phone, shots):
    from playwright.sync_api import expect

    seeded = run_django(server, SETUP)
    page = phone.new_page()
    _login(page, server, "coordinadora")
    page.goto(server.url + f"/consola/fiscales/?eleccion={seeded['election']}")

    # --- find "garcia" without the accent: both namesakes, told apart -------------------------------
    box = page.get_by_placeholder("Nombre, DNI, celular, escuela o mesa")
    box.fill("garcia")
    people = page.locator('#results [data-testid="results"] .node')
    expect(people).to_have_count(2)
    expect(page.locator("#results")).to_contain_text("28111222")
    expect(page.locator("#results")).to_contain_text("33444555")
    expect(page.locator("#results")).to_contain_text("Centro")
    shots(page, "21-search-garcia")

    # --- find the phone written the way people say it -----------------------------------------------
    box.fill("0351 15 500-0039")
    expect(people).to_have_count(1)
    expect(people.first).to_contain_text("+5493515000039")
    shots(page, "22-search-phone")

    # --- fix her phone from the console ----------------------------------------------------------------
    people.first.locator("a").click()
    expect(page.locator("h1")).to_have_text("Agustina García")
    page.get_by_role("link", name="Editar").click()
    page.get_by_label("Celular").fill("0351 15 1")
    page.get_by_role("button", name="Guardar").click()
    expect(page.locator(".errorlist")).to_contain_text("no es un celular")
    shots(page, "23-edit-bad-phone")
    page.get_by_label("Celular").fill("0351 15 600-0040")
    page.get_by_role("button", name="Guardar").click()
    expect(page.locator(".flash")).to_contain_text("guardados")
    expect(page.locator("main")).to_contain_text("+5493516000040")
    expect(page.get_by_test_id("history")).to_contain_text("+5493515000039 → +5493516000040")
    shots(page, "24-profile-after-edit")

    # --- the election-day board: its numbers are the database's -----------------------------------
    page.goto(server.url + f"/consola/dia/?eleccion={seeded['election']}")
    expected = run_django(server, COUNTS.replace("ELECTION", str(seeded["election"])))
    expect(page.get_by_test_id("late-total")).to_have_text(str(expected["late"]))
    expect(page.get_by_test_id("checked-in-total")).to_have_text(re.compile(rf"^{expected['checked_in']}/\d+$"))
    assert expected["late"] == 1  # the absent one; not the never-told proposal, not the fresh replacement
    flagged = page.get_by_test_id("flagged")
    expect(flagged).to_have_count(1)
    expect(flagged.first).to_contain_text(re.compile("Agustina García"))
    shots(page, "25-election-day-numbers")
