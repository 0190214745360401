"""Election night in the browser: a watcher sends a sheet with its photo, two data-entry volunteers
transcribe a photo-only sheet, the quick count moves live, a lead imports the official file through
the console (preview, apply) and the discrepancy appears with its photo, a coordinator resolves a
conflict between two sheets of a table on the phone; an SMS sheet with a wrong total is asked back."""

import urllib.parse
import urllib.request
import uuid

import pytest

from ..count.conftest import png_bytes
from .conftest import run_django

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SETUP = """
from backend.accounts.models import CoordinatorScope, Role, User
from backend.accounts.services import magic_link_issue
from backend.assignments.models import ACTIVE_STATUSES, Assignment
from backend.assignments.services import assignment_create, assignment_unassign
from backend.count.models import BallotList, Category
from backend.count.services import sheet_photo_submit
from backend.elections.models import Area, Election, Table
from backend.tableday.services import table_report
from backend.volunteers.models import Volunteer
from django.core.files.uploadedfile import SimpleUploadedFile
from tests.count.conftest import png_bytes

election = Election.objects.get(slug="prueba-navegador")
north = Area.objects.get(election=election, code="norte")
governor = Category.objects.create(election=election, code="GOB", name="Gobernador")
ours = BallotList.objects.create(category=governor, name="Hacemos por Córdoba", position=0, ours=True)
rival = BallotList.objects.create(category=governor, name="Juntos por el Cambio", position=1)
table1 = Table.objects.get(election=election, number=1)
table2 = Table.objects.get(election=election, number=2)
table3 = Table.objects.get(election=election, number=3)
# The browser tests share one server: free these tables of watchers an earlier test assigned.
for taken in Assignment.objects.filter(table__in=(table1, table2, table3), status__in=ACTIVE_STATUSES):
    assignment_unassign(assignment=taken, source="admin", reason="browser test of election night")
people = []
for number, table in ((1, table1), (2, table2), (3, table3)):
    user = User.objects.create_user(f"fiscal-acta-{number}", role=Role.VOLUNTEER)
    volunteer = Volunteer.objects.create(
        dni=f"4000000{number}", first_name="Fiscal", last_name=str(number), phone=f"+5493514440{number:03d}",
        user=user, phone_verified=True,
    )
    assignment_create(volunteer=volunteer, place=table.place, table=table, role="table", source="admin", notify=False)
    table_report(table=table, state="counted", actor=user, channel="web")
    people.append(volunteer)
for name in ("carga-ana", "carga-beto"):
    typist = User.objects.create_user(name, password=PASSWORD, role=Role.DATA_ENTRY, first_name=name[6:].title())
    CoordinatorScope.objects.create(user=typist, area=north)
photo = sheet_photo_submit(
    table=table2, category=governor, photo=SimpleUploadedFile("a.png", png_bytes()), source="web", actor=people[1].user
)
result = {
    "link": magic_link_issue(volunteer=people[0]),
    "ours": ours.pk, "rival": rival.pk, "phone3": people[2].phone, "election": election.pk,
}
"""

OFFICIAL = (
    "mesa,Hacemos por Córdoba,Juntos por el Cambio,Voto en BLANCO,Votos NULOS,Votos RECURRIDOS,Votos IMPUGNADOS,"
    "cant_votantes\n1,110,90,4,2,0,0,206\n2,70,50,3,1,0,0,124\n"
)

# Table 1's watcher sends a second sheet that differs from the first (110 for us, as the official file):
# a conflict for the coordinator.
SECOND_SHEET = """
from django.core.files.uploadedfile import SimpleUploadedFile
from backend.count.models import Category
from backend.count.services import SheetFigures, sheet_submit
from backend.elections.models import Election, Table
from backend.volunteers.models import Volunteer
from tests.count.conftest import png_bytes
election = Election.objects.get(slug="prueba-navegador")
governor = Category.objects.get(election=election, code="GOB")
ours, rival = governor.lists.order_by("position")
watcher = Volunteer.objects.get(dni="40000001")
sent = sheet_submit(
    table=Table.objects.get(election=election, number=1), category=governor, source="web", actor=watcher.user,
    figures=SheetFigures(votes={ours.pk: 110, rival.pk: 90}, blank=4, null=2, contested=0, challenged=0, voters=206),
    photo=SimpleUploadedFile("b.png", png_bytes(30, 40)),
)
result = [sent.sheet.pk, sent.sheet.status]
"""


