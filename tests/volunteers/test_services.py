"""Volunteer services: every writer of a person's data leaves an audit row with old and new values."""

import pytest
from django.contrib.auth import get_user_model

from backend.core.exceptions import ApplicationError
from backend.messaging.models import keyword_label
from backend.volunteers.models import Volunteer, VolunteerEvent
from backend.volunteers.services import (
    volunteer_opt_in,
    volunteer_opt_out,
    volunteer_phone_refuse,
    volunteer_phone_verify,
    volunteer_seen_on_web,
    volunteer_update,
)
from sms.commands import inbound_command
from tests.factories import VolunteerFactory

pytestmark = pytest.mark.django_db


def test_update_stores_the_phone_in_e164_and_audits_old_and_new(north_volunteer, north_coordinator):
    # given
    old_phone = north_volunteer.phone
    # when: the coordinator types the number the way people say it
    volunteer_update(
        volunteer=north_volunteer, actor=north_coordinator, source="web", phone="0351 15 500-0039", notes="llamar tarde"
    )
    # then
    north_volunteer.refresh_from_db()
    event = VolunteerEvent.objects.get(volunteer=north_volunteer)
    assert north_volunteer.phone == "+5493515000039"
    assert event.kind == VolunteerEvent.Kind.UPDATED and event.actor == north_coordinator and event.source == "web"
    assert event.changes == {"phone": [old_phone, "+5493515000039"], "notes": ["", "llamar tarde"]}


def test_update_with_nothing_new_writes_no_audit_row(north_volunteer, north_coordinator):
    volunteer_update(
        volunteer=north_volunteer, actor=north_coordinator, source="web", availability=north_volunteer.availability
    )
    assert not VolunteerEvent.objects.exists()


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"phone": "12"}, "phone_invalid"),
        ({"phone": "15 500-0039"}, "phone_invalid"),
        ({"availability": "siempre"}, "choice_invalid"),
        ({"excluded": True}, "exclusion_reason_required"),
        ({"dni": "12.345"}, "dni_invalid"),
        ({"opted_out": True}, "field_not_editable"),
    ],
)
def test_bad_values_are_refused_with_a_specific_error_and_change_nothing(north_volunteer, changes, code):
    before = Volunteer.objects.values().get(pk=north_volunteer.pk)
    with pytest.raises(ApplicationError) as error:
        volunteer_update(volunteer=north_volunteer, actor=None, source="web", **changes)
    assert error.value.code == code and str(error.value.message)
    assert Volunteer.objects.values().get(pk=north_volunteer.pk) == before
    assert not VolunteerEvent.objects.exists()


def test_a_phone_that_belongs_to_someone_else_is_refused(north_volunteer, geo):
    other = VolunteerFactory(area=geo.north_town, phone="+5493515000039")
    with pytest.raises(ApplicationError) as error:
        volunteer_update(volunteer=north_volunteer, actor=None, source="web", phone="351 500 0039")
    assert error.value.code == "phone_taken"
    assert Volunteer.objects.get(pk=other.pk).phone == "+5493515000039"


def test_excluding_and_readmitting_keep_the_reason_honest(north_volunteer, north_coordinator):
    volunteer_update(
        volunteer=north_volunteer, actor=north_coordinator, source="web", excluded=True, excluded_reason="duplicado"
    )
    volunteer_update(volunteer=north_volunteer, actor=north_coordinator, source="web", excluded=False)
    north_volunteer.refresh_from_db()
    assert (north_volunteer.excluded, north_volunteer.excluded_reason) == (False, "")
    assert VolunteerEvent.objects.filter(volunteer=north_volunteer).count() == 2


def test_opt_out_and_in_are_audited_once_each(north_volunteer):
    # when: STOP twice (a retried webhook), then START
    first = volunteer_opt_out(volunteer_id=north_volunteer.pk, source="sms", reason="BAJA")
    second = volunteer_opt_out(volunteer_id=north_volunteer.pk, source="sms", reason="BAJA")
    back = volunteer_opt_in(volunteer_id=north_volunteer.pk, source="sms", reason="ALTA")
    # then
    kinds = list(VolunteerEvent.objects.order_by("id").values_list("kind", "changes"))
    assert (first, second, back) == (True, False, True)
    assert kinds == [("opted_out", {"opted_out": [False, True]}), ("opted_in", {"opted_out": [True, False]})]


def test_seen_on_web_is_presence_not_an_audited_change(north_volunteer):
    volunteer_seen_on_web(user=north_volunteer.user)
    north_volunteer.refresh_from_db()
    assert north_volunteer.last_seen_web_at is not None
    assert not VolunteerEvent.objects.exists()


