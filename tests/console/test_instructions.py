"""Instructions: composer preview, create, approval, send within scope, live counts."""

import pytest
from django.urls import reverse

from backend.accounts.models import Role
from backend.messaging.models import Broadcast, BroadcastStatus, OutboundMessage
from tests.factories import UserFactory, VolunteerFactory


@pytest.fixture(autouse=True)
def _eager_celery():
    """The queueing task and the drains run in-process, also on the Redis profile (no worker here)."""
    from backend.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def _compose(client, body="Hola {nombre}, llevá el DNI.", **extra):
    return client.post(reverse("console:instruction_create"), {"body": body, "transliterate": "1", **extra})


def test_preview_counts_only_the_scope_and_shows_a_sample(
    client, geo, north_coordinator, north_volunteer, south_volunteer
):
    # given
    client.force_login(north_coordinator)
    # when
    response = client.post(
        reverse("console:instruction_preview"), {"body": "Hola {nombre}, llevá el DNI.", "transliterate": "1"}
    )
    # then
    preview = response.context["preview"]
    assert preview.recipients == 1
    assert preview.segments_per_message == 1
    assert preview.sample == "Hola Maria, lleva el DNI."
    assert "Hola Maria" in response.content.decode()


def test_preview_with_an_unknown_variable_says_which(client, geo, north_coordinator, north_volunteer):
    # given
    client.force_login(north_coordinator)
    # when
    response = client.post(reverse("console:instruction_preview"), {"body": "Hola {apodo}"})
    # then
    assert response.status_code == 200
    assert "apodo" in response.content.decode()
    assert not Broadcast.objects.exists()


def test_create_then_send_queues_one_message_per_person_in_scope(
    client, geo, north_coordinator, north_volunteer, south_volunteer, django_capture_on_commit_callbacks
):
    # given
    client.force_login(north_coordinator)
    created = _compose(client)
    broadcast = Broadcast.objects.get()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("console:instruction_send", args=[broadcast.pk]))
    # then
    assert created["Location"] == reverse("console:instruction", args=[broadcast.pk])
    assert list(OutboundMessage.objects.values_list("volunteer__last_name", "body")) == [
        ("García", "Hola Maria, lleva el DNI.")
    ]
    broadcast.refresh_from_db()
    assert broadcast.status == BroadcastStatus.DONE
    counts = client.get(reverse("console:instruction", args=[broadcast.pk]), headers={"HX-Request": "true"})
    assert counts.context["counts"]["total"] == 1


def test_large_sends_wait_for_a_lead(client, geo, north_coordinator, settings):
    # given
    settings.SMS_BROADCAST_APPROVAL_THRESHOLD = 1
    for _ in range(2):
        VolunteerFactory(area=geo.north_town)
    client.force_login(north_coordinator)
    _compose(client)
    broadcast = Broadcast.objects.get()
    # when
    refused = client.post(reverse("console:instruction_send", args=[broadcast.pk]), follow=True)
    lead = UserFactory(username="jefa", role=Role.LEAD)
    client.force_login(lead)
    client.post(reverse("console:instruction_approve", args=[broadcast.pk]))
    # then
    assert "aprobar" in refused.content.decode()
    assert not OutboundMessage.objects.exists()
    broadcast.refresh_from_db()
    assert (broadcast.status, broadcast.approved_by) == (BroadcastStatus.APPROVED, lead)


def test_a_coordinator_cannot_open_another_coordinators_send(
    client, geo, north_coordinator, south_coordinator, south_volunteer
):
    # given
    client.force_login(south_coordinator)
    _compose(client)
    broadcast = Broadcast.objects.get()
    client.force_login(north_coordinator)
    # when
    page = client.get(reverse("console:instruction", args=[broadcast.pk]))
    send = client.post(reverse("console:instruction_send", args=[broadcast.pk]))
    # then
    assert (page.status_code, send.status_code) == (404, 404)


def test_profile_lists_messages_sent(
    client, geo, north_coordinator, north_volunteer, django_capture_on_commit_callbacks
):
    # given
    client.force_login(north_coordinator)
    _compose(client, body="Capacitación el sábado 10 h.")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("console:instruction_send", args=[Broadcast.objects.get().pk]))
    # when
    response = client.get(reverse("console:volunteer", args=[north_volunteer.pk]))
    # then
    assert "Capacitacion el sabado 10 h." in response.content.decode()


