"""The watcher's magic-link page: one big button that reports the table's next state."""

import pytest
from django.test import Client

from backend.accounts.services import magic_link_issue
from backend.assignments.models import AssignmentRole
from backend.assignments.services import assignment_create
from backend.tableday.models import TableReport


def _path(link: str) -> str:
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


@pytest.fixture
def browser(watcher):
    client = Client(enforce_csrf_checks=True)
    client.get(_path(magic_link_issue(volunteer=watcher)), follow=True)
    return client


def _press(browser, state):
    token = browser.cookies["csrftoken"].value
    return browser.post("/mi/mesa/", {"csrfmiddlewaretoken": token, "state": state}, follow=True)


def test_the_page_offers_the_next_state_and_the_button_reports_it(browser, geo, north_volunteer):
    # given
    page = browser.get("/mi/").content.decode()
    assert "En espera" in page and 'value="open"' in page and "Informar: Abierta" in page
    # when
    after = _press(browser, "open").content.decode()
    # then
    row = TableReport.objects.get()
    assert (row.table, row.state, row.channel, row.actor) == (geo.north_tables[0], "open", "web", north_volunteer.user)
    assert "Registramos: mesa 1, Abierta." in after
    assert 'value="closed"' in after and "Informar: Cerrada" in after


def test_a_double_tap_reports_once(browser):
    _press(browser, "open")
    _press(browser, "open")
    assert TableReport.objects.count() == 1


def test_a_post_without_csrf_writes_nothing(browser):
    assert browser.post("/mi/mesa/", {"state": "open"}).status_code == 403
    assert not TableReport.objects.exists()


def test_a_forged_state_gets_a_clear_error_and_writes_nothing(browser):
    page = _press(browser, "abierta").content.decode()
    assert "Estado de mesa desconocido: abierta." in page
    assert not TableReport.objects.exists()


def test_a_watcher_without_a_table_sees_no_button(client, geo, north_volunteer):
    assignment_create(
        volunteer=north_volunteer, place=geo.north_place, table=None, role=AssignmentRole.PLACE, source="admin"
    )
    client.force_login(north_volunteer.user)
    assert "/mi/mesa/" not in client.get("/mi/").content.decode()
    assert client.post("/mi/mesa/", {"state": "open"}, follow=True).status_code == 200
    assert not TableReport.objects.exists()
