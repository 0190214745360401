"""Election day at the tables, at 390 px: a watcher opens and closes a table (web and SMS) and
reports problems (SMS and web); the fiscal general records a walk-in watcher; the coordinator sees
all of it live on the day board, the school page and the incident board, takes the incident, and
the watcher is told.

Runs against the shared browser server (tests/browser/conftest.py) with an election of its own,
held today. SMS arrive through the real webhook, signed as Twilio signs them.
"""

import re
import urllib.parse
import urllib.request
import uuid

import pytest
from twilio.request_validator import RequestValidator

from .conftest import run_django

pytestmark = pytest.mark.browser

SETUP = """
import datetime
from django.utils import timezone
from backend.accounts.models import CoordinatorScope, User
from backend.accounts.services import magic_link_issue
from backend.assignments.services import assignment_create
from backend.elections.models import Area, Election, PollingPlace, Table
from backend.volunteers.models import Volunteer

election = Election.objects.create(
    slug="mesas-hoy", name="Mesas (prueba)", date=timezone.localdate(), check_in_time=datetime.time(7, 30)
)
district = Area.objects.create(election=election, kind="distrito", code="cba3", name="Córdoba Sur")
town = Area.objects.create(election=election, parent=district, kind="localidad", code="vm", name="Villa María")
place = PollingPlace.objects.create(election=election, area=town, code="V-1", name="Escuela Rivadavia")
tables = [Table.objects.create(election=election, place=place, district=district, number=n) for n in (21, 22, 23)]
CoordinatorScope.objects.create(user=User.objects.get(username="coordinadora"), area=district)
def person(first, last, dni, phone):
    return Volunteer.objects.create(first_name=first, last_name=last, dni=dni, phone=phone, area=town)

watcher = person("Marta", "Luna", "27000111", "+5493535000201")
general = person("Hugo", "Paz", "27000222", "+5493535000202")
assignment_create(volunteer=watcher, place=place, table=tables[0], role="table", source="web", notify=False)
assignment_create(volunteer=general, place=place, role="place", source="web", notify=False)
result = {
    "election": election.pk,
    "town": town.pk,
    "place": place.pk,
    "watcher": watcher.pk,
    "watcher_link": magic_link_issue(volunteer=watcher),
    "general_link": magic_link_issue(volunteer=general),
}
"""

TOLD = """
from backend.notices.models import Notice
result = [n.payload.get("text", "") for n in Notice.objects.filter(volunteer_id=WATCHER).order_by("id")]
"""


def _login(page, server, username):
    page.goto(server.url + "/")
    page.get_by_label("Usuario").fill(username)
    page.get_by_label("Contraseña").fill(server.password)
    page.get_by_role("button", name="Entrar").click()


