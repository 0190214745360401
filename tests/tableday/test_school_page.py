"""The fiscal general's school page (portal): every table's state and watchers, a report for any
table of the school, "tengo fiscal" for an uncovered table; the watcher's problem form with a photo."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from backend.accounts.services import magic_link_issue
from backend.assignments.models import Assignment, AssignmentRole, AssignmentStatus
from backend.assignments.services import assignment_create
from backend.incidents.models import Incident
from backend.tableday.models import TableDay, TableReport
from backend.volunteers.models import Volunteer
from tests.factories import UserFactory, VolunteerFactory

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


def _path(link: str) -> str:
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


def _signed_in(volunteer) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.get(_path(magic_link_issue(volunteer=volunteer)), follow=True)
    return client


def _post(client, path, data):
    return client.post(path, {"csrfmiddlewaretoken": client.cookies["csrftoken"].value, **data}, follow=True)


@pytest.fixture
def general(geo):
    user = UserFactory(username="general-norte", role="volunteer")
    volunteer = VolunteerFactory(area=geo.north_town, user=user, first_name="Ana", last_name="Gómez")
    assignment_create(
        volunteer=volunteer, place=geo.north_place, role=AssignmentRole.PLACE, source="admin", notify=False
    )
    return volunteer


def test_the_general_sees_each_table_and_reports_for_any_of_them(geo, general, watcher):
    client = _signed_in(general)
    page = client.get("/mi/")
    rows = {row["table"].number: row for row in page.context["school"]["tables"]}
    assert [a.volunteer for a in rows[1]["watchers"]] == [watcher]
    assert [r["table"].number for r in page.context["school"]["uncovered"]] == [2, 3]

    after = _post(client, "/mi/escuela/mesa/", {"table": geo.north_tables[2].pk, "state": "open"})
    assert "Registramos: mesa 3, Abierta." in after.content.decode()
    report = TableReport.objects.get()
    assert (report.table, report.actor, report.channel) == (geo.north_tables[2], general.user, "web")
    # a table of another school is refused
    _post(client, "/mi/escuela/mesa/", {"table": geo.south_tables[0].pk, "state": "open"})
    assert TableReport.objects.count() == 1


def test_a_watcher_gets_no_school_controls(geo, watcher):
    client = _signed_in(watcher)
    assert "school" not in client.get("/mi/").context
    _post(client, "/mi/escuela/mesa/", {"table": geo.north_tables[1].pk, "state": "open"})
    assert not TableReport.objects.exists()


def test_tengo_fiscal_creates_the_volunteer_assigns_and_checks_them_in(geo, general, election_day):
    client = _signed_in(general)
    data = {"table": geo.north_tables[1].pk, "first_name": "Pedro", "last_name": "Sosa", "dni": "28.123.456"}
    after = _post(client, "/mi/escuela/tengo-fiscal/", {**data, "phone": "351 555-0199"})
    assert "Pedro Sosa fiscaliza la mesa 2." in after.content.decode()
    walk_in = Volunteer.objects.get(dni="28123456")
    assignment = Assignment.objects.get(volunteer=walk_in)
    assert (assignment.table, assignment.role, assignment.status) == (
        geo.north_tables[1],
        AssignmentRole.TABLE,
        AssignmentStatus.CHECKED_IN,
    )
    assert walk_in.phone == "+5493515550199"


def test_tengo_fiscal_links_a_known_volunteer_by_dni(geo, general, south_volunteer):
    client = _signed_in(general)
    _post(
        client,
        "/mi/escuela/tengo-fiscal/",
        {"table": geo.north_tables[2].pk, "first_name": "x", "last_name": "y", "dni": south_volunteer.dni},
    )
    assert Assignment.objects.get(volunteer=south_volunteer).table == geo.north_tables[2]
    assert Volunteer.objects.filter(dni=south_volunteer.dni).count() == 1


def test_a_bad_dni_is_refused_clearly_and_what_was_typed_comes_back(geo, general):
    client = _signed_in(general)
    data = {"table": geo.north_tables[1].pk, "first_name": "Pedro", "last_name": "Sosa", "dni": "12", "phone": ""}
    after = _post(client, "/mi/escuela/tengo-fiscal/", data)
    assert "El DNI tiene 7 u 8 dígitos" in after.content.decode()
    assert after.context["walk_in"]["first_name"] == "Pedro"
    assert not Volunteer.objects.filter(first_name="Pedro").exists()


def test_the_watcher_reports_a_problem_on_the_web_with_a_photo(geo, watcher):
    client = _signed_in(watcher)
    photo = SimpleUploadedFile("urna.png", PNG, content_type="image/png")
    after = _post(client, "/mi/problema/", {"category": "ballot_shortage", "text": "faltan boletas", "photo": photo})
    assert "recibido" in after.content.decode()
    incident = Incident.objects.get()
    assert (incident.table, incident.category.code, incident.channel) == (geo.north_tables[0], "ballot_shortage", "web")
    assert incident.photos.get().sha256 == hashlib.sha256(PNG).hexdigest()


def test_a_file_that_is_not_a_photo_is_refused_and_the_text_is_kept(geo, watcher):
    client = _signed_in(watcher)
    fake = SimpleUploadedFile("urna.png", b"%PDF-1.4 no", content_type="image/png")
    after = _post(client, "/mi/problema/", {"text": "faltan boletas de la lista 3", "photo": fake})
    assert "Solo se guardan fotos" in after.content.decode()
    assert after.context["draft"]["text"] == "faltan boletas de la lista 3"
    assert not Incident.objects.exists()
    assert not TableDay.objects.exists()
