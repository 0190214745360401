"""A coordinator runs an election from the console in a real browser, at phone width.

One scenario against one real server (tests/browser/conftest.py): the lead imports a roster
through the upload page; the coordinator sees coverage, previews and applies auto-assign, takes a
watcher off a table and assigns another by hand, writes an instruction with {escuela} and {mesa}
(the preview flags who lacks them; narrowed, it needs a lead, who approves and sends it), finds it
on /dev/sms/, and watches a check-in (an SMS "LLEGUE" answered from /dev/sms/) arrive live on the board.
Every page is saved as a 390 px screenshot under test-artifacts/.
"""

import re

import pytest
from openpyxl import Workbook

pytestmark = pytest.mark.browser

NORTH = [
    ("Ana", "Acosta", "Escuela Belgrano"),
    ("Bruno", "Benítez", "Escuela Belgrano"),
    ("Carla", "Castro", "Escuela Belgrano"),
    ("Diego", "Díaz", "Escuela Belgrano"),
    ("Elena", "Estévez", "Escuela Sarmiento"),
    ("Fabián", "Flores", "Escuela Sarmiento"),
    ("Gabriela", "Gómez", "Escuela Sarmiento"),
    ("Hernán", "Herrera", "Escuela Sarmiento"),
    ("Inés", "Ibáñez", "Escuela Belgrano"),
    ("Julián", "Juárez", "Escuela Sarmiento"),
]
SOUTH = [("Karina", "Kühn", "Escuela Alberdi"), ("Lucas", "Luna", "Escuela Alberdi")]


def _roster(path):
    book = Workbook()
    sheet = book.active
    sheet.append(["DNI", "Apellido y Nombre", "Celular", "Localidad", "Vota en", "Disponibilidad"])
    people = {}
    for i, (first, last, school) in enumerate(NORTH + SOUTH):
        phone = f"+549351555{i:04d}"
        town = "Jesús María" if (first, last, school) in NORTH else "Río Cuarto"
        sheet.append([f"3000{i:04d}", f"{last}, {first}", phone, town, school, "Todo el día"])
        people[f"{first} {last}"] = phone
    book.save(path)
    return people


def _login(page, server, username):
    page.goto(server.url + "/")
    page.get_by_label("Usuario").fill(username)
    page.get_by_label("Contraseña").fill(server.password)
    page.get_by_role("button", name="Entrar").click()


def _uncovered(page) -> int:
    return int(page.get_by_test_id("uncovered-total").inner_text())


