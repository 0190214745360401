"""Internationalised email addresses (RFC 6531) are real addresses at every door: admin, API, service."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from rest_framework.test import APIClient

from backend.core.exceptions import ApplicationError
from backend.volunteers.models import Volunteer
from backend.volunteers.services import volunteer_update

pytestmark = pytest.mark.django_db

ACCENTED = "José.Núñez@Correo.com.ar"


def test_the_service_stores_an_accented_address_in_lower_case(north_volunteer, north_coordinator):
    # when
    volunteer = volunteer_update(volunteer=north_volunteer, actor=north_coordinator, source="web", email=ACCENTED)
    # then
    volunteer.refresh_from_db()
    assert volunteer.email == "josé.núñez@correo.com.ar"


def test_the_service_still_refuses_what_is_not_an_address(north_volunteer, north_coordinator):
    with pytest.raises(ApplicationError) as refused:
        volunteer_update(volunteer=north_volunteer, actor=north_coordinator, source="web", email="josé at correo")
    assert refused.value.code == "email_invalid"
    north_volunteer.refresh_from_db()
    assert north_volunteer.email != "josé at correo"


def test_the_api_accepts_an_accented_address(north_volunteer, north_coordinator):
    client = APIClient()
    client.force_authenticate(north_coordinator)
    response = client.patch(f"/api/volunteers/{north_volunteer.pk}/", {"email": ACCENTED}, format="json")
    assert response.status_code == 200, response.content
    north_volunteer.refresh_from_db()
    assert north_volunteer.email == "josé.núñez@correo.com.ar"


def _admin_form(user, volunteer, email: str):
    """The admin's own change form for `volunteer`, filled in as it was shown, with a new email."""
    model_admin = admin.site._registry[Volunteer]
    request = RequestFactory().post("/")
    request.user = user
    form_class = model_admin.get_form(request, volunteer, change=True)
    shown = form_class(instance=volunteer)
    data = {name: shown[name].value() for name in shown.fields}
    data = {name: value for name, value in data.items() if value not in (None, False)}
    data["email"] = email
    return form_class(data=data, instance=volunteer)


def test_the_admin_form_accepts_an_accented_address_and_refuses_a_broken_one(lead, north_volunteer):
    # when the lead types an accented address in the admin's form
    accepted = _admin_form(lead, north_volunteer, "josé@correo.ar")
    # then it validates (a plain Django EmailField refuses it), and a broken one does not
    assert accepted.is_valid(), accepted.errors
    assert accepted.cleaned_data["email"] == "josé@correo.ar"
    refused = _admin_form(lead, north_volunteer, "josé@")
    assert not refused.is_valid() and "email" in refused.errors
