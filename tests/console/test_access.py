"""Who gets into the console: coordinators and leads; volunteers refused; anonymous to the login."""

import pytest
from django.urls import reverse

PAGES = [
    "console:coverage",
    "console:coverage_export",
    "console:volunteers",
    "console:imports",
    "console:instructions",
    "console:election_day",
    "console:auto_assign",
    "console:accreditation_export",
]


def test_root_sends_anonymous_to_login(client, db):
    # when
    response = client.get("/")
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("login")


def test_root_sends_coordinator_to_console(client, north_coordinator):
    # given
    client.force_login(north_coordinator)
    # when
    response = client.get("/")
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("console:coverage")


def test_login_page_is_spanish_and_logs_in(client, north_coordinator):
    # when
    page = client.get(reverse("login"))
    response = client.post(reverse("login"), {"username": "coord-norte", "password": "clave-de-prueba-123"})
    # then
    assert "Entrar a Fiscaliza" in page.content.decode()
    assert response.status_code == 302
    assert client.get(reverse("console:coverage")).status_code == 200


def test_wrong_password_gets_a_spanish_error(client, north_coordinator):
    # when
    response = client.post(reverse("login"), {"username": "coord-norte", "password": "nope"})
    # then
    assert response.status_code == 200
    assert "usuario" in response.content.decode().lower()
    assert "_auth_user_id" not in client.session


def test_logout_needs_post_and_ends_the_session(client, north_coordinator):
    # given
    client.force_login(north_coordinator)
    # when
    response = client.post(reverse("logout"))
    # then
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_is_sent_to_login(client, geo, name):
    # when
    response = client.get(reverse(name))
    # then
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


@pytest.mark.parametrize("name", PAGES)
def test_volunteer_is_refused(client, north_volunteer, name):
    # given
    client.force_login(north_volunteer.user)
    # when
    response = client.get(reverse(name))
    # then
    assert response.status_code == 403


def test_volunteer_cannot_open_a_place_board(client, geo, north_volunteer):
    # given
    client.force_login(north_volunteer.user)
    # when
    response = client.get(reverse("console:place", args=[geo.north_place.pk]))
    # then
    assert response.status_code == 403


def test_english_is_available(client, north_coordinator):
    # given
    client.force_login(north_coordinator)
    # when
    client.post(reverse("set_language"), {"language": "en", "next": "/consola/"})
    response = client.get(reverse("console:coverage"))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert 'lang="en"' in html
    assert "Uncovered" in html and "Log out" in html
    assert "Sin cubrir" not in html


def test_menus_show_importar_only_to_leads(client, north_coordinator, lead):
    client.force_login(north_coordinator)
    as_coordinator = client.get(reverse("console:coverage")).content.decode()
    client.force_login(lead)
    as_lead = client.get(reverse("console:coverage")).content.decode()
    assert ">Importar<" not in as_coordinator
    assert ">Importar<" in as_lead


@pytest.mark.parametrize(
    ("backend", "debug", "who", "status"),
    [
        ("local", False, "lead", 200),
        ("local", False, "coordinator", 404),
        ("local", False, None, 404),
        ("local", True, "coordinator", 200),
        ("twilio", True, "lead", 404),
        ("twilio", False, "lead", 404),
    ],
)
def test_dev_sms_page_only_with_the_local_backend_and_for_leads(
    client, settings, north_coordinator, lead, backend, debug, who, status
):
    settings.SMS_BACKEND = backend
    settings.DEBUG = debug
    if who:
        client.force_login(lead if who == "lead" else north_coordinator)
    assert client.get("/dev/sms/").status_code == status
    posted = client.post("/dev/sms/", {"phone": "+5491140000000", "body": "SI"})
    assert (posted.status_code == 404) == (status == 404)