def _sms(server, phone: str, body: str) -> int:
    """POST the webhook as Twilio does, with a real signature over the server's public URL."""
    params = {
        "MessageSid": f"SM{uuid.uuid4().hex}",
        "AccountSid": "AC00000000000000000000000000000000",
        "From": phone,
        "To": "+15005550006",
        "Body": body,
        "NumMedia": "0",
    }
    url = server.url + "/sms/inbound/"
    token = server.env.get("TWILIO_AUTH_TOKEN", "dev-twilio-auth-token")
    signature = RequestValidator(token).compute_signature(url, params)
    request = urllib.request.Request(
        url, data=urllib.parse.urlencode(params).encode(), headers={"X-Twilio-Signature": signature}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def test_the_tables_day_seen_live_by_the_coordinator(server, browser, phone, shots):
    from playwright.sync_api import expect

    seeded = run_django(server, SETUP)
    coordinator = phone.new_page()
    _login(coordinator, server, "coordinadora")
    coordinator.goto(server.url + f"/consola/dia/mesas/?eleccion={seeded['election']}&area={seeded['town']}")
    expect(coordinator.locator("#live-state")).to_have_text("en vivo")
    expect(coordinator.get_by_test_id("opened-total")).to_have_text("0/3")

    # --- the watcher opens the table with the one big button -----------------------------------------
    watcher_context = browser.new_context(viewport={"width": 390, "height": 844}, locale="es-AR")
    watcher = watcher_context.new_page()
    watcher.goto(seeded["watcher_link"].replace("http://testserver", server.url))
    expect(watcher.locator("h1")).to_have_text("Mi asignación")
    watcher.get_by_role("button", name="Informar: Abierta").click()
    expect(watcher.locator(".flash")).to_contain_text("Registramos: mesa 21, Abierta.")
    shots(watcher, "40-watcher-opened")
    # the coordinator's board moves without a reload
    expect(coordinator.get_by_test_id("opened-total")).to_have_text("1/3")

    # --- ... and closes it by SMS (a typo is tolerated) ----------------------------------------------
    assert _sms(server, "+5493535000201", "CERRRO") == 200
    expect(coordinator.get_by_test_id("closed-total")).to_have_text("1")
    shots(coordinator, "41-day-board-live")

    # --- problems: one by SMS, one on the web --------------------------------------------------------
    assert _sms(server, "+5493535000201", "PROBLEMA faltan boletas de la lista 3 en la 21") == 200
    expect(coordinator.get_by_test_id("incidents-open")).to_have_text("1")
    board = phone.new_page()
    board.goto(server.url + "/consola/dia/incidentes/")
    expect(board.locator("#live-state")).to_have_text("en vivo")
    expect(board.get_by_test_id("incident")).to_have_count(1)
    watcher.reload()
    watcher.get_by_label("Qué pasó").select_option(label="Propaganda en el establecimiento")
    watcher.get_by_label("Contalo").fill("Hay afiches del partido en el aula de la mesa 21")
    watcher.get_by_role("button", name="Enviar problema").click()
    expect(watcher.locator(".flash")).to_contain_text("recibido")
    shots(watcher, "42-watcher-problem-web")
    expect(board.get_by_test_id("incident")).to_have_count(2)  # live
    shots(board, "43-incident-board")

    # --- the coordinator takes the web one; the watcher is told --------------------------------------
    web_one = board.get_by_test_id("incident").filter(has_text="afiches")
    web_one.get_by_test_id("take").click()
    expect(board.locator(".flash")).to_contain_text("Tomaste el incidente")
    expect(board.get_by_test_id("incident").filter(has_text="afiches").get_by_test_id("incident-status")).to_have_text(
        "En curso"
    )
    told = run_django(server, TOLD.replace("WATCHER", str(seeded["watcher"])))
    assert any("tomó tu problema" in text for text in told)
    shots(board, "44-incident-taken")

    # --- the fiscal general records a walk-in for an uncovered table ---------------------------------
    general_context = browser.new_context(viewport={"width": 390, "height": 844}, locale="es-AR")
    general = general_context.new_page()
    general.goto(seeded["general_link"].replace("http://testserver", server.url))
    expect(general.get_by_test_id("school-table")).to_have_count(3)
    school = phone.new_page()
    school.goto(server.url + f"/consola/dia/establecimientos/{seeded['place']}/")
    expect(school.locator("#live-state")).to_have_text("en vivo")
    walk_in = general.get_by_test_id("walk-in")
    walk_in.get_by_label("Mesa").select_option(label="Mesa 23")
    walk_in.get_by_label("Nombre").fill("Rocío")
    walk_in.get_by_label("Apellido").fill("Ferreyra")
    walk_in.get_by_label("DNI").fill("30.555.666")
    walk_in.get_by_label("Celular").fill("0353 15 500-0203")
    shots(general, "45-general-walk-in-form")
    walk_in.get_by_role("button", name="Registrar fiscal").click()
    expect(general.locator(".flash")).to_contain_text("Rocío Ferreyra fiscaliza la mesa 23.")
    # and reports the opening of table 22 for the school
    row = general.get_by_test_id("school-table").filter(has_text="Mesa 22")
    row.locator("select").select_option("open")
    row.get_by_role("button", name="Informar").click()
    expect(general.locator(".flash")).to_contain_text("Registramos: mesa 22, Abierta.")
    shots(general, "46-general-school")
    # the coordinator's school page shows both, live
    table_23 = school.get_by_test_id("day-table").filter(has_text="Mesa 23")
    expect(table_23).to_contain_text("Rocío Ferreyra")
    expect(school.get_by_test_id("day-table").filter(has_text="Mesa 22").get_by_test_id("table-state")).to_have_text(
        "Abierta"
    )
    shots(school, "47-school-page-live")
    expect(coordinator.get_by_test_id("opened-total")).to_have_text(re.compile(r"^2/3$"))
    watcher_context.close()
    general_context.close()