def test_a_coordinator_runs_the_election_from_the_console(server, browser, phone, shots, tmp_path):
    from playwright.sync_api import expect

    from .conftest import PHONE

    page = phone.new_page()

    # --- the lead logs in and imports the roster through the upload page --------------------------
    page.goto(server.url + "/")
    expect(page).to_have_url(re.compile(r"/entrar/"))
    shots(page, "01-login")
    _login(page, server, "responsable")
    expect(page).to_have_url(re.compile(r"/consola/"))
    people = _roster(tmp_path / "padron.xlsx")
    page.get_by_role("link", name="Importar").first.click()
    if "/consola/importar/" in page.url:
        shots(page, "02-imports-link")
        page.get_by_role("link", name="Ir a la carga de planillas").click()
    page.get_by_label("Elección").select_option(label="Generales (prueba)")
    page.get_by_label("Qué importás").select_option("roster")
    page.get_by_label("Planilla (.xlsx o .csv)").set_input_files(str(tmp_path / "padron.xlsx"))
    page.get_by_role("button", name="Subir y revisar").click()
    expect(page.locator("body")).to_contain_text("12")
    shots(page, "03-import-preview")
    page.get_by_role("button", name="Aplicar").click()
    expect(page.locator("#status")).to_contain_text(re.compile("plicad"))
    shots(page, "04-import-applied")
    page.get_by_role("button", name="Salir").click()

    # --- the coordinator sees only Norte, with every slot uncovered ---------------------------------
    _login(page, server, "coordinadora")
    expect(page.get_by_role("heading", name="Cobertura")).to_be_visible()
    expect(page.locator(".node-title", has_text="Norte")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("Sur")
    before = _uncovered(page)
    assert before == 8  # two schools x (3 tables + 1 general)
    shots(page, "05-coverage-before")

    # --- auto-assign: preview, then apply; coverage changes -----------------------------------------
    page.get_by_role("link", name="Asignación automática").click()
    page.get_by_role("button", name="Ver vista previa").click()
    expect(page.get_by_test_id("created")).to_have_text("8")
    shots(page, "06-auto-assign-preview")
    page.get_by_role("button", name="Aplicar cambios").click()
    expect(page.locator(".flash")).to_contain_text("Listo")
    assert _uncovered(page) == 0
    shots(page, "07-coverage-after")

    # --- drill down to a school; take a watcher off table 1 and assign another by hand --------------
    expect(page.locator("h1")).to_have_text("Norte")
    page.locator(".node-title", has_text="Jesús María").click()
    shots(page, "08-coverage-places")
    page.locator(".node-title", has_text="Escuela Belgrano").click()
    table_one = page.locator('[data-testid="slot"][data-table="1"]')
    removed = table_one.locator(".person .name").inner_text()
    table_one.get_by_role("button", name="Quitar").click()
    expect(page.locator(".flash")).to_contain_text(removed)
    table_one = page.locator('[data-testid="slot"][data-table="1"]')
    table_one.get_by_role("button", name="Elegir fiscal").click()
    first_candidate = table_one.locator(".candidates li").first
    expect(first_candidate).to_be_visible()
    shots(page, "09-place-candidates")
    chosen = first_candidate.locator("strong").inner_text()
    first_candidate.get_by_role("button", name="Asignar").click()
    expect(page.locator(".flash")).to_contain_text(chosen)
    expect(page.locator('[data-testid="slot"][data-table="1"] .person .name')).to_have_text(chosen)
    shots(page, "10-place-board")

    # --- volunteers: search and profile ---------------------------------------------------------------
    page.get_by_role("link", name="Fiscales").first.click()
    page.get_by_placeholder("Nombre, DNI, celular, escuela o mesa").fill(chosen.split()[0])
    expect(page.locator('#results [data-testid="results"] .node')).to_have_count(1)
    expect(page.locator("#results")).to_contain_text(chosen.split()[-1])
    expect(page.locator("#results")).not_to_contain_text("Kühn")
    shots(page, "11-volunteers")
    page.locator("#results a", has_text=chosen.split()[-1]).click()
    expect(page.locator("h1")).to_have_text(chosen)
    expect(page.locator("main")).to_contain_text("asignación manual")
    shots(page, "12-volunteer-profile")

    # --- an instruction with placeholders: the preview flags who lacks them, narrowed it needs a lead ---
    page.get_by_role("link", name="Instrucciones").first.click()
    page.get_by_label("Texto").fill("Hola {nombre}, presentate 7:15 en {escuela}, mesa {mesa}.")
    expect(page.get_by_test_id("recipients")).to_have_text("10")
    missing = page.get_by_test_id("missing")
    expect(missing).to_contain_text("2 de 10 destinatarios no tienen valor para {escuela}")
    expect(missing).to_contain_text("4 de 10 destinatarios no tienen valor para {mesa}")
    expect(page.get_by_test_id("sample")).to_contain_text(re.compile(r"en Escuela \w+, mesa \d+\."))
    shots(page, "13-instruction-missing-values")
    page.get_by_test_id("narrow").click()
    expect(page.get_by_test_id("recipients")).to_have_text("6")
    expect(page.get_by_test_id("missing")).to_have_count(0)
    expect(page.get_by_test_id("cost")).to_contain_text("USD 0,30")
    expect(page.locator("#preview")).to_contain_text("requiere aprobación")
    shots(page, "14-instruction-narrowed")
    page.get_by_role("button", name="Crear envío").click()
    expect(page.get_by_test_id("status")).to_have_text("Espera aprobación")
    expect(page.get_by_role("button", name=re.compile("Enviar a"))).to_have_count(0)
    instruction_url = page.url

    # --- the lead approves the coordinator's audience (6 people, not the province) and sends it -------
    boss = browser.new_context(viewport=PHONE, locale="es-AR", device_scale_factor=1).new_page()
    _login(boss, server, "responsable")
    boss.goto(instruction_url)
    expect(boss.get_by_test_id("recipient-count")).to_have_text("6")
    boss.get_by_role("button", name="Aprobar").click()
    expect(boss.locator(".flash")).to_contain_text("Envío aprobado")
    boss.get_by_role("button", name="Enviar a 6 personas").click()
    expect(boss.locator(".flash")).to_contain_text("encolada")
    expect(boss.get_by_test_id("delivered")).to_have_text("6")
    expect(boss.get_by_test_id("status")).to_have_text("Terminada")
    expect(boss.get_by_test_id("cost")).to_have_text("USD 0,30")
    shots(boss, "15-instruction-approved-and-sent")
    boss.context.close()
    page.goto(server.url + "/dev/sms/")
    expect(page.locator("main")).to_contain_text(re.compile(r"presentate 7:15 en Escuela \w+, mesa \d+\."))
    expect(page.locator("main")).not_to_contain_text(re.compile(r"en (, )?mesa \.|en , mesa"))
    shots(page, "16-dev-sms")

    # --- election day: a check-in by SMS arrives live on the board -----------------------------------
    board = phone.new_page()
    board.goto(server.url + "/consola/dia/")
    expect(board.locator("#live-state")).to_have_text("en vivo")
    total = board.get_by_test_id("checked-in-total")
    expect(total).to_have_text("0/8")
    shots(board, "17-election-day-before")
    page.goto(server.url + f"/dev/sms/?phone={people[chosen].replace('+', '%2B')}")
    page.locator('input[name="body"]').fill("LLEGUE")
    page.get_by_role("button", name="Enviar").click()
    expect(board.get_by_test_id("feed")).to_contain_text(chosen)
    expect(total).to_have_text("1/8")
    expect(board.locator(f'[data-testid="flagged"]:has-text("{chosen}")')).to_have_count(0)
    shots(board, "18-election-day-live")


def test_the_console_switches_to_english(server, phone, shots):
    from playwright.sync_api import expect

    # given
    page = phone.new_page()
    _login(page, server, "coordinadora")
    expect(page.get_by_role("heading", name="Cobertura")).to_be_visible()
    # when
    page.get_by_role("button", name="EN").click()
    # then
    expect(page.get_by_role("heading", name="Coverage")).to_be_visible()
    expect(page.get_by_role("link", name="Instructions")).to_be_visible()
    shots(page, "19-coverage-english")
    page.get_by_role("button", name="ES").click()
    expect(page.get_by_role("heading", name="Cobertura")).to_be_visible()
