"""Place board: tables, watchers and statuses; assign, unassign, lock, swap, check in, all scoped."""

from django.urls import reverse

from backend.assignments.models import Assignment, AssignmentEvent, AssignmentRole, AssignmentStatus
from backend.assignments.services import assignment_create
from tests.factories import VolunteerFactory


def _assign(place, table, volunteer=None, **kwargs):
    return assignment_create(
        volunteer=volunteer or VolunteerFactory(),
        place=place,
        table=table,
        role=AssignmentRole.TABLE,
        source="web",
        **kwargs,
    )


def test_board_shows_tables_watchers_statuses_and_reasons(client, geo, north_coordinator, north_volunteer):
    # given: she votes at this school, the best reason there is
    north_volunteer.votes_at = geo.north_place
    north_volunteer.save(update_fields=["votes_at"])
    _assign(geo.north_place, geo.north_tables[1], north_volunteer)
    client.force_login(north_coordinator)
    # when
    response = client.get(reverse("console:place", args=[geo.north_place.pk]))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "Escuela Norte" in html
    assert "Mesa 1" in html and "Mesa 2" in html and "Mesa 3" in html
    assert "María García" in html
    assert "vota en este establecimiento" in html
    assert "Propuesta" in html
    assert response.context["open_count"] == 3


def test_board_of_a_place_outside_the_scope_is_not_found(client, geo, north_coordinator):
    # given
    client.force_login(north_coordinator)
    # when
    response = client.get(reverse("console:place", args=[geo.south_place.pk]))
    # then
    assert response.status_code == 404


def test_assign_by_hand_goes_through_the_service(client, geo, north_coordinator, north_volunteer):
    # given
    client.force_login(north_coordinator)
    # when
    response = client.post(
        reverse("console:assign"),
        {
            "place": geo.north_place.pk,
            "table": geo.north_tables[0].pk,
            "role": "table",
            "volunteer": north_volunteer.pk,
        },
    )
    # then
    assert response.status_code == 302
    assignment = Assignment.objects.get(volunteer=north_volunteer)
    assert (assignment.table, assignment.status) == (geo.north_tables[0], "proposed")
    # the one cost rule's cost and reason, as the API and the engine store them
    assert (assignment.cost, assignment.reason) == (2000.0, "misma localidad")
    event = assignment.events.get()
    assert (event.actor, event.source, event.kind) == (north_coordinator, "web", AssignmentEvent.Kind.CREATED)
    assert event.reason == "asignación manual"


def test_assigning_someone_already_assigned_shows_a_clear_error(client, geo, north_coordinator, north_volunteer):
    # given
    _assign(geo.north_place, geo.north_tables[0], north_volunteer)
    client.force_login(north_coordinator)
    # when
    response = client.post(
        reverse("console:assign"),
        {
            "place": geo.north_place.pk,
            "table": geo.north_tables[1].pk,
            "role": "table",
            "volunteer": north_volunteer.pk,
        },
        follow=True,
    )
    # then
    assert "ya tiene una asignación activa" in response.content.decode()
    assert Assignment.objects.filter(volunteer=north_volunteer).count() == 1


def test_cannot_assign_in_a_place_outside_the_scope(client, geo, north_coordinator, north_volunteer):
    # given
    client.force_login(north_coordinator)
    # when
    response = client.post(
        reverse("console:assign"),
        {
            "place": geo.south_place.pk,
            "table": geo.south_tables[0].pk,
            "role": "table",
            "volunteer": north_volunteer.pk,
        },
    )
    # then
    assert response.status_code == 404
    assert not Assignment.objects.exists()


def test_cannot_assign_a_volunteer_outside_the_scope(client, geo, north_coordinator, south_volunteer):
    # given
    client.force_login(north_coordinator)
    # when
    response = client.post(
        reverse("console:assign"),
        {
            "place": geo.north_place.pk,
            "table": geo.north_tables[0].pk,
            "role": "table",
            "volunteer": south_volunteer.pk,
        },
    )
    # then
    assert response.status_code == 404
    assert not Assignment.objects.exists()


def test_unassign_frees_the_slot(client, geo, north_coordinator):
    # given
    assignment = _assign(geo.north_place, geo.north_tables[0])
    client.force_login(north_coordinator)
    # when
    client.post(reverse("console:unassign", args=[assignment.pk]))
    # then
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.CANCELLED
    assert assignment.events.last().actor == north_coordinator


