"""Auto-assign from the console: a dry-run preview that writes nothing, then apply."""

from django.urls import reverse

from backend.assignments.models import Assignment
from tests.factories import VolunteerFactory


def test_preview_lists_changes_and_writes_nothing(client, geo, north_coordinator):
    # given: two volunteers who vote at the north place
    for name in ("Ana", "Bruno"):
        VolunteerFactory(area=geo.north_town, votes_at=geo.north_place, first_name=name, last_name="Norte")
    client.force_login(north_coordinator)
    # when
    response = client.get(reverse("console:auto_assign"), {"area": geo.north.pk, "vista": "previa"})
    # then
    result = response.context["result"]
    assert result.dry_run and result.created == 2
    assert {c.volunteer for c in result.changes} == {"Ana Norte", "Bruno Norte"}
    assert "Ana Norte" in response.content.decode()
    assert not Assignment.objects.exists()


def test_apply_writes_the_proposals_in_scope(client, geo, north_coordinator):
    # given
    VolunteerFactory(area=geo.north_town, votes_at=geo.north_place)
    VolunteerFactory(area=geo.south_town, votes_at=geo.south_place)
    client.force_login(north_coordinator)
    # when
    response = client.post(reverse("console:auto_assign") + f"?area={geo.north.pk}")
    # then
    assert response.status_code == 302
    assert list(Assignment.objects.values_list("place__code", "status")) == [("N-1", "proposed")]


def test_auto_assign_outside_the_scope_is_not_found(client, geo, north_coordinator):
    # given
    VolunteerFactory(area=geo.south_town, votes_at=geo.south_place)
    client.force_login(north_coordinator)
    # when
    response = client.post(reverse("console:auto_assign") + f"?area={geo.south.pk}")
    # then
    assert response.status_code == 404
    assert not Assignment.objects.exists()


def test_a_coordinator_with_one_subtree_lands_on_it(client, geo, north_coordinator):
    # given
    client.force_login(north_coordinator)
    # when
    response = client.get(reverse("console:auto_assign"))
    # then
    assert response.context["area"] == geo.north


def test_apply_can_text_the_proposed_volunteers(client, geo, north_coordinator):
    # given
    from backend.notices.models import Notice

    VolunteerFactory(area=geo.north_town, votes_at=geo.north_place)
    client.force_login(north_coordinator)
    # when
    client.post(reverse("console:auto_assign") + f"?area={geo.north.pk}", {"notify": "1"})
    # then
    assert Notice.objects.filter(kind="assignment").count() == 1


def test_apply_without_notice_keeps_quiet(client, geo, north_coordinator):
    # given
    from backend.notices.models import Notice

    VolunteerFactory(area=geo.north_town, votes_at=geo.north_place)
    client.force_login(north_coordinator)
    # when
    client.post(reverse("console:auto_assign") + f"?area={geo.north.pk}")
    # then
    assert Assignment.objects.count() == 1
    assert not Notice.objects.exists()