def test_the_baja_keyword_goes_through_the_service(north_volunteer):
    inbound_command(volunteer=north_volunteer, body="BAJA")
    north_volunteer.refresh_from_db()
    assert north_volunteer.opted_out
    assert VolunteerEvent.objects.get(volunteer=north_volunteer).source == "sms"


def test_admin_edit_goes_through_the_service(client, north_volunteer):
    # given: a lead edits the phone in the admin, in national notation
    lead = get_user_model().objects.create_superuser("jefa", "jefa@example.org", "x")
    client.force_login(lead)
    url = f"/admin/volunteers/volunteer/{north_volunteer.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in {"tags", "user"}}
    data.update(phone="0351 15 500-0039", tags="[]", first_name="María", last_name="García")
    data.update({"assignments-TOTAL_FORMS": 0, "assignments-INITIAL_FORMS": 0})
    data = {k: (v.pk if hasattr(v, "pk") else v) for k, v in data.items()}
    data = {k: v for k, v in data.items() if not isinstance(v, bool) or v}
    # when
    response = client.post(url, data)
    # then
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    north_volunteer.refresh_from_db()
    assert north_volunteer.phone == "+5493515000039"
    assert VolunteerEvent.objects.get(volunteer=north_volunteer).source == "admin"


def test_typed_text_gets_the_same_cleaning_as_imported_cells(north_volunteer, north_coordinator):
    # when: names and notes pasted with control characters and decomposed accents
    volunteer_update(
        volunteer=north_volunteer,
        actor=north_coordinator,
        source="web",
        last_name="Garci\u0301a\x00",
        notes="llamar\x07 tarde\r\ndespués de las 9",
    )
    # then: controls out, NFC, lines kept in notes only
    north_volunteer.refresh_from_db()
    assert north_volunteer.last_name == "García"
    assert north_volunteer.notes == "llamar tarde\ndespués de las 9"


def test_a_phone_typed_in_full_replaces_a_guessed_one_as_verified(north_volunteer, north_coordinator):
    # given: the roster completed the number with a guessed area code
    Volunteer.objects.filter(pk=north_volunteer.pk).update(phone_verified=False, phone_rule="default")
    north_volunteer.refresh_from_db()
    # when: a coordinator types the right number
    volunteer_update(volunteer=north_volunteer, actor=north_coordinator, source="web", phone="0351 15 500-0039")
    # then
    north_volunteer.refresh_from_db()
    assert north_volunteer.phone_verified and north_volunteer.phone_rule == ""
    assert VolunteerEvent.objects.get(volunteer=north_volunteer).changes["phone_verified"] == [False, True]


def test_the_same_phone_sent_again_leaves_a_guessed_number_unverified(north_volunteer, north_coordinator):
    Volunteer.objects.filter(pk=north_volunteer.pk).update(phone_verified=False, phone_rule="default")
    north_volunteer.refresh_from_db()
    volunteer_update(volunteer=north_volunteer, actor=north_coordinator, source="web", phone=north_volunteer.phone)
    north_volunteer.refresh_from_db()
    assert not north_volunteer.phone_verified
    assert not VolunteerEvent.objects.exists()


def test_a_guessed_phone_verified_or_refused_by_sms_is_audited(north_volunteer, geo):
    # given: two numbers completed with a guessed area code
    Volunteer.objects.filter(pk=north_volunteer.pk).update(phone_verified=False, phone_rule="default")
    stranger = VolunteerFactory(area=geo.north_town, phone="+5493515000041", phone_verified=False)
    # when: the owner of one says SI, whoever holds the other says NO
    volunteer_phone_verify(volunteer=Volunteer.objects.get(pk=north_volunteer.pk))
    volunteer_phone_refuse(volunteer=stranger)
    # then
    verified = VolunteerEvent.objects.get(volunteer=north_volunteer)
    refused = VolunteerEvent.objects.get(volunteer=stranger)
    assert verified.changes == {"phone_verified": [False, True]} and verified.source == "sms"
    assert refused.kind == VolunteerEvent.Kind.OPTED_OUT and refused.source == "sms"
    stranger.refresh_from_db()
    assert stranger.opted_out and not stranger.phone_verified


def test_the_alta_keyword_goes_through_the_service(north_volunteer):
    volunteer_opt_out(volunteer_id=north_volunteer.pk, source="web")
    inbound_command(volunteer=north_volunteer, body="ALTA")
    north_volunteer.refresh_from_db()
    assert not north_volunteer.opted_out
    assert VolunteerEvent.objects.filter(volunteer=north_volunteer, kind=VolunteerEvent.Kind.OPTED_IN, source="sms")


@pytest.mark.parametrize(
    ("stored", "label"),
    [("yes", "SI: confirmó"), ("unclear", "dudoso: se le preguntó si va"), ("text", "mensaje"), ("", "")],
)
def test_stored_intents_read_as_people_say_them(stored, label):
    assert keyword_label(stored) == label
