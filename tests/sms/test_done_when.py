"""The issue's acceptance path: a coordinator assigns, the SMS shows on /dev/sms/, SI from that phone confirms,
and the magic link in the text opens the volunteer's page."""

import re

import pytest
from rest_framework.test import APIClient

from backend.assignments.models import Assignment, AssignmentStatus

pytestmark = pytest.mark.django_db


def test_assign_then_answer_si_on_the_dev_page_then_open_the_link(
    client, geo, north_coordinator, lead, north_volunteer, settings, django_capture_on_commit_callbacks
):
    # given: the development profile (local SMS backend)
    settings.SMS_BACKEND = "local"
    api = APIClient()
    api.force_authenticate(north_coordinator)
    # when: the coordinator assigns María through the API
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/assignments/assign/",
            {
                "volunteer": north_volunteer.pk,
                "place": geo.north_place.pk,
                "table": geo.north_tables[0].pk,
                "role": "table",
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    # then: the text is on the development page (a lead's page outside DEBUG)
    client.force_login(lead)
    page = client.get("/dev/sms/").content.decode()
    assert north_volunteer.phone in page and "Escuela Norte" in page
    link = re.search(r"http://127\.0\.0\.1:8000(/[0-9A-Za-z]{22})\b", page).group(1)
    # when: the developer answers SI as her phone
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/dev/sms/", {"phone": north_volunteer.phone, "body": "SI"})
    # then
    assignment = Assignment.objects.get(volunteer=north_volunteer)
    assert assignment.status == AssignmentStatus.CONFIRMED
    # and the link from the text opens her page, showing the confirmation
    client.logout()
    mine = client.get(link, follow=True)
    assert mine.status_code == 200
    assert "Escuela Norte" in mine.content.decode() and "Confirmada" in mine.content.decode()