def _login(page, server, username):
    page.goto(server.url + "/entrar/")
    page.get_by_label("Usuario").fill(username)
    page.get_by_label("Contraseña").fill(server.password)
    page.get_by_role("button", name="Entrar").click()


def _sms(server, phone: str, body: str) -> str:
    from twilio.request_validator import RequestValidator

    url = server.url + "/sms/inbound/"
    params = {
        "MessageSid": f"SM{uuid.uuid4().hex}",
        "AccountSid": "AC00000000000000000000000000000000",
        "From": phone,
        "To": "+15005550006",
        "Body": body,
        "NumMedia": "0",
    }
    signature = RequestValidator("dev-twilio-auth-token").compute_signature(url, params)
    request = urllib.request.Request(
        url, data=urllib.parse.urlencode(params).encode(), headers={"X-Twilio-Signature": signature}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read().decode()


def test_election_night(server, browser, shots, tmp_path):
    from playwright.sync_api import expect

    seeded = run_django(server, f"PASSWORD = {server.password!r}\n" + SETUP)
    coordinator = browser.new_context(locale="es-AR").new_page()
    _login(coordinator, server, "coordinadora")
    coordinator.goto(server.url + f"/consola/conteo/?eleccion={seeded['election']}&categoria=GOB")
    expect(coordinator.locator("#live-state")).to_have_text("en vivo", timeout=15000)
    expect(coordinator.get_by_test_id("tables-reported")).to_have_text("0")

    # A watcher sends the sheet with its photo; the totals check themselves as they type.
    watcher = browser.new_context(locale="es-AR", viewport={"width": 390, "height": 844}).new_page()
    watcher.goto(
        seeded["link"].replace("http://testserver", server.url) if "testserver" in seeded["link"] else seeded["link"]
    )
    watcher.get_by_test_id("sheet-link").click()
    form = watcher.locator("form.sheet").first
    form.locator(f'input[name="list_{seeded["ours"]}"]').fill("120")
    form.locator(f'input[name="list_{seeded["rival"]}"]').fill("80")
    form.locator('input[name="blank"]').fill("4")
    form.locator('input[name="null"]').fill("2")
    form.locator('input[name="contested"]').fill("0")
    form.locator('input[name="challenged"]').fill("0")
    form.locator('input[name="voters"]').fill("205")
    expect(form.locator("[data-check]")).to_contain_text("206")  # one short: it says so before sending
    form.locator('input[name="voters"]').fill("206")
    expect(form.locator("[data-check]")).to_contain_text("Cierra")
    picture = tmp_path / "acta.png"
    picture.write_bytes(png_bytes(40, 30))
    form.locator('input[type="file"]').set_input_files(str(picture))
    form.get_by_role("button", name="Enviar acta de GOB").click()
    expect(watcher.get_by_text("Acta de GOB recibida")).to_be_visible(timeout=15000)
    shots(watcher, "count-watcher-sheet")

    # The quick count moves without a reload.
    expect(coordinator.get_by_test_id("tables-reported")).to_have_text("1", timeout=15000)
    expect(coordinator.get_by_test_id(f"votes-{seeded['ours']}")).to_have_text("120")

    # Two data-entry volunteers type the photo-only sheet of table 2.
    for typist in ("carga-ana", "carga-beto"):
        desk = browser.new_context(locale="es-AR").new_page()
        _login(desk, server, typist)
        desk.goto(server.url + "/consola/carga-de-actas/")
        expect(desk.get_by_test_id("desk-photo")).to_be_visible()
        entry = desk.get_by_test_id("desk-form")
        entry.locator(f'input[name="list_{seeded["ours"]}"]').fill("70")
        entry.locator(f'input[name="list_{seeded["rival"]}"]').fill("50")
        for name, value in (("blank", "3"), ("null", "1"), ("contested", "0"), ("challenged", "0"), ("voters", "124")):
            entry.locator(f'input[name="{name}"]').fill(value)
        entry.get_by_role("button", name="Guardar y seguir").click()
        expect(desk.get_by_test_id("desk-empty")).to_be_visible()
        desk.context.close()
    expect(coordinator.get_by_test_id("tables-reported")).to_have_text("2", timeout=15000)

    # The official file arrives: a lead uploads it on the phone, sees what was understood, applies it;
    # table 1 lost 10 of our votes and the discrepancy shows with its photo.
    lead = browser.new_context(locale="es-AR", viewport={"width": 390, "height": 844}).new_page()
    _login(lead, server, "responsable")
    lead.goto(server.url + f"/consola/conteo/?eleccion={seeded['election']}")
    lead.get_by_test_id("nav-official").click()
    official = tmp_path / "gobernador-oficial.csv"
    official.write_text(OFFICIAL, encoding="utf-8")
    upload = lead.get_by_test_id("official-upload-form")
    upload.get_by_label("Provincial: una fila por mesa").check()
    upload.locator('select[name="category"]').select_option(label="Gobernador (GOB)")
    upload.locator('input[type="file"]').set_input_files(str(official))
    shots(lead, "count-official-upload")
    upload.get_by_role("button", name="Subir y revisar").click()
    preview = lead.get_by_test_id("official-preview")
    expect(preview).to_be_visible(timeout=30000)
    expect(preview.get_by_test_id("official-tables")).to_have_text("2")
    expect(preview.get_by_test_id("official-columns")).to_contain_text("cant_votantes")
    shots(lead, "count-official-preview")
    lead.get_by_test_id("official-apply").click()
    result = lead.get_by_test_id("official-result")
    expect(result).to_be_visible(timeout=30000)
    expect(result).to_contain_text("2 actas oficiales guardadas en 2 mesas")
    shots(lead, "count-official-result")
    result.get_by_test_id("official-discrepancies").click()
    row = lead.get_by_test_id("discrepancy")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Hacemos por Córdoba: 120 / 110")
    photo = lead.request.get(server.url + row.get_by_test_id("photo-link").get_attribute("href"))
    assert photo.status == 200 and photo.body() == png_bytes(40, 30)
    shots(lead, "count-discrepancies")

    # Table 1's watcher sends a second, different sheet: the coordinator compares both on the phone
    # and takes the new one with a reason; the discrepancy with the official file is gone.
    second_id, status = run_django(server, SECOND_SHEET)
    assert status == "conflict"
    phone = browser.new_context(locale="es-AR", viewport={"width": 390, "height": 844}).new_page()
    _login(phone, server, "coordinadora")
    phone.goto(server.url + f"/consola/conteo/?eleccion={seeded['election']}")
    phone.get_by_test_id("nav-conflicts").click()
    conflict = phone.get_by_test_id("conflict").filter(has_text="Gobernador")
    expect(conflict).to_have_count(1)
    expect(conflict).to_contain_text("Hacemos por Córdoba: 120 / 110")
    shots(phone, "count-conflicts")
    conflict.get_by_test_id("conflict-open").click()
    expect(phone.get_by_test_id("conflict-photo")).to_have_count(2)
    phone.locator(f'input[name="sheet"][value="{second_id}"]').check()
    phone.get_by_label("Motivo (queda registrado)").fill("La foto nueva se lee bien: 110")
    shots(phone, "count-conflict")
    phone.get_by_test_id("conflict-resolve").click()
    expect(phone.get_by_text(f"quedó el acta #{second_id}")).to_be_visible()
    expect(phone.get_by_test_id("conflicts-empty")).to_be_visible()
    phone.goto(server.url + "/consola/discrepancias/")
    expect(phone.get_by_test_id("discrepancy")).to_have_count(0)

    # An SMS sheet with a wrong total is asked back.
    reply = _sms(server, seeded["phone3"], "ACTA 3 GOB 100 50 B 1 N 1 R 0 I 0 V 160")
    assert "No cierra" in reply and "suman 152" in reply
