"""A shift handover at 390 px: the afternoon watcher reports arriving on their page, the morning one
hands the table over with the big button, and the coordinator's school page shows it live.

Runs against the shared browser server with an election of its own, held today (unique phones,
tables and codes: the server's database is shared by every browser test).
"""

import pytest

from .conftest import run_django
from .test_table_day import _login, _sms

pytestmark = pytest.mark.browser

SETUP = """
import datetime
from django.utils import timezone
from backend.accounts.models import CoordinatorScope, User
from backend.accounts.services import magic_link_issue
from backend.assignments.services import assignment_create, assignment_transition
from backend.elections.models import Area, Election, PollingPlace, Table
from backend.volunteers.models import Volunteer

election = Election.objects.create(
    slug="turnos-hoy", name="Turnos (prueba)", date=timezone.localdate(), check_in_time=datetime.time(7, 30)
)
district = Area.objects.create(election=election, kind="distrito", code="cba4", name="Córdoba Este")
town = Area.objects.create(election=election, parent=district, kind="localidad", code="sf", name="San Francisco")
place = PollingPlace.objects.create(election=election, area=town, code="SF-1", name="Escuela Belgrano")
table = Table.objects.create(election=election, place=place, district=district, number=31)
CoordinatorScope.objects.create(user=User.objects.get(username="coordinadora"), area=district)
def person(first, last, dni, phone):
    return Volunteer.objects.create(first_name=first, last_name=last, dni=dni, phone=phone, area=town)

ana = person("Ana", "Morales", "27000311", "+5493564000301")
bruno = person("Bruno", "Tardes", "27000312", "+5493564000302")
for volunteer, shift in ((ana, "morning"), (bruno, "afternoon")):
    a = assignment_create(
        volunteer=volunteer, place=place, table=table, role="table", source="web", notify=False, shift=shift
    )
    assignment_transition(assignment=a, to_status="confirmed", source="sms")
result = {
    "place": place.pk,
    "table": table.pk,
    "ana_link": magic_link_issue(volunteer=ana),
    "bruno_link": magic_link_issue(volunteer=bruno),
}
"""


def test_the_morning_watcher_hands_over_to_the_afternoon_one(server, browser, phone, shots):
    from playwright.sync_api import expect

    seeded = run_django(server, SETUP)
    coordinator = phone.new_page()
    _login(coordinator, server, "coordinadora")
    coordinator.goto(server.url + f"/consola/dia/establecimientos/{seeded['place']}/")
    expect(coordinator.locator("#live-state")).to_have_text("en vivo")
    table_row = coordinator.get_by_test_id("day-table").filter(has_text="Mesa 31")
    expect(table_row.get_by_test_id("watcher-shift")).to_have_count(2)

    # --- Ana arrived in the morning (SMS); Bruno arrives after noon, on his page ---------------------
    assert _sms(server, "+5493564000301", "LLEGUE") == 200
    bruno_context = browser.new_context(viewport={"width": 390, "height": 844}, locale="es-AR")
    bruno = bruno_context.new_page()
    bruno.goto(seeded["bruno_link"].replace("http://testserver", server.url))
    expect(bruno.get_by_test_id("shift")).to_contain_text("recibís la mesa de Ana Morales")
    bruno.get_by_role("button", name="Ya llegué").click()
    expect(bruno.locator(".flash")).to_contain_text("Registramos tu llegada")

    # --- Ana hands over with the big button ------------------------------------------------------------
    ana_context = browser.new_context(viewport={"width": 390, "height": 844}, locale="es-AR")
    ana = ana_context.new_page()
    ana.goto(seeded["ana_link"].replace("http://testserver", server.url))
    expect(ana.get_by_test_id("shift")).to_contain_text("te reemplaza Bruno Tardes")
    shots(ana, "48-morning-watcher-handover")
    ana.get_by_test_id("hand-over").click()
    expect(ana.locator(".flash")).to_contain_text("entregaste la mesa")

    # --- the coordinator's school page follows live: only Bruno, afternoon, at table 31 ---------------
    expect(table_row.get_by_test_id("watcher-shift")).to_have_count(1)
    expect(table_row).to_contain_text("Bruno Tardes")
    expect(table_row).not_to_contain_text("Ana Morales")
    shots(coordinator, "49-school-after-handover")
    coordinator.goto(server.url + f"/consola/dia/mesas/{seeded['table']}/")
    expect(coordinator.get_by_test_id("timeline")).to_contain_text("Ana Morales entregó la mesa a Bruno Tardes.")
    ana_context.close()
    bruno_context.close()


