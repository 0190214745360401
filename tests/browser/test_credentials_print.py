"""A lead prints a school's credentials from the console; the door's phone checks a QR's link.

Real server, real Chromium (tests/browser/conftest.py). The school, its watchers and the party's
setup are created on the server's database; the lead opens the school's board, follows
"Imprimir credenciales" and gets the PDF (read back with pypdf); a phone opens the verification
link printed under the QR and sees "válida", then "revocada" once the watcher declined and a
replacement took the table. Both verification pages are saved as 390 px screenshots.
"""

import io
import re

import pytest
from pypdf import PdfReader

from .conftest import run_django

pytestmark = pytest.mark.browser

SETUP = """
import io
from PIL import Image, ImageDraw
from backend.accounts.models import User
from backend.assignments.services import assignment_create
from backend.credentials.services import credential_setup_save
from backend.elections.models import Area, Election, PollingPlace, Table
from backend.volunteers.models import Volunteer

election = Election.objects.get(slug="prueba-navegador")
town = Area.objects.get(election=election, code="rc")
district = Area.objects.get(election=election, code="cba")
place = PollingPlace.objects.create(
    election=election, area=town, code="S-9", name="Escuela Güemes", address="Belgrano 12"
)
tables = [Table.objects.create(election=election, place=place, district=district, number=n) for n in (901, 902)]
people = [
    Volunteer.objects.create(dni="41000001", first_name="José María", last_name="Núñez", area=town),
    Volunteer.objects.create(dni="41000002", first_name="Begoña", last_name="Ibáñez", area=town),
    Volunteer.objects.create(dni="41000003", first_name="Agustín", last_name="Peña", area=town, votes_at=place),
]
first = assignment_create(volunteer=people[0], place=place, table=tables[0], role="table", source="web")
assignment_create(volunteer=people[1], place=place, table=tables[1], role="table", source="web")
image = Image.new("RGB", (400, 110), "white")
ImageDraw.Draw(image).line([(10, 90), (150, 15), (390, 80)], fill="black", width=5)
png = io.BytesIO()
image.save(png, format="PNG")
credential_setup_save(
    election=election, actor=User.objects.get(username="responsable"), party_name="Frente Cívico Ñandú",
    list_number="501", signatory_name="Inés Güemes", signatory_dni="20111222",
    table_wording="Acredito a {nombre}, DNI {dni}, ante la mesa {mesa}.", place_wording="Acredito a {nombre}.",
    signature=png.getvalue(),
)
result = {"place": place.pk, "assignment": first.pk}
"""

DECLINE = """
from backend.assignments.models import Assignment
from backend.assignments.services import assignment_decline
declined = assignment_decline(assignment=Assignment.objects.get(pk={pk}), source="web")
result = {{"replacement": declined.replacement.volunteer.first_name if declined.replacement else None}}
"""


def test_a_lead_prints_a_school_and_the_door_sees_valid_then_revoked(server, browser, phone, shots):
    from playwright.sync_api import expect

    made = run_django(server, SETUP)
    # The lead, on a laptop-sized window, opens the school's board and prints its credentials.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="es-AR")
    page = context.new_page()
    page.goto(server.url + "/")
    page.get_by_label("Usuario").fill("responsable")
    page.get_by_label("Contraseña").fill(server.password)
    page.get_by_role("button", name="Entrar").click()
    page.goto(f"{server.url}/consola/establecimientos/{made['place']}/")
    link = page.get_by_test_id("print-credentials")
    expect(link).to_have_text("Imprimir credenciales")
    response = page.request.get(server.url + link.get_attribute("href"))
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    text = PdfReader(io.BytesIO(response.body())).pages[0].extract_text()
    assert "José María Núñez" in text and "Begoña Ibáñez" in text and "Frente Cívico Ñandú" in text
    url = re.search(r"http://127\.0\.0\.1:\d+/v/[0-9A-Za-z]{10}", text).group(0)
    context.close()

    # A table's president scans the QR on a phone: no login needed.
    door = phone.new_page()
    door.goto(url)
    expect(door.get_by_test_id("verdict")).to_contain_text("válida")
    expect(door.locator("main")).to_contain_text("José")
    expect(door.locator("main")).to_contain_text("…001")
    expect(door.locator("main")).not_to_contain_text("Núñez")
    shots(door, "credential-verify-valid-390")

    # The watcher cannot go; the engine proposes the free volunteer, whose credential is issued.
    assert run_django(server, DECLINE.format(pk=made["assignment"])) == {"replacement": "Agustín"}
    door.reload()
    expect(door.get_by_test_id("verdict")).to_contain_text("revocada")
    shots(door, "credential-verify-revoked-390")