def _assigned_north(geo, north_volunteer):
    from backend.assignments.services import assignment_create

    assignment_create(
        volunteer=north_volunteer, place=geo.north_place, table=geo.north_tables[0], role="table", source="admin"
    )
    return VolunteerFactory(first_name="Suelto", area=geo.north_town)  # in scope, unassigned


def test_preview_says_who_lacks_each_placeholder_offers_narrowing_and_prices_in_pesos(
    client, geo, north_coordinator, north_volunteer, settings
):
    # given: one assigned watcher and one unassigned person in the north
    settings.SMS_COST_PER_SEGMENT = "1250"
    settings.SMS_CURRENCY = "ARS"
    _assigned_north(geo, north_volunteer)
    client.force_login(north_coordinator)
    body = {"body": "Presentate 7:15 en {escuela}, mesa {mesa}.", "transliterate": "1"}
    # when
    wide = client.post(reverse("console:instruction_preview"), body)
    narrow = client.post(reverse("console:instruction_preview"), {**body, "complete_only": "1"})
    # then: the wide audience is flagged and the sample is the complete person's text
    page = wide.content.decode()
    assert wide.context["preview"].missing == {"escuela": 1, "mesa": 1}
    assert "1 de 2 destinatarios no tiene valor para {mesa}" in page
    assert 'data-testid="narrow"' in page and "la persona que tiene todos los datos" in page
    assert "ARS 2.500,00" in page and "$" not in page
    assert wide.context["preview"].sample.startswith("Presentate 7:15 en Escuela Norte, mesa 1")
    # and the narrowed one is clean
    assert narrow.context["preview"].recipients == 1 and not narrow.context["preview"].has_missing
    assert 'data-testid="missing"' not in narrow.content.decode()


def test_create_with_missing_values_is_refused_with_the_reason_and_narrowed_it_is_created(
    client, geo, north_coordinator, north_volunteer
):
    _assigned_north(geo, north_volunteer)
    client.force_login(north_coordinator)
    refused = _compose(client, body="Presentate en {escuela}.")
    created = _compose(client, body="Presentate en {escuela}.", complete_only="1")
    assert refused.status_code == 400 and "recibirían el texto con huecos" in refused.content.decode()
    broadcast = Broadcast.objects.get()
    assert created["Location"] == reverse("console:instruction", args=[broadcast.pk])
    assert broadcast.recipient_count == 1 and broadcast.segment["complete_only"] is True


def test_the_page_shows_who_left_the_audience_and_the_send_confirms_the_new_count(
    client, geo, north_coordinator, north_volunteer, settings, django_capture_on_commit_callbacks
):
    # given: three people in the north, then two opt out (more than the tolerance of one)
    settings.SMS_BROADCAST_AUDIENCE_TOLERANCE = 1
    others = [VolunteerFactory(area=geo.north_town) for _ in range(2)]
    client.force_login(north_coordinator)
    _compose(client)
    broadcast = Broadcast.objects.get()
    for volunteer in others:
        volunteer.opted_out = True
        volunteer.save(update_fields=["opted_out"])
    # when
    page = client.get(reverse("console:instruction", args=[broadcast.pk])).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("console:instruction_send", args=[broadcast.pk]), {"confirm_recipients": "1"})
    # then: the page said so before sending, and the button carried the new count
    assert "2 de 3 destinatarios ya no pueden recibirlo (2 se dieron de baja): saldría a 1" in page
    assert 'name="confirm_recipients" value="1"' in page and "Enviar a 1 persona" in page
    assert list(OutboundMessage.objects.values_list("volunteer_id", flat=True)) == [north_volunteer.pk]


def test_a_send_whose_audience_changed_since_the_page_was_read_is_refused_with_the_difference(
    client, geo, north_coordinator, north_volunteer, settings
):
    settings.SMS_BROADCAST_AUDIENCE_TOLERANCE = 0
    client.force_login(north_coordinator)
    _compose(client)
    broadcast = Broadcast.objects.get()
    north_volunteer.opted_out = True
    north_volunteer.save(update_fields=["opted_out"])
    VolunteerFactory(area=geo.north_town)  # joins the segment after creation: not added
    response = client.post(reverse("console:instruction_send", args=[broadcast.pk]), follow=True)
    assert "ya nadie de los destinatarios puede recibirlo" in response.content.decode().lower()
    broadcast.refresh_from_db()
    assert broadcast.status == BroadcastStatus.DRAFT and not OutboundMessage.objects.exists()