CHANGE_SETUP = """
import datetime
from django.utils import timezone
from backend.accounts.models import CoordinatorScope, User
from backend.assignments.services import assignment_create, assignment_transition
from backend.elections.models import Area, Election, PollingPlace, Table
from backend.volunteers.models import Volunteer

election = Election.objects.create(
    slug="turnos-cambio", name="Cambio de turno (prueba)", date=timezone.localdate(), check_in_time=datetime.time(7, 30)
)
district = Area.objects.create(election=election, kind="distrito", code="cba5", name="Córdoba Sur")
town = Area.objects.create(election=election, parent=district, kind="localidad", code="rc", name="Río Cuarto")
place = PollingPlace.objects.create(election=election, area=town, code="RC-1", name="Escuela Sarmiento")
tables = [Table.objects.create(election=election, place=place, district=district, number=n) for n in (41, 42)]
CoordinatorScope.objects.create(user=User.objects.get(username="coordinadora"), area=district)
def assign(first, last, dni, phone, table, shift):
    volunteer = Volunteer.objects.create(first_name=first, last_name=last, dni=dni, phone=phone, area=town)
    a = assignment_create(
        volunteer=volunteer, place=place, table=table, role="table", source="web", notify=False, shift=shift
    )
    return assignment_transition(assignment=a, to_status="confirmed", source="sms").pk

result = {
    "place": place.pk,
    "carla": assign("Carla", "Sosa", "27000411", "+5493584000401", tables[0], "day"),
    "elena": assign("Elena", "Mañanas", "27000421", "+5493584000421", tables[1], "morning"),
    "dario": assign("Darío", "Tardes", "27000422", "+5493584000422", tables[1], "afternoon"),
}
"""

TOLD = """
from backend.notices.models import Notice
result = [n.payload.get("shift") for n in Notice.objects.filter(assignment_id=CARLA, kind="change")]
"""


def test_a_coordinator_changes_a_shift_on_the_phone_and_a_clash_is_explained(server, phone, shots):
    from playwright.sync_api import expect

    seeded = run_django(server, CHANGE_SETUP)
    coordinator = phone.new_page()
    _login(coordinator, server, "coordinadora")
    coordinator.goto(server.url + f"/consola/establecimientos/{seeded['place']}/")
    carla = coordinator.get_by_test_id("slot").filter(has_text="Carla Sosa")

    # --- Carla, a whole-day watcher of table 41, goes to the morning -------------------------------------
    change = carla.get_by_test_id("shift-change")
    change.locator("summary").click()
    change.get_by_label("Turno").select_option(label="Turno mañana")
    shots(coordinator, "50-shift-change-form")
    change.get_by_role("button", name="Cambiar turno").click()
    expect(coordinator.locator(".flash")).to_contain_text("Carla Sosa: Turno mañana.")
    table_41 = coordinator.locator('[data-testid="slot"][data-table="41"]')
    expect(table_41.get_by_test_id("slot-shift")).to_have_text(["Turno mañana", "Turno tarde"])
    assert run_django(server, TOLD.replace("CARLA", str(seeded["carla"]))) == ["morning"]

    # --- Elena (morning of table 42) to the whole day: Darío holds the afternoon, so it is refused -------
    elena = coordinator.get_by_test_id("slot").filter(has_text="Elena Mañanas")
    change = elena.get_by_test_id("shift-change")
    change.locator("summary").click()
    change.get_by_label("Turno").select_option(label="Todo el día")
    change.get_by_role("button", name="Cambiar turno").click()
    expect(coordinator.locator(".flash")).to_contain_text(
        "No se puede pasar a Elena Mañanas a todo el día: Darío Tardes tiene turno tarde de la mesa 42."
    )
    expect(coordinator.get_by_test_id("slot").filter(has_text="Elena Mañanas")).to_contain_text("Turno mañana")
    shots(coordinator, "51-shift-change-clash")