def test_lock_and_release(client, geo, north_coordinator):
    # given
    assignment = _assign(geo.north_place, geo.north_tables[0])
    client.force_login(north_coordinator)
    # when
    client.post(reverse("console:lock", args=[assignment.pk]), {"locked": "1"})
    assignment.refresh_from_db()
    locked = assignment.locked
    client.post(reverse("console:lock", args=[assignment.pk]), {"locked": "0"})
    assignment.refresh_from_db()
    # then
    assert (locked, assignment.locked) == (True, False)


def test_check_in_by_a_coordinator(client, geo, north_coordinator, election_day):
    # given
    assignment = _assign(geo.north_place, geo.north_tables[0])
    client.force_login(north_coordinator)
    # when
    client.post(reverse("console:check_in", args=[assignment.pk]))
    # then
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.CHECKED_IN


def test_writes_on_assignments_outside_the_scope_are_refused(client, geo, north_coordinator):
    # given
    south = _assign(geo.south_place, geo.south_tables[0])
    client.force_login(north_coordinator)
    # when
    responses = [
        client.post(reverse(name, args=[south.pk]), {"locked": "1"})
        for name in ("console:unassign", "console:lock", "console:check_in")
    ]
    # then
    assert [r.status_code for r in responses] == [404, 404, 404]
    south.refresh_from_db()
    assert (south.status, south.locked) == (AssignmentStatus.PROPOSED, False)


def test_writes_need_post(client, geo, north_coordinator):
    # given
    assignment = _assign(geo.north_place, geo.north_tables[0])
    client.force_login(north_coordinator)
    # when
    response = client.get(reverse("console:unassign", args=[assignment.pk]))
    # then
    assert response.status_code == 405


def test_candidate_search_finds_only_volunteers_in_scope(
    client, geo, north_coordinator, north_volunteer, south_volunteer
):
    # given
    client.force_login(north_coordinator)
    url = reverse("console:candidates", args=[geo.north_place.pk])
    # when
    north = client.get(url, {"rol": "table", "mesa": geo.north_tables[0].pk, "q": "García"}).content.decode()
    south = client.get(url, {"rol": "table", "mesa": geo.north_tables[0].pk, "q": "Pérez"}).content.decode()
    # then
    assert "María García" in north
    assert "Juan Pérez" not in south


def test_candidates_for_a_table_of_another_place_is_not_found(client, geo, north_coordinator):
    # given
    client.force_login(north_coordinator)
    # when
    response = client.get(
        reverse("console:candidates", args=[geo.north_place.pk]), {"rol": "table", "mesa": geo.south_tables[0].pk}
    )
    # then
    assert response.status_code == 404


def test_candidates_are_the_engines_ranked_list_within_scope(
    client, geo, north_coordinator, north_volunteer, south_volunteer
):
    # given: María votes at the north place; Juan lives in the south
    north_volunteer.votes_at = geo.north_place
    north_volunteer.save()
    client.force_login(north_coordinator)
    # when
    response = client.get(
        reverse("console:candidates", args=[geo.north_place.pk]), {"rol": "table", "mesa": geo.north_tables[0].pk}
    )
    # then
    names = [c["name"] for c in response.context["candidates"]]
    assert names[0] == "María García"
    assert "Juan Pérez" not in names
    assert "vota" in response.context["candidates"][0]["reason"]


def test_swap_exchanges_two_tables(client, geo, north_coordinator):
    # given
    first = _assign(geo.north_place, geo.north_tables[0], VolunteerFactory(area=geo.north_town))
    second = _assign(geo.north_place, geo.north_tables[1], VolunteerFactory(area=geo.north_town))
    client.force_login(north_coordinator)
    # when
    client.post(reverse("console:swap", args=[first.pk]), {"other": second.pk})
    # then
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.table, second.table) == (geo.north_tables[1], geo.north_tables[0])


def test_a_locked_assignment_must_be_released_before_removing_it(client, geo, north_coordinator):
    # given
    assignment = _assign(geo.north_place, geo.north_tables[0], locked=True)
    client.force_login(north_coordinator)
    # when
    response = client.post(reverse("console:unassign", args=[assignment.pk]), follow=True)
    # then
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.PROPOSED
    assert "fijada" in response.content.decode()
