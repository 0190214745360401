"""Instructions: composer preview, create, approval, send within scope, live counts."""

from django.urls import reverse

from backend.accounts.models import Role
from backend.messaging.models import Broadcast, BroadcastStatus, OutboundMessage
from tests.factories import UserFactory, VolunteerFactory


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
    assert broadcast.status in {BroadcastStatus.SENDING, BroadcastStatus.SENT}
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
