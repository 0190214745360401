"""The console's list of instructions: every broadcast the user may open, whatever others wrote since."""

from django.urls import reverse

from backend.messaging.models import Broadcast


def test_a_coordinators_instruction_stays_listed_after_a_lead_wrote_many_newer_ones(
    client, geo, lead, north_coordinator
):
    # given: the coordinator's instruction, then 120 newer ones by the lead (not theirs to see)
    own = Broadcast.objects.create(election=geo.election, created_by=north_coordinator, body="Hola {nombre}")
    Broadcast.objects.bulk_create(
        Broadcast(election=geo.election, created_by=lead, body=f"Aviso {n}") for n in range(120)
    )
    client.force_login(north_coordinator)
    # when
    response = client.get(reverse("console:instructions"))
    # then: their own is listed, and nothing the lead wrote
    assert [b.pk for b in response.context["broadcasts"]] == [own.pk]


def test_a_lead_sees_the_newest_instructions_of_everyone(client, geo, lead, north_coordinator):
    # given
    older = Broadcast.objects.create(election=geo.election, created_by=north_coordinator, body="Hola")
    newer = Broadcast.objects.create(election=geo.election, created_by=lead, body="Chau")
    client.force_login(lead)
    # when
    response = client.get(reverse("console:instructions"))
    # then
    assert [b.pk for b in response.context["broadcasts"]] == [newer.pk, older.pk]
